package sfu

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// CheckTransport names the path a connectivity check tests.
type CheckTransport string

// The paths a client can test before it joins: straight to the media UDP port, straight to the ICE/TCP
// port, and through a TURN relay (the client forces relay candidates and chooses which TURN URL; the
// relay reaches the node's UDP port).
const (
	CheckUDP   CheckTransport = "udp"
	CheckTCP   CheckTransport = "tcp"
	CheckRelay CheckTransport = "relay"
)

// ErrCheckUnavailable is StartCheck's error for a path this node does not offer (ICE/TCP off).
var ErrCheckUnavailable = errors.New("this node does not offer that path")

// ConnectivityCheck is a throwaway PeerConnection offering only the candidates of one path, with a data
// channel whose messages it echoes (the client measures the round trip). It ends at its deadline, on
// Close, or when the SFU closes.
type ConnectivityCheck struct {
	sfu       *SFU
	pc        *webrtc.PeerConnection
	timer     *time.Timer
	closeOnce sync.Once
	ended     atomic.Bool
}

// Offers reports whether checks of path can be made here (a TCP check needs ICE/TCP on).
func (s *SFU) Offers(path CheckTransport) bool { return s.checkAPIs[path] != nil }

// Ended reports whether the check has closed (its lifetime passed, or Close).
func (c *ConnectivityCheck) Ended() bool { return c.ended.Load() }

// newCheckAPIs builds one pion API per path, sharing the node's muxes but gathering only that path's
// candidates. Checks carry a data channel and no media, so their media engine is empty.
func newCheckAPIs(se webrtc.SettingEngine, ports *mediaPorts) map[CheckTransport]*webrtc.API {
	apis := make(map[CheckTransport]*webrtc.API, 3)
	udp := se
	udp.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	apis[CheckUDP] = webrtc.NewAPI(webrtc.WithMediaEngine(&webrtc.MediaEngine{}), webrtc.WithSettingEngine(udp))
	apis[CheckRelay] = apis[CheckUDP] // the relay delivers to the UDP port
	if ports.tcpMux != nil {
		tcp := se
		tcp.SetICEUDPMux(nil) // pion gathers the UDP mux's candidates whatever the network types say
		tcp.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
		apis[CheckTCP] = webrtc.NewAPI(webrtc.WithMediaEngine(&webrtc.MediaEngine{}), webrtc.WithSettingEngine(tcp))
	}
	return apis
}

// StartCheck answers a client's offer (gathered completely, no trickle) for one path and returns the
// answer, also complete. The check closes itself after lifetime. ctx bounds the answer's gathering.
func (s *SFU) StartCheck(ctx context.Context, path CheckTransport, offerSDP string, lifetime time.Duration) (string, *ConnectivityCheck, error) {
	api := s.checkAPIs[path]
	if api == nil {
		return "", nil, fmt.Errorf("connectivity check %q: %w", path, ErrCheckUnavailable)
	}
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}
	if _, err := offer.Unmarshal(); err != nil {
		return "", nil, fmt.Errorf("connectivity check offer: %w: %w", ErrInvalidSDP, err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", nil, fmt.Errorf("connectivity check: %w", err)
	}
	c := &ConnectivityCheck{sfu: s, pc: pc}
	c.timer = time.AfterFunc(lifetime, c.Close)
	if !s.trackCheck(c) {
		c.Close()
		return "", nil, fmt.Errorf("connectivity check: %w", ErrClosed)
	}
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(msg webrtc.DataChannelMessage) {
			if len(msg.Data) <= 64 { // a timestamp; nothing larger is echoed
				_ = dc.Send(msg.Data)
			}
		})
	})
	answer, err := c.answer(ctx, offer)
	if err != nil {
		c.Close()
		return "", nil, err
	}
	return answer, c, nil
}

func (c *ConnectivityCheck) answer(ctx context.Context, offer webrtc.SessionDescription) (string, error) {
	if err := c.pc.SetRemoteDescription(offer); err != nil {
		return "", fmt.Errorf("connectivity check offer: %w: %w", ErrInvalidSDP, err)
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("connectivity check answer: %w: %w", ErrNegotiation, err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("connectivity check answer: %w: %w", ErrNegotiation, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("connectivity check: gathering: %w", ctx.Err())
	}
	return c.pc.LocalDescription().SDP, nil
}

// Close ends the check; safe to call more than once, from any goroutine.
func (c *ConnectivityCheck) Close() {
	c.closeOnce.Do(func() {
		c.ended.Store(true)
		if c.timer != nil {
			c.timer.Stop()
		}
		c.sfu.untrackCheck(c)
		// Not GracefulClose: a check that never connected has nothing to wait for, and Close may run on
		// a timer goroutine.
		_ = c.pc.Close()
	})
}

func (s *SFU) trackCheck(c *ConnectivityCheck) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.checks[c] = struct{}{}
	return true
}

func (s *SFU) untrackCheck(c *ConnectivityCheck) {
	s.mu.Lock()
	delete(s.checks, c)
	s.mu.Unlock()
}

func (s *SFU) closeChecks() {
	s.mu.Lock()
	checks := make([]*ConnectivityCheck, 0, len(s.checks))
	for c := range s.checks {
		checks = append(checks, c)
	}
	s.mu.Unlock()
	for _, c := range checks {
		c.Close()
	}
}
