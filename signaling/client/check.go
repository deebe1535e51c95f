package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// Preflight asks the server, before joining, for the ICE servers a join would get and the paths it
// offers connectivity checks of. The room and token are checked as a join checks them.
func (c *Client) Preflight(ctx context.Context, room, token string) (protocol.PreflightInfo, error) {
	var info protocol.PreflightInfo
	env, err := c.Request(ctx, protocol.TypePreflight, protocol.Preflight{Room: room, Token: token})
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(env.Data, &info); err != nil {
		return info, fmt.Errorf("client: preflight_info: %w", err)
	}
	return info, nil
}

// CheckResult is what one connectivity check found.
type CheckResult struct {
	Path string
	// RTT is one round trip of a data channel message through the path.
	RTT time.Duration
	// Local is the type of this side's candidate in the selected pair (host, srflx, prflx, relay) and
	// Protocol its transport (udp, tcp).
	Local, Protocol string
}

// Check tests one path (protocol.PathUDP, PathTCP, PathRelay) with a throwaway PeerConnection built by
// api (nil: loopback-only UDP), through iceServers for the relay path (after Options.KeepICEURL). It
// returns once a data channel message has made a round trip, or ctx's error.
func (c *Client) Check(ctx context.Context, api *webrtc.API, path string, iceServers []protocol.ICEServer) (CheckResult, error) {
	res := CheckResult{Path: path}
	if api == nil {
		var err error
		if api, err = NewAPI(true); err != nil {
			return res, err
		}
	}
	cfg := webrtc.Configuration{}
	if path == protocol.PathRelay {
		cfg.ICEServers, cfg.ICETransportPolicy = c.iceServersFrom(iceServers), webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return res, fmt.Errorf("client: check %s: %w", path, err)
	}
	defer func() { _ = pc.Close() }()
	dc, err := pc.CreateDataChannel("check", nil)
	if err != nil {
		return res, fmt.Errorf("client: check %s: %w", path, err)
	}
	echo := make(chan time.Duration, 1)
	dc.OnOpen(func() { _ = dc.SendText(strconv.FormatInt(time.Now().UnixNano(), 10)) })
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		if sent, err := strconv.ParseInt(string(msg.Data), 10, 64); err == nil {
			select {
			case echo <- time.Since(time.Unix(0, sent)):
			default:
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return res, fmt.Errorf("client: check %s: %w", path, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return res, fmt.Errorf("client: check %s: %w", path, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return res, fmt.Errorf("client: check %s: gathering: %w", path, ctx.Err())
	}
	env, err := c.Request(ctx, protocol.TypeCheckOffer, protocol.CheckOffer{Path: path, SDP: pc.LocalDescription().SDP})
	if err != nil {
		return res, err
	}
	var answer protocol.CheckAnswer
	if err := json.Unmarshal(env.Data, &answer); err != nil {
		return res, fmt.Errorf("client: check_answer: %w", err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}); err != nil {
		return res, fmt.Errorf("client: check %s answer: %w", path, err)
	}
	select {
	case res.RTT = <-echo:
	case <-ctx.Done():
		return res, fmt.Errorf("client: check %s: no round trip (ICE %s): %w", path, pc.ICEConnectionState(), ctx.Err())
	}
	if pair, err := selectedPair(pc); err == nil {
		res.Local, res.Protocol = pair.Local.Typ.String(), pair.Local.Protocol.String()
	}
	return res, nil
}

// SelectedPair returns the candidate pair a PeerConnection's ICE transport selected.
func SelectedPair(pc *webrtc.PeerConnection) (*webrtc.ICECandidatePair, error) {
	return selectedPair(pc)
}

func selectedPair(pc *webrtc.PeerConnection) (*webrtc.ICECandidatePair, error) {
	var t *webrtc.ICETransport
	if sctp := pc.SCTP(); sctp != nil && sctp.Transport() != nil {
		t = sctp.Transport().ICETransport()
	}
	for _, s := range pc.GetSenders() {
		if t == nil && s.Transport() != nil {
			t = s.Transport().ICETransport()
		}
	}
	for _, r := range pc.GetReceivers() {
		if t == nil && r.Transport() != nil {
			t = r.Transport().ICETransport()
		}
	}
	if t == nil {
		return nil, errors.New("client: no ICE transport yet")
	}
	pair, err := t.GetSelectedCandidatePair()
	if err != nil {
		return nil, fmt.Errorf("client: selected pair: %w", err)
	}
	if pair == nil {
		return nil, errors.New("client: no candidate pair selected yet")
	}
	return pair, nil
}
