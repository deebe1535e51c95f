package node_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/sfu/codec"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// startNode runs a node on free loopback ports for the duration of the test.
func startNode(t *testing.T) *node.Node { return nodetest.Start(t, nil) }

func wsURL(n *node.Node) string { return nodetest.WSURL(n) }

// peer is a test participant that counts what it receives per track.
type peer struct {
	t      *testing.T
	name   string
	c      *client.Client
	cancel context.CancelFunc
	closed sync.Once

	mu       sync.Mutex
	received map[string]*trackStats // by server track id
}

type trackStats struct {
	packets       atomic.Int64
	firstKeyframe atomic.Bool // the first video packet received started a keyframe
	firstDelta    atomic.Bool // the first video packet received started a delta frame (the SFU's fault)
	kind          string
	mime, fmtp    string // the codec the subscriber's connection negotiated
}

// join dials, joins room and starts counting received packets. readMedia=false makes a subscriber that
// never reads its tracks (a stalled client).
func join(t *testing.T, n *node.Node, room, name string, readMedia bool) *peer {
	t.Helper()
	p := &peer{t: t, name: name, received: make(map[string]*trackStats)}
	p.dialJoin(n, room, client.Options{OnTrack: func(rt client.RemoteTrack) {
		if readMedia {
			p.count(rt)
		}
	}})
	return p
}

// dialJoin connects p's client with opts and joins room; the client closes when the test ends.
func (p *peer) dialJoin(n *node.Node, room string, opts client.Options) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, wsURL(n), opts)
	if err != nil {
		p.t.Fatal(err)
	}
	p.c = c
	if _, err := c.Join(ctx, room, p.name); err != nil {
		p.t.Fatalf("%s join: %v", p.name, err)
	}
	p.t.Cleanup(func() { p.close() })
}

func (p *peer) count(rt client.RemoteTrack) {
	c := rt.Track.Codec()
	st := &trackStats{kind: rt.Track.Kind().String(), mime: c.MimeType, fmtp: c.SDPFmtpLine}
	keyKind := codec.KindOf(c.MimeType)
	p.mu.Lock()
	p.received[rt.ID] = st
	p.mu.Unlock()
	go nodetest.ReadPackets(rt, func(pkt *rtp.Packet, _ int) {
		if st.packets.Add(1) == 1 && st.kind == "video" {
			st.firstKeyframe.Store(codec.IsKeyframe(keyKind, pkt.Payload))
			st.firstDelta.Store(startsDeltaFrame(keyKind, pkt.Payload))
		}
	})
}

// startsDeltaFrame reports whether an RTP payload begins a frame that is not a keyframe: VP8's first
// packet (S bit, partition 0) without the keyframe bit, H.264's non-IDR slice (alone or an FU-A's
// first fragment). A packet in the middle of a frame, or a parameter set, starts none.
func startsDeltaFrame(kind codec.Kind, payload []byte) bool {
	if len(payload) < 2 || codec.IsKeyframe(kind, payload) {
		return false
	}
	switch kind {
	case codec.KindVP8:
		return payload[0]&0x10 != 0 && payload[0]&0x07 == 0
	case codec.KindH264:
		switch payload[0] & 0x1f {
		case 1: // a non-IDR slice
			return true
		case 28: // FU-A: the first fragment of a non-IDR slice
			return payload[1]&0x80 != 0 && payload[1]&0x1f == 1
		}
	}
	return false
}

// firstFrameProblem says what is wrong with the first video packet a subscriber read, or "" when it
// started a keyframe. The SFU starts every subscriber at a keyframe's first packet; on a loaded machine
// the loopback socket may still drop that very packet, so a first packet in the middle of the keyframe
// (or a parameter set after a lost one) is loss, not the SFU's doing (logged). A first packet that
// starts a delta frame is the SFU's.
func (st *trackStats) firstFrameProblem(t *testing.T, what string) string {
	switch {
	case st.firstKeyframe.Load():
		return ""
	case st.firstDelta.Load():
		return what + ": the first packet started a frame that is not a keyframe"
	}
	t.Logf("%s: the first packet read was inside the keyframe (its first packet was lost on the way)", what)
	return ""
}

// publish sends synthetic Opus and VP8 until the test ends; it returns the server's track ids.
func (p *peer) publish() []string {
	ids, _ := p.publishSources(media.Spec{BitrateBps: 300_000, FPS: 15, KeyframeInterval: 10 * time.Second})
	return ids
}

// publishSources publishes Opus and a video source made to spec, and returns the server's track ids
// (audio, video) and the sources.
func (p *peer) publishSources(spec media.Spec) ([]string, [2]*media.Source) {
	p.t.Helper()
	audio, err := media.NewOpus("audio", p.name)
	if err != nil {
		p.t.Fatal(err)
	}
	video, err := media.NewVP8("video", p.name, spec)
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assigned, err := p.c.Publish(ctx,
		client.LocalTrack{Track: audio.Track(), Source: "microphone"},
		client.LocalTrack{Track: video.Track(), Source: "camera", OnKeyframeRequest: video.RequestKeyframe})
	if err != nil {
		p.t.Fatalf("%s publish: %v", p.name, err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	p.cancel = stop
	go func() { _ = audio.Run(runCtx) }()
	go func() { _ = video.Run(runCtx) }()
	ids := make([]string, len(assigned))
	for i, a := range assigned {
		ids[i] = a.TrackID
	}
	return ids, [2]*media.Source{audio, video}
}

func (p *peer) packets(trackID string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.received[trackID]; st != nil {
		return st.packets.Load()
	}
	return 0
}

func (p *peer) stats(trackID string) *trackStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.received[trackID]
}

func (p *peer) close() {
	p.closed.Do(func() {
		if p.cancel != nil {
			p.cancel()
		}
		if err := p.c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			p.t.Logf("%s close: %v", p.name, err)
		}
	})
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitEvent reads p's events until one of type typ satisfies match.
func (p *peer) waitEvent(timeout time.Duration, typ string, match func(protocol.Envelope) bool) protocol.Envelope {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case env := <-p.c.Events():
			if env.Type == typ && (match == nil || match(env)) {
				return env
			}
		case <-deadline:
			p.t.Fatalf("%s: no %s event within %s", p.name, typ, timeout)
		}
	}
}

// goroutinesSettle waits for the goroutine count to come back to at most baseline.
func goroutinesSettle(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, baseline %d\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mustSources returns unstarted synthetic tracks to publish.
func mustSources(t *testing.T, stream string) (client.LocalTrack, client.LocalTrack) {
	t.Helper()
	audio, err := media.NewOpus("audio", stream)
	if err != nil {
		t.Fatal(err)
	}
	video, err := media.NewVP8("video", stream, media.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	return client.LocalTrack{Track: audio.Track(), Source: "microphone"}, client.LocalTrack{Track: video.Track(), Source: "camera"}
}
