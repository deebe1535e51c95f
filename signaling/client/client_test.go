package client

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/loadtest/netem"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// calls records callback invocations.
type calls struct {
	mu  sync.Mutex
	log []string
}

func (c *calls) add(s string) {
	c.mu.Lock()
	c.log = append(c.log, s)
	c.mu.Unlock()
}

func (c *calls) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

func (c *calls) count(s string) int {
	n := 0
	for _, l := range c.all() {
		if l == s {
			n++
		}
	}
	return n
}

// TestPublishSimulcastThroughRelay publishes a microphone and a three-layer camera to a pion answerer
// reached only through a netem relay, and checks everything the client adds for simulcast: the offer, the
// layers arriving as separate rid streams with the right content, per-layer keyframe requests, dynacast,
// the audio level extension and candidate rewriting.
func TestPublishSimulcastThroughRelay(t *testing.T) {
	srv := newFakeServer(t)
	relay, err := netem.New(srv.target)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	var upRTP atomic.Int64
	relay.SetDrop(func(dir netem.Direction, pkt []byte) bool {
		if dir == netem.Uplink && netem.IsRTP(pkt) {
			upRTP.Add(1)
		}
		return false
	})

	var rewrites calls
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := Dial(ctx, srv.url(), Options{
		RewriteCandidate: func(target, cand string) string {
			out := relay.RewriteCandidate(cand)
			rewrites.add(fmt.Sprint(target, " ", strings.Contains(out, " "+strconv.Itoa(relay.Addr().Port)+" typ host")))
			return out
		},
		RewriteLocalCandidate: func(string, string) string { return "" }, // reach the server only via the relay
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Join(ctx, "r", "sim"); err != nil {
		t.Fatal(err)
	}

	sim, err := media.NewSimulcast("video", "sim", media.DefaultSimulcast(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := media.NewOpus("audio", "sim")
	if err != nil {
		t.Fatal(err)
	}
	var layers []LocalLayer
	for i, tr := range sim.Tracks() {
		sp := sim.Specs()[i]
		layers = append(layers, LocalLayer{Track: tr, Spec: protocol.Layer{Width: sp.Width, Height: sp.Height, MaxBitrate: sp.BitrateBps}})
	}
	var keyReqs, active, extCalls calls
	var single atomic.Int64
	assigned, err := c.Publish(ctx,
		LocalTrack{Track: audio.Track(), Source: "microphone", OnHeaderExtensions: func(ids map[string]uint8) {
			extCalls.add("audio")
			audio.SetAudioLevelExtensionID(ids[AudioLevelURI])
		}},
		LocalTrack{Layers: layers, Source: "camera",
			OnKeyframeRequest:      func() { single.Add(1) },
			OnLayerKeyframeRequest: func(rid string) { keyReqs.add(rid); sim.RequestKeyframe(rid) },
			OnLayerActive: func(rid string, on bool) {
				active.add(rid + map[bool]string{true: "+", false: "-"}[on])
				sim.SetLayerActive(rid, on)
			},
		})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = sim.Run(ctx) }()
	go func() { _ = audio.Run(ctx) }()

	// The offer: layers declared, and the SDP asks for simulcast with the three rids.
	srv.mu.Lock()
	offer := srv.offers[0]
	srv.mu.Unlock()
	want := []protocol.Layer{{RID: "q", Width: 320, Height: 180, MaxBitrate: 150_000}, {RID: "h", Width: 640, Height: 360, MaxBitrate: 500_000}, {RID: "f", Width: 1280, Height: 720, MaxBitrate: 1_700_000}}
	if len(offer.Tracks) != 2 || offer.Tracks[0].Layers != nil || !reflect.DeepEqual(offer.Tracks[1].Layers, want) || offer.Tracks[1].Source != "camera" {
		t.Fatalf("offer tracks %+v", offer.Tracks)
	}
	for _, line := range []string{"a=simulcast:send q;h;f", "a=rid:q send", "a=rid:h send", "a=rid:f send"} {
		if !strings.Contains(offer.SDP, line+"\r\n") {
			t.Errorf("offer lacks %q", line)
		}
	}
	if len(assigned) != 2 || assigned[1].TrackID != "TR_"+offer.Tracks[1].Mid {
		t.Fatalf("assigned %+v", assigned)
	}
	if got := extCalls.all(); len(got) != 1 {
		t.Errorf("OnHeaderExtensions ran %d times", len(got))
	}

	// publisher_layers sent right behind the publish answer reached the track.
	srv.waitFor("dynacast right after the answer", func() bool { return len(active.all()) == 3 })
	if got := active.all(); !reflect.DeepEqual(got, []string{"q+", "h+", "f+"}) {
		t.Errorf("OnLayerActive calls %v", got)
	}

	// Media: each layer is a separate rid stream at the server, carrying its own layer's packets; audio
	// carries the level.
	// A layer's first keyframe may be lost on a loaded loopback before the server's reader has its rid
	// stream; a server would ask again (PLI), and so does this one for a layer still without one.
	srv.waitFor("all layers, each with a keyframe, and audio", func() bool {
		for _, rid := range []string{"", "q", "h", "f"} {
			rt, ok := srv.snapshot(rid)
			if !ok || rt.packets < 10 {
				return false
			}
			if rid != "" && rt.keyframes == 0 {
				sim.RequestKeyframe(rid)
				return false
			}
		}
		return true
	})
	for _, rid := range []string{"q", "h", "f"} {
		rt, _ := srv.snapshot(rid)
		if rt.wrongLayer != 0 {
			t.Errorf("layer %s: %d of %d packets from another layer", rid, rt.wrongLayer, rt.packets)
		}
	}
	srv.waitFor("an audio level", func() bool { rt, _ := srv.snapshot(""); return len(rt.audioLevel) == 1 })
	if rt, _ := srv.snapshot(""); rt.audioLevel[0] != 0x80|media.DefaultAudioLevel {
		t.Errorf("audio level byte %#x, want voice and %d", rt.audioLevel[0], media.DefaultAudioLevel)
	}

	// A PLI naming h's SSRC reaches OnLayerKeyframeRequest("h") only.
	h, _ := srv.snapshot("h")
	before := keyReqs.all()
	srv.mu.Lock()
	pc := srv.pc
	srv.mu.Unlock()
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(h.track.SSRC())}}); err != nil {
		t.Fatal(err)
	}
	srv.waitFor("the keyframe request", func() bool { return keyReqs.count("h") > countIn(before, "h") })
	srv.waitFor("the requested keyframe", func() bool { rt, _ := srv.snapshot("h"); return rt.keyframes > h.keyframes })
	for _, rid := range []string{"q", "f"} {
		if keyReqs.count(rid) != countIn(before, rid) {
			t.Errorf("a PLI for h asked layer %s for a keyframe: %v", rid, keyReqs.all())
		}
	}
	if single.Load() != 0 {
		t.Error("OnKeyframeRequest ran although OnLayerKeyframeRequest is set")
	}

	// Dynacast: f off stops it at the server; on again, it resumes with a keyframe. Also on Events.
	srv.send(protocol.TypePublisherLayers, "", protocol.PublisherLayers{TrackID: assigned[1].TrackID,
		Layers: []protocol.LayerState{{RID: "q", Active: true}, {RID: "h", Active: true}, {RID: "f", Active: false}}})
	srv.waitFor("f switched off", func() bool { return active.count("f-") == 1 })
	waitEvent(t, c, protocol.TypePublisherLayers)
	// Packets already in flight may still arrive: wait for a 300 ms window in which q moved and f did
	// not (on a busy machine the first windows may still carry f's last packets).
	var f0, f1, q0, q1 receivedTrack
	srv.waitFor("a window with q flowing and f stopped", func() bool {
		f0, _ = srv.snapshot("f")
		q0, _ = srv.snapshot("q")
		time.Sleep(300 * time.Millisecond)
		f1, _ = srv.snapshot("f")
		q1, _ = srv.snapshot("q")
		return f1.packets == f0.packets && q1.packets > q0.packets
	})
	srv.send(protocol.TypePublisherLayers, "", protocol.PublisherLayers{TrackID: assigned[1].TrackID,
		Layers: []protocol.LayerState{{RID: "f", Active: true}}})
	srv.waitFor("f back", func() bool { rt, _ := srv.snapshot("f"); return rt.packets > f1.packets })
	if rt, _ := srv.snapshot("f"); rt.lastKeyAt != f1.packets+1 {
		t.Errorf("f resumed at packet %d but its last keyframe starts at packet %d", f1.packets+1, rt.lastKeyAt)
	}

	// Candidates: every server candidate went through the hook and was pointed at the relay; the client
	// told the server none of its own; the media crossed the relay.
	if got := rewrites.all(); len(got) == 0 || slices.ContainsFunc(got, func(s string) bool { return s != "publish true" }) {
		t.Errorf("rewrites %v, want only publish candidates, all pointed at the relay", got)
	}
	srv.mu.Lock()
	sent := srv.clientCand
	srv.mu.Unlock()
	if sent != 0 {
		t.Errorf("the client trickled %d candidates though RewriteLocalCandidate drops them", sent)
	}
	if upRTP.Load() < 50 {
		t.Errorf("only %d RTP packets crossed the relay", upRTP.Load())
	}
}

func countIn(list []string, s string) int {
	n := 0
	for _, l := range list {
		if l == s {
			n++
		}
	}
	return n
}

func waitEvent(t *testing.T, c *Client, typ string) protocol.Envelope {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case env := <-c.Events():
			if env.Type == typ {
				return env
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

// dialFake connects a client to a fake server and joins.
func dialFake(t *testing.T, opts Options) (*fakeServer, *Client) {
	t.Helper()
	srv := newFakeServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, srv.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Join(ctx, "r", "n"); err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestSetTrackSettings(t *testing.T) {
	srv, c := dialFake(t, Options{})
	tests := []struct {
		name    string
		s       protocol.TrackSettings
		wantErr bool
	}{
		{"full", protocol.TrackSettings{TrackID: "TR_a", MaxLayer: "h", Width: 640, Height: 360, Priority: protocol.PriorityHigh}, false},
		{"paused", protocol.TrackSettings{TrackID: "TR_b", Paused: true}, false},
		{"no track id", protocol.TrackSettings{Width: 5}, true},
		{"bad priority", protocol.TrackSettings{TrackID: "TR_a", Priority: "urgent"}, true},
		{"negative size", protocol.TrackSettings{TrackID: "TR_a", Width: -1}, true},
	}
	var sent []protocol.TrackSettings
	for _, tc := range tests {
		err := c.SetTrackSettings(tc.s)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v", tc.name, err)
		}
		if err == nil {
			sent = append(sent, tc.s)
		}
	}
	srv.waitFor("track settings", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.settings) >= len(sent)
	})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !reflect.DeepEqual(srv.settings, sent) {
		t.Errorf("server got %+v, want %+v", srv.settings, sent)
	}
}

func TestStreamStateAndSpeakers(t *testing.T) {
	srv, c := dialFake(t, Options{})
	srv.send(protocol.TypeStreamState, "", protocol.StreamState{TrackID: "TR_x", State: protocol.StreamActive, Layer: "h"})
	srv.send(protocol.TypeActiveSpeakers, "", protocol.ActiveSpeakers{Speakers: []protocol.Speaker{{ParticipantID: "P1", Level: 0.7}, {ParticipantID: "P2", Level: 0.2}}})
	srv.send(protocol.TypeStreamState, "", protocol.StreamState{TrackID: "TR_x", State: protocol.StreamPaused, Reason: protocol.PausedBandwidth})
	waitEvent(t, c, protocol.TypeStreamState)
	waitEvent(t, c, protocol.TypeActiveSpeakers)
	waitEvent(t, c, protocol.TypeStreamState)
	if st, ok := c.StreamState("TR_x"); !ok || st.State != protocol.StreamPaused || st.Reason != protocol.PausedBandwidth {
		t.Errorf("stream state %+v %v", st, ok)
	}
	if sp := c.ActiveSpeakers(); len(sp) != 2 || sp[0].ParticipantID != "P1" {
		t.Errorf("speakers %+v", sp)
	}
	srv.send(protocol.TypeTrackUnpublished, "", protocol.TrackEvent{Track: protocol.Track{ID: "TR_x"}})
	waitEvent(t, c, protocol.TypeTrackUnpublished)
	if _, ok := c.StreamState("TR_x"); ok {
		t.Error("stream state kept after the track was unpublished")
	}
}

func TestRemoteCandidateRewriteAndDrop(t *testing.T) {
	var seen calls
	srv, c := dialFake(t, Options{RewriteCandidate: func(target, cand string) string {
		seen.add(target + "|" + cand)
		if strings.Contains(cand, "drop-me") {
			return ""
		}
		return cand
	}})
	srv.send(protocol.TypeICECandidate, "", protocol.ICECandidate{Target: "subscribe", Candidate: &protocol.ICECandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"}})
	srv.send(protocol.TypeICECandidate, "", protocol.ICECandidate{Target: "publish", Candidate: &protocol.ICECandidateInit{Candidate: "candidate:2 1 udp 1 127.0.0.1 9 typ host drop-me"}})
	srv.send(protocol.TypeICECandidate, "", protocol.ICECandidate{Target: "publish", Candidate: &protocol.ICECandidateInit{Candidate: ""}})
	srv.waitFor("two rewrites", func() bool { return len(seen.all()) == 2 })
	// The end-of-candidates marker, sent last, is queued once handled; it must not have reached the hook.
	srv.waitFor("the end-of-candidates marker queued", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return slices.ContainsFunc(c.pubQueue, func(ci webrtc.ICECandidateInit) bool { return ci.Candidate == "" })
	})
	want := []string{"subscribe|candidate:1 1 udp 1 127.0.0.1 9 typ host", "publish|candidate:2 1 udp 1 127.0.0.1 9 typ host drop-me"}
	if got := seen.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("hook saw %q", got)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// No remote description yet, so candidates wait in the queues: the dropped one must not be there.
	if len(c.subQueue) != 1 || len(c.pubQueue) != 1 || c.pubQueue[0].Candidate != "" {
		t.Errorf("queues: subscribe %+v publish %+v", c.subQueue, c.pubQueue)
	}
}

func TestRewriteSDPCandidates(t *testing.T) {
	sdp := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1 1 udp 5 127.0.0.1 7881 typ host\r\na=candidate:2 1 udp 5 127.0.0.1 7882 typ host\r\na=end-of-candidates\r\n"
	tests := []struct {
		name    string
		rewrite func(target, cand string) string
		want    string
	}{
		{"nil leaves it", nil, sdp},
		{"identity", func(_, c string) string { return c }, sdp},
		{"rewrite one, drop one", func(target, c string) string {
			if target != "subscribe" {
				t.Errorf("target %q", target)
			}
			if strings.Contains(c, "7882") {
				return ""
			}
			return strings.Replace(c, "7881", "40000", 1)
		}, "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1 1 udp 5 127.0.0.1 40000 typ host\r\na=end-of-candidates\r\n"},
	}
	for _, tc := range tests {
		if got := rewriteSDPCandidates(sdp, "subscribe", tc.rewrite); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	// LF-only SDP keeps its line endings.
	lf := "v=0\na=candidate:1 1 udp 5 127.0.0.1 7881 typ host\n"
	if got := rewriteSDPCandidates(lf, "publish", func(_, c string) string { return c + " x" }); got != "v=0\na=candidate:1 1 udp 5 127.0.0.1 7881 typ host x\n" {
		t.Errorf("LF sdp: %q", got)
	}
}

func TestWantsKeyframe(t *testing.T) {
	tests := []struct {
		name string
		pkts []rtcp.Packet
		ssrc uint32
		want bool
	}{
		{"pli for us", []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 7}}, 7, true},
		{"pli for another layer", []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 8}}, 7, false},
		{"pli, any ssrc", []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 8}}, 0, true},
		{"fir entry for us", []rtcp.Packet{&rtcp.FullIntraRequest{FIR: []rtcp.FIREntry{{SSRC: 9}, {SSRC: 7}}}}, 7, true},
		{"fir for others", []rtcp.Packet{&rtcp.FullIntraRequest{FIR: []rtcp.FIREntry{{SSRC: 9}}}}, 7, false},
		{"compound with a receiver report", []rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1}, &rtcp.PictureLossIndication{MediaSSRC: 7}}, 7, true},
		{"nack only", []rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: 7}}, 7, false},
	}
	for _, tc := range tests {
		if got := wantsKeyframe(tc.pkts, tc.ssrc); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestPublishRejectsBadLayers(t *testing.T) {
	_, c := dialFake(t, Options{})
	mk := func(rid string) *webrtc.TrackLocalStaticRTP {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "v", "s", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for name, lt := range map[string]LocalTrack{
		"nothing":        {Source: "camera"},
		"no rid":         {Layers: []LocalLayer{{Track: mk("")}}},
		"rid mismatch":   {Layers: []LocalLayer{{Track: mk("q"), Spec: protocol.Layer{RID: "h"}}}},
		"repeated layer": {Layers: []LocalLayer{{Track: mk("q")}, {Track: mk("q")}}},
	} {
		if _, err := c.Publish(ctx, lt); err == nil {
			t.Errorf("%s: Publish accepted it", name)
		}
	}
}

func TestStampWriter(t *testing.T) {
	var got rtp.Header
	next := writerFunc(func(h *rtp.Header, _ []byte) (int, error) { got = *h; return 0, nil })
	w := &stampWriter{next: next, midID: 4, ridID: 10, mid: []byte("1"), rid: []byte("h")}
	orig := rtp.Header{Version: 2, SequenceNumber: 5}
	if err := orig.SetExtension(3, []byte{0x9e}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteRTP(&orig, nil); err != nil {
		t.Fatal(err)
	}
	if string(got.GetExtension(4)) != "1" || string(got.GetExtension(10)) != "h" || got.GetExtension(3)[0] != 0x9e {
		t.Errorf("stamped header extensions %v", got.GetExtensionIDs())
	}
	if len(orig.GetExtensionIDs()) != 1 {
		t.Errorf("the caller's header was modified: %v", orig.GetExtensionIDs())
	}
	if _, err := got.Marshal(); err != nil {
		t.Errorf("stamped header does not marshal: %v", err)
	}
}

type writerFunc func(h *rtp.Header, payload []byte) (int, error)

func (f writerFunc) WriteRTP(h *rtp.Header, p []byte) (int, error) { return f(h, p) }
func (f writerFunc) Write(b []byte) (int, error)                   { return len(b), nil }

func BenchmarkStampWriter(b *testing.B) {
	w := &stampWriter{next: writerFunc(func(*rtp.Header, []byte) (int, error) { return 0, nil }), midID: 4, ridID: 10, mid: []byte("1"), rid: []byte("h")}
	h := &rtp.Header{Version: 2}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.WriteRTP(h, nil); err != nil {
			b.Fatal(err)
		}
	}
}
