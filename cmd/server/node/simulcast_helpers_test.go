package node_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/loadtest/netem"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// simulcastPublisher publishes synthetic Opus and three-layer VP8 simulcast, honouring the server's
// keyframe requests per layer and its dynacast messages.
type simulcastPublisher struct {
	*peer
	sim     *media.Simulcast
	audio   *media.Source
	videoID string
	audioID string
}

// publishSimulcast publishes q/h/f simulcast and audio; the layers named in dead never send (an encoder
// short of bandwidth), whatever dynacast asks.
func publishSimulcast(t *testing.T, p *peer, keyframeInterval time.Duration, dead ...string) *simulcastPublisher {
	t.Helper()
	sim, err := media.NewSimulcast("video", p.name, media.DefaultSimulcast(), keyframeInterval)
	if err != nil {
		t.Fatal(err)
	}
	for _, rid := range dead {
		sim.SetLayerActive(rid, false)
	}
	setActive := func(rid string, active bool) { sim.SetLayerActive(rid, active && !slices.Contains(dead, rid)) }
	audio, err := media.NewOpus("audio", p.name)
	if err != nil {
		t.Fatal(err)
	}
	var layers []client.LocalLayer
	for i, tr := range sim.Tracks() {
		s := sim.Specs()[i]
		layers = append(layers, client.LocalLayer{Track: tr, Spec: protocol.Layer{RID: s.RID, Width: s.Width, Height: s.Height, MaxBitrate: s.BitrateBps}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assigned, err := p.c.Publish(ctx,
		client.LocalTrack{Track: audio.Track(), Source: "microphone", OnHeaderExtensions: func(ids map[string]uint8) {
			audio.SetAudioLevelExtensionID(ids[client.AudioLevelURI])
		}},
		client.LocalTrack{Layers: layers, Source: "camera", OnLayerKeyframeRequest: sim.RequestKeyframe, OnLayerActive: setActive})
	if err != nil {
		t.Fatalf("%s publish: %v", p.name, err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	p.cancel = stop
	go func() { _ = audio.Run(runCtx) }()
	go func() { _ = sim.Run(runCtx) }()
	return &simulcastPublisher{peer: p, sim: sim, audio: audio, audioID: assigned[0].TrackID, videoID: assigned[1].TrackID}
}

// layerMeter is a subscriber's view of one simulcast video track: which layer each packet came from
// (the synthetic payload says) and which sequence numbers arrived, retransmissions included.
type layerMeter struct {
	mu       sync.Mutex
	perLayer [4]int64
	other    int64 // packets without a layer tag
	firstAt  [4]time.Time
	seqs     map[int64]bool // extended sequence numbers received
	newest   int64
	started  bool
	since    time.Time
	bytes    int64
}

func newLayerMeter() *layerMeter { return &layerMeter{seqs: make(map[int64]bool), since: time.Now()} }

func (m *layerMeter) add(pkt *rtp.Packet, size int) {
	idx, ok := media.LayerOf(pkt.Payload)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bytes += int64(size)
	if ok && idx < len(m.perLayer) {
		m.perLayer[idx]++
		if m.firstAt[idx].IsZero() {
			m.firstAt[idx] = time.Now()
		}
	} else {
		m.other++
	}
	// Extend the 16-bit sequence number relative to the newest seen (RFC 3550 wrap-around).
	ext := int64(pkt.SequenceNumber) + 1<<20
	if m.started {
		ext = m.newest + int64(int16(pkt.SequenceNumber-uint16(m.newest)))
	}
	m.started = true
	m.newest = max(m.newest, ext)
	m.seqs[ext] = true
}

// reset forgets everything counted so far.
func (m *layerMeter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.perLayer, m.other, m.firstAt, m.bytes = [4]int64{}, 0, [4]time.Time{}, 0
	m.seqs, m.newest, m.started, m.since = make(map[int64]bool), 0, false, time.Now()
}

func (m *layerMeter) counts() (perLayer [4]int64, other int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.perLayer, m.other
}

func (m *layerMeter) first(layer int) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.firstAt[layer]
}

// missing counts sequence numbers never received between the first and the newest minus a tail that
// retransmissions may still fill.
func (m *layerMeter) missing(tail int64) (missing, total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		return 0, 0
	}
	lo := m.newest
	for s := range m.seqs {
		lo = min(lo, s)
	}
	for s := lo; s <= m.newest-tail; s++ {
		total++
		if !m.seqs[s] {
			missing++
		}
	}
	return missing, total
}

// simulcastSubscriber joins and meters the simulcast video track it receives.
type simulcastSubscriber struct {
	*peer
	mu     sync.Mutex
	meters map[string]*layerMeter
}

// joinSimulcast joins with an optional relay between the client and the node's media port.
func joinSimulcast(t *testing.T, n *node.Node, room, name string, relay *netem.Relay) *simulcastSubscriber {
	t.Helper()
	s := &simulcastSubscriber{meters: make(map[string]*layerMeter)}
	p := &peer{t: t, name: name, received: make(map[string]*trackStats)}
	opts := client.Options{OnTrack: func(rt client.RemoteTrack) {
		if rt.Track.Kind().String() != "video" {
			go nodetest.ReadPackets(rt, func(*rtp.Packet, int) {}) // drained so pion does not buffer it
			return
		}
		m := newLayerMeter()
		s.mu.Lock()
		s.meters[rt.ID] = m
		s.mu.Unlock()
		go nodetest.ReadPackets(rt, m.add)
	}}
	if relay != nil {
		opts.RewriteCandidate = func(_, c string) string { return relay.RewriteCandidate(c) }
		opts.RewriteLocalCandidate = func(_, _ string) string { return "" }
	}
	p.dialJoin(n, room, opts)
	s.peer = p
	return s
}

func (s *simulcastSubscriber) meter(trackID string) *layerMeter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meters[trackID]
}

// waitMeter waits until the track arrives.
func (s *simulcastSubscriber) waitMeter(t *testing.T, trackID string) *layerMeter {
	t.Helper()
	eventually(t, 10*time.Second, s.name+" receives the video track", func() bool { return s.meter(trackID) != nil })
	return s.meter(trackID)
}

// waitState waits for a stream_state of the track satisfying match, reading the client's events.
func (s *simulcastSubscriber) waitState(t *testing.T, timeout time.Duration, trackID, what string, match func(protocol.StreamState) bool) protocol.StreamState {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case env := <-s.c.Events():
			if env.Type == protocol.TypeError {
				t.Logf("%s: error %s", s.name, env.Data)
			}
			if env.Type != protocol.TypeStreamState {
				continue
			}
			var st protocol.StreamState
			if err := json.Unmarshal(env.Data, &st); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: stream_state %+v", s.name, st)
			if st.TrackID == trackID && match(st) {
				return st
			}
		case <-deadline:
			t.Fatalf("%s: no stream_state %s within %s", s.name, what, timeout)
		}
	}
}

// waitSettled waits for a stream_state of the track satisfying match that no other stream_state of the
// track follows within quiet.
func (s *simulcastSubscriber) waitSettled(t *testing.T, timeout time.Duration, trackID, what string, match func(protocol.StreamState) bool, quiet time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	s.waitState(t, timeout, trackID, what, match)
	for {
		settled := time.After(quiet)
	listen:
		for {
			select {
			case env := <-s.c.Events():
				if env.Type != protocol.TypeStreamState {
					continue
				}
				var st protocol.StreamState
				if err := json.Unmarshal(env.Data, &st); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: stream_state %+v", s.name, st)
				if st.TrackID == trackID && !match(st) {
					break listen // moved away: wait for it to come back and stay
				}
			case <-settled:
				return
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("%s: stream_state %s did not settle within %s", s.name, what, timeout)
		}
		s.waitState(t, left, trackID, what, match)
	}
}

func layerIs(rid string) func(protocol.StreamState) bool {
	return func(st protocol.StreamState) bool { return st.State == protocol.StreamActive && st.Layer == rid }
}
