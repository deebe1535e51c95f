package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// publishedTrack is one sending m-line: set up by Publish, then read by the reader goroutine (dynacast) and
// the RTCP goroutines. Its fields do not change once the offer is sent.
type publishedTrack struct {
	lt     LocalTrack
	tr     *webrtc.RTPTransceiver
	layers []*simulcastLayer // nil for a single-layer track
}

// Publish adds tracks to the publish connection and negotiates them. It returns the server's id for each.
func (c *Client) Publish(ctx context.Context, tracks ...LocalTrack) ([]protocol.AssignedTrack, error) {
	all := make([]*publishedTrack, 0, len(tracks))
	for _, lt := range tracks {
		p, err := c.addTransceiver(lt)
		if err != nil {
			return nil, err
		}
		all = append(all, p)
	}
	offer, err := c.pub.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("client: publish offer: %w", err)
	}
	if err := c.pub.SetLocalDescription(offer); err != nil {
		return nil, fmt.Errorf("client: publish offer: %w", err)
	}
	sources := make([]protocol.TrackSource, 0, len(all))
	byMid := make(map[string]*publishedTrack, len(all))
	for _, p := range all {
		mid := p.tr.Mid() // assigned by CreateOffer
		byMid[mid] = p
		src := protocol.TrackSource{Mid: mid, Source: p.lt.Source}
		for _, l := range p.layers {
			l.mid.Store(mid)
			src.Layers = append(src.Layers, l.spec)
		}
		sources = append(sources, src)
		p.drainRTCP()
	}
	// The reply's track ids are recorded on the reader goroutine, before it handles whatever follows the
	// answer: a publisher_layers may come right after it.
	env, err := c.request(ctx, protocol.TypePublishOffer, protocol.PublishOffer{SDP: offer.SDP, Tracks: sources}, func(env protocol.Envelope) {
		var answer protocol.PublishAnswer
		if env.Type != protocol.TypePublishAnswer || json.Unmarshal(env.Data, &answer) != nil {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, t := range answer.Tracks {
			if p := byMid[t.Mid]; p != nil {
				c.published[t.TrackID] = p
			}
		}
	})
	if err != nil {
		return nil, err
	}
	var answer protocol.PublishAnswer
	if err := json.Unmarshal(env.Data, &answer); err != nil {
		return nil, fmt.Errorf("client: publish answer: %w", err)
	}
	sdp := rewriteSDPCandidates(answer.SDP, "publish", c.rewriteRemote)
	if err := c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return nil, fmt.Errorf("client: apply publish answer: %w", err)
	}
	c.flushCandidates(c.pub, &c.pubQueue)
	for _, p := range all {
		if p.lt.OnHeaderExtensions == nil {
			continue
		}
		ids := make(map[string]uint8)
		for _, ext := range p.tr.Sender().GetParameters().HeaderExtensions {
			ids[ext.URI] = uint8(ext.ID)
		}
		p.lt.OnHeaderExtensions(ids)
	}
	return answer.Tracks, nil
}

// addTransceiver adds one send-only transceiver: one encoding, or one per simulcast layer.
func (c *Client) addTransceiver(lt LocalTrack) (*publishedTrack, error) {
	init := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}
	if len(lt.Layers) == 0 {
		if lt.Track == nil {
			return nil, errors.New("client: publish: a LocalTrack has neither Track nor Layers")
		}
		tr, err := c.pub.AddTransceiverFromTrack(lt.Track, init)
		if err != nil {
			return nil, fmt.Errorf("client: add track: %w", err)
		}
		return &publishedTrack{lt: lt, tr: tr}, nil
	}
	layers := make([]*simulcastLayer, len(lt.Layers))
	for i, l := range lt.Layers {
		if l.Track == nil || l.Track.RID() == "" {
			return nil, fmt.Errorf("client: publish: simulcast layer %d has no track with a RID", i)
		}
		spec := l.Spec
		if spec.RID == "" {
			spec.RID = l.Track.RID()
		}
		if spec.RID != l.Track.RID() {
			return nil, fmt.Errorf("client: publish: simulcast layer %d: spec rid %q but track rid %q", i, spec.RID, l.Track.RID())
		}
		layers[i] = &simulcastLayer{TrackLocal: l.Track, spec: spec}
	}
	tr, err := c.pub.AddTransceiverFromTrack(layers[0], init)
	if err != nil {
		return nil, fmt.Errorf("client: add simulcast track: %w", err)
	}
	sender := tr.Sender()
	for _, l := range layers[1:] {
		if err := sender.AddEncoding(l); err != nil {
			_ = c.pub.RemoveTrack(sender)
			return nil, fmt.Errorf("client: add simulcast layer %s: %w", l.spec.RID, err)
		}
	}
	// The SSRCs are fixed once the encodings exist; keyframe requests name them.
	for i, enc := range sender.GetParameters().Encodings {
		if i < len(layers) {
			layers[i].ssrc = uint32(enc.SSRC)
		}
	}
	return &publishedTrack{lt: lt, tr: tr, layers: layers}, nil
}

// drainRTCP starts one goroutine per encoding reading its RTCP: the interceptors only process RTCP that
// is read, and keyframe requests come this way. Each ends when the sender stops (the PeerConnection
// closes).
func (p *publishedTrack) drainRTCP() {
	sender := p.tr.Sender()
	if p.layers == nil {
		onKey := p.lt.OnKeyframeRequest
		read := func(b []byte) (int, error) {
			n, _, err := sender.Read(b)
			return n, err
		}
		go drainRTCP(read, func(pkts []rtcp.Packet) {
			if onKey != nil && wantsKeyframe(pkts, 0) {
				onKey()
			}
		})
		return
	}
	for _, l := range p.layers {
		rid, ssrc := l.spec.RID, l.ssrc
		onKey := func() {
			switch {
			case p.lt.OnLayerKeyframeRequest != nil:
				p.lt.OnLayerKeyframeRequest(rid)
			case p.lt.OnKeyframeRequest != nil:
				p.lt.OnKeyframeRequest()
			}
		}
		read := func(b []byte) (int, error) {
			n, _, err := sender.ReadSimulcast(b, rid)
			return n, err
		}
		go drainRTCP(read, func(pkts []rtcp.Packet) {
			if wantsKeyframe(pkts, ssrc) {
				onKey()
			}
		})
	}
}

// maxRTCPErrors bounds a run of read errors that are not a close, so a reader can never spin forever.
const maxRTCPErrors = 1000

// drainRTCP reads RTCP with read until the stream closes, handing each parsed compound packet to handle.
// A read or parse error that is not a close (e.g. a malformed packet the interceptors refused) is skipped.
func drainRTCP(read func([]byte) (int, error), handle func([]rtcp.Packet)) {
	buf := make([]byte, 1500)
	for errs := 0; errs < maxRTCPErrors; {
		n, err := read(buf)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
				return
			}
			errs++
			continue
		}
		errs = 0
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		handle(pkts)
	}
}

// wantsKeyframe reports whether pkts ask for a keyframe: of the stream with that SSRC, or of any stream
// when ssrc is 0. An RTCP compound is delivered to every stream it names, so each layer must check.
func wantsKeyframe(pkts []rtcp.Packet, ssrc uint32) bool {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication:
			if ssrc == 0 || p.MediaSSRC == ssrc {
				return true
			}
		case *rtcp.FullIntraRequest:
			if ssrc == 0 || p.MediaSSRC == ssrc {
				return true
			}
			for _, e := range p.FIR {
				if e.SSRC == ssrc {
					return true
				}
			}
		}
	}
	return false
}

// handlePublisherLayers applies a publisher_layers message (dynacast) to the track it names.
func (c *Client) handlePublisherLayers(env protocol.Envelope) {
	var msg protocol.PublisherLayers
	if json.Unmarshal(env.Data, &msg) != nil {
		return
	}
	c.mu.Lock()
	p := c.published[msg.TrackID]
	c.mu.Unlock()
	if p == nil || p.lt.OnLayerActive == nil {
		return
	}
	for _, l := range msg.Layers {
		p.lt.OnLayerActive(l.RID, l.Active)
	}
}
