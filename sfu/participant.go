package sfu

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v4"
)

// Participant is one member of a room with its publish and subscribe PeerConnections.
type Participant struct {
	id     string
	sfu    *SFU
	room   *Room // set once by Room.join, before the participant is visible
	events ParticipantEvents
	log    *slog.Logger

	pub        *webrtc.PeerConnection
	pubPending candidateQueue
	sub        *subscriber

	mu        sync.Mutex
	byMid     map[string]*publishedTrack // the publish PC's m-lines the client declared or sent on
	published map[string]*Receiver       // by track id
	closed    bool
	closeOnce sync.Once
}

// publishedTrack is what we know about one m-line of the publish PC.
type publishedTrack struct {
	id       string
	source   Source
	layers   []LayerSpec
	receiver *Receiver
}

// defaultLayers is assumed for a simulcast track whose publisher did not declare its layers: the rids
// browsers and our client use, lowest first.
func defaultLayers() []LayerSpec {
	return []LayerSpec{{RID: "q"}, {RID: "h"}, {RID: "f"}}
}

func newParticipant(s *SFU, id string, events ParticipantEvents) (*Participant, error) {
	cfg := webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle, RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire}
	pub, err := s.pubAPI.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("participant %s: publish connection: %w", id, err)
	}
	subPC, err := s.subAPI.NewPeerConnection(cfg)
	if err != nil {
		_ = pub.Close()
		return nil, fmt.Errorf("participant %s: subscribe connection: %w", id, err)
	}
	p := &Participant{
		id: id, sfu: s, events: events, log: s.log.With("participant", id),
		pub: pub, byMid: make(map[string]*publishedTrack), published: make(map[string]*Receiver),
	}
	p.sub = newSubscriber(p, subPC)
	pub.OnTrack(p.onTrack)
	watchConnection(pub, TargetPublish, p)
	return p, nil
}

// watchConnection forwards a PeerConnection's candidates and failure to the participant's events.
func watchConnection(pc *webrtc.PeerConnection, target Target, p *Participant) {
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			p.events.ICECandidate(target, c.ToJSON())
		}
	})
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		p.log.Debug("connection state", "target", target, "state", state.String())
		if state == webrtc.PeerConnectionStateFailed {
			p.events.ConnectionFailed(target, fmt.Errorf("%s connection failed (ICE or DTLS)", target))
		}
	})
}

// ID is the participant's id in its room.
func (p *Participant) ID() string { return p.id }

// Publish applies the client's offer for the publish PeerConnection and returns the answer, with the
// server track id of every m-line named in sources.
func (p *Participant) Publish(offerSDP string, sources []TrackSource) (string, []AssignedTrack, error) {
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}
	if _, err := offer.Unmarshal(); err != nil {
		return "", nil, fmt.Errorf("publish offer: %w: %w", ErrInvalidSDP, err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return "", nil, fmt.Errorf("publish: %w", ErrClosed)
	}
	assigned := make([]AssignedTrack, 0, len(sources))
	for _, s := range sources {
		pt := p.byMid[s.Mid]
		if pt == nil {
			pt = &publishedTrack{id: newID("TR_")}
			p.byMid[s.Mid] = pt
		}
		if pt.receiver == nil { // the source and layers of a track already flowing do not change
			pt.source = s.Source
			pt.layers = s.Layers
		}
		assigned = append(assigned, AssignedTrack{Mid: s.Mid, TrackID: pt.id})
	}
	p.mu.Unlock()

	if err := p.pub.SetRemoteDescription(offer); err != nil {
		return "", nil, fmt.Errorf("publish offer: %w: %w", ErrInvalidSDP, err)
	}
	answer, err := p.pub.CreateAnswer(nil)
	if err != nil {
		return "", nil, fmt.Errorf("publish answer: %w: %w", ErrNegotiation, err)
	}
	if err := p.pub.SetLocalDescription(answer); err != nil {
		return "", nil, fmt.Errorf("publish answer: %w: %w", ErrNegotiation, err)
	}
	if err := p.pubPending.flush(p.pub); err != nil {
		p.log.Debug("queued publish candidate rejected", "err", err)
	}
	return answer.SDP, assigned, nil
}

// AcceptSubscriberAnswer applies the client's answer to the last subscribe offer.
func (p *Participant) AcceptSubscriberAnswer(answerSDP string) error {
	return p.sub.accept(answerSDP)
}

// AddICECandidate adds a client candidate to one of the PeerConnections.
func (p *Participant) AddICECandidate(target Target, c webrtc.ICECandidateInit) error {
	switch target {
	case TargetPublish:
		return p.pubPending.add(p.pub, c)
	case TargetSubscribe:
		return p.sub.addCandidate(c)
	default:
		return fmt.Errorf("ice candidate: unknown target %q", target)
	}
}

// publishedReceiver returns one of the participant's published tracks; op names the caller in the error.
func (p *Participant) publishedReceiver(op, trackID string) (*Receiver, error) {
	p.mu.Lock()
	rcv := p.published[trackID]
	p.mu.Unlock()
	if rcv == nil {
		return nil, fmt.Errorf("%s %s: %w", op, trackID, ErrUnknownTrack)
	}
	return rcv, nil
}

// SetMuted records that one of the participant's tracks is muted or not, and tells the room.
func (p *Participant) SetMuted(trackID string, muted bool) error {
	rcv, err := p.publishedReceiver("mute", trackID)
	if err != nil {
		return err
	}
	p.setMuted(rcv, muted)
	return nil
}

func (p *Participant) setMuted(rcv *Receiver, muted bool) {
	if rcv.muted.Swap(muted) != muted {
		p.room.muted(rcv)
	}
}

// Block stops (or resumes) forwarding one of the participant's tracks to everyone, whatever its client
// sends: a moderator's mute. The track stays published and is marked muted; resuming restarts each
// subscriber on a keyframe.
func (p *Participant) Block(trackID string, blocked bool) error {
	rcv, err := p.publishedReceiver("block", trackID)
	if err != nil {
		return err
	}
	if rcv.blocked.Swap(blocked) == blocked {
		return nil
	}
	if !blocked {
		rcv.restartDownTracks()
	}
	p.setMuted(rcv, blocked)
	return nil
}

// Published returns the participant's published tracks.
func (p *Participant) Published() []TrackInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]TrackInfo, 0, len(p.published))
	for _, rcv := range p.published {
		out = append(out, rcv.Info())
	}
	return out
}

// LayerRate is one layer of a published track as it arrives now: its rid ("" without simulcast) and
// measured bitrate (0 while it does not flow).
type LayerRate struct {
	RID string
	Bps int
}

// Rates returns, per published track id, each layer's measured bitrate, lowest layer first. For the
// admin's status page; it reads the receivers' smoothed meters, not the media path.
func (p *Participant) Rates() map[string][]LayerRate {
	p.mu.Lock()
	rcvs := make([]*Receiver, 0, len(p.published))
	for _, rcv := range p.published {
		rcvs = append(rcvs, rcv)
	}
	p.mu.Unlock()
	out := make(map[string][]LayerRate, len(rcvs))
	var bps [maxLayers]int
	for _, rcv := range rcvs {
		n := rcv.layerCount()
		rcv.layerBitrates(bps[:n])
		rates := make([]LayerRate, n)
		for i := range rates {
			rates[i].Bps = bps[i]
			if i < len(rcv.info.Layers) {
				rates[i].RID = rcv.info.Layers[i].RID
			}
		}
		out[rcv.info.ID] = rates
	}
	return out
}

// Unpublish stops forwarding one of the participant's tracks to everyone.
func (p *Participant) Unpublish(trackID string) error {
	rcv, err := p.publishedReceiver("unpublish", trackID)
	if err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.published, trackID)
	p.mu.Unlock()
	p.room.unpublish(rcv)
	return nil
}

// onTrack runs in pion's goroutine when a new track or simulcast layer starts arriving.
func (p *Participant) onTrack(track *webrtc.TrackRemote, rtpReceiver *webrtc.RTPReceiver) {
	mid := midOf(p.pub, rtpReceiver)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	pt := p.byMid[mid]
	if pt == nil {
		pt = &publishedTrack{id: newID("TR_")}
		p.byMid[mid] = pt
	}
	if pt.source == "" || !pt.source.Valid() {
		pt.source = SourceMicrophone
		if track.Kind() == webrtc.RTPCodecTypeVideo {
			pt.source = SourceCamera
		}
	}
	isNew := pt.receiver == nil
	if isNew {
		info := TrackInfo{ID: pt.id, ParticipantID: p.id, Kind: kindOf(track.Kind()), Source: pt.source}
		if track.RID() != "" {
			info.Layers = pt.layers
			if len(info.Layers) == 0 {
				info.Layers = defaultLayers()
			}
		}
		pt.receiver = newReceiver(info, track, p.pub, &p.sfu.counters, p.log, p.trackEnded)
		p.published[pt.id] = pt.receiver
	}
	rcv := pt.receiver
	p.mu.Unlock()

	rcv.addLayer(track, rtpReceiver)
	if isNew {
		p.room.publish(rcv)
		rcv.dynacast.setNotify(func(trackID string, layers []LayerState) { p.events.PublisherLayers(trackID, layers) })
	}
}

// SetSubscriptionSettings records how the participant wants one track it receives (adaptive stream).
func (p *Participant) SetSubscriptionSettings(trackID string, settings SubscriptionSettings) error {
	if err := p.sub.setSettings(trackID, settings); err != nil {
		return fmt.Errorf("track settings %s: %w", trackID, err)
	}
	return nil
}

// trackEnded runs when the publisher stopped sending every layer of a track.
func (p *Participant) trackEnded(rcv *Receiver) {
	p.mu.Lock()
	if p.published[rcv.info.ID] != rcv || p.closed {
		p.mu.Unlock()
		return
	}
	delete(p.published, rcv.info.ID)
	p.mu.Unlock()
	p.room.unpublish(rcv)
}

// Close removes the participant from its room and closes both PeerConnections, waiting for pion's
// goroutines to finish. Safe to call more than once and from any goroutine.
func (p *Participant) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		if p.room != nil {
			p.room.leave(p)
		}
		p.closePeerConnections()
	})
}

func (p *Participant) closePeerConnections() {
	p.sub.close()
	if err := p.pub.GracefulClose(); err != nil {
		p.log.Debug("close publish connection", "err", err)
	}
	if err := p.sub.pc.GracefulClose(); err != nil {
		p.log.Debug("close subscribe connection", "err", err)
	}
}

func midOf(pc *webrtc.PeerConnection, r *webrtc.RTPReceiver) string {
	for _, t := range pc.GetTransceivers() {
		if t.Receiver() == r {
			return t.Mid()
		}
	}
	return ""
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns prefix plus 10 random base32 characters (50 bits).
func newID(prefix string) string {
	var b [7]byte
	_, _ = rand.Read(b[:])
	return prefix + idEncoding.EncodeToString(b[:])[:10]
}
