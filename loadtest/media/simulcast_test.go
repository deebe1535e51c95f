package media

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu/codec"
)

// capture is a TrackLocalWriter that keeps copies of what a bound track writes, so the tests see the
// packets exactly as pion would send them, without a PeerConnection.
type capture struct {
	mu   sync.Mutex
	pkts []rtp.Packet
	at   []time.Time // when each packet was written
}

func (c *capture) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	p := rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)}
	p.Header.Extensions = nil
	for _, id := range h.GetExtensionIDs() {
		_ = p.Header.SetExtension(id, append([]byte(nil), h.GetExtension(id)...))
	}
	c.mu.Lock()
	c.pkts = append(c.pkts, p)
	c.at = append(c.at, time.Now())
	c.mu.Unlock()
	return len(payload), nil
}

func (c *capture) Write(b []byte) (int, error) {
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		return 0, err
	}
	return c.WriteRTP(&p.Header, p.Payload)
}

func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pkts)
}

// span is the wall time from the first packet written to the last.
func (c *capture) span() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.at) < 2 {
		return 0
	}
	return c.at[len(c.at)-1].Sub(c.at[0])
}

// runUntil runs a source until enough holds, then ends it and waits for Run to return. The tests wait
// for a count of packets rather than a wall-clock window: on a busy machine the sources' tickers run
// late and drop ticks, so a fixed window may hold nothing. runUntil fails after 10 s.
func runUntil(t testing.TB, run func(context.Context) error, enough func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	for !enough() {
		select {
		case err := <-done:
			t.Fatalf("the source stopped before it sent enough: %v", err)
		case <-poll.C:
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func (c *capture) packets() []rtp.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rtp.Packet(nil), c.pkts...)
}

// fakeContext binds a track to a capture the way an RTPSender would.
type fakeContext struct {
	w     webrtc.TrackLocalWriter
	codec webrtc.RTPCodecParameters
}

func (f *fakeContext) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{f.codec}
}
func (f *fakeContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (f *fakeContext) SSRC() webrtc.SSRC                       { return 1234 }
func (f *fakeContext) SSRCRetransmission() webrtc.SSRC         { return 0 }
func (f *fakeContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (f *fakeContext) WriteStream() webrtc.TrackLocalWriter    { return f.w }
func (f *fakeContext) ID() string                              { return "fake" }
func (f *fakeContext) RTCPReader() interceptor.RTCPReader      { return nil }

var vp8Params = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}

func bind(t testing.TB, track webrtc.TrackLocal, params webrtc.RTPCodecParameters) *capture {
	t.Helper()
	c := &capture{}
	if _, err := track.Bind(&fakeContext{w: c, codec: params}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	return c
}

// frames groups a layer's packets by RTP timestamp, in order.
func frames(pkts []rtp.Packet) [][]rtp.Packet {
	var out [][]rtp.Packet
	for i, p := range pkts {
		if i == 0 || p.Timestamp != pkts[i-1].Timestamp {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], p)
	}
	return out
}

// checkLayer asserts the layout of every packet of one layer and the continuity of its counters; it
// returns which frames were keyframes.
func checkLayer(t *testing.T, index int, spec LayerSpec, pkts []rtp.Packet) []bool {
	t.Helper()
	var keys []bool
	var lastPic uint16
	var lastTL0 uint8
	for f, frame := range frames(pkts) {
		first := frame[0]
		d, err := codec.ParseVP8Descriptor(first.Payload)
		if err != nil {
			t.Fatalf("layer %s frame %d: %v", spec.RID, f, err)
		}
		if f > 0 {
			if want := (lastPic + 1) & 0x7fff; d.PictureID != want {
				t.Errorf("layer %s frame %d: picture id %d, want %d", spec.RID, f, d.PictureID, want)
			}
			if want := lastTL0 + 1; d.TL0PICIDX != want {
				t.Errorf("layer %s frame %d: TL0PICIDX %d, want %d", spec.RID, f, d.TL0PICIDX, want)
			}
			if want := frame[0].Timestamp - pkts[0].Timestamp; want%uint32(90000/spec.FPS) != 0 {
				t.Errorf("layer %s frame %d: timestamp %d not a multiple of %d past the first", spec.RID, f, want, 90000/spec.FPS)
			}
		}
		lastPic, lastTL0 = d.PictureID, d.TL0PICIDX
		keys = append(keys, codec.IsKeyframe(codec.KindVP8, first.Payload))
		if _, ok := SentAt(codec.KindVP8, first.Payload); !ok {
			t.Errorf("layer %s frame %d: no send stamp", spec.RID, f)
		}
		for i, p := range frame {
			d, err := codec.ParseVP8Descriptor(p.Payload)
			switch {
			case err != nil:
				t.Fatalf("layer %s: %v", spec.RID, err)
			case d.HeaderSize != 6 || !d.HasPictureID || !d.PictureID16 || !d.HasTL0PICIDX || !d.HasTID || d.TID != 0 || !d.Y || d.HasKeyIdx:
				t.Fatalf("layer %s: descriptor %+v, want 6 bytes with I (M=1), L, T (TID 0, Y)", spec.RID, d)
			case d.PictureID != lastPic || d.TL0PICIDX != lastTL0:
				t.Errorf("layer %s: picture id/TL0PICIDX changed inside a frame", spec.RID)
			case d.Start != (i == 0):
				t.Errorf("layer %s frame %d packet %d: S=%v", spec.RID, f, i, d.Start)
			case p.Marker != (i == len(frame)-1):
				t.Errorf("layer %s frame %d packet %d: marker %v", spec.RID, f, i, p.Marker)
			case len(p.Payload) > maxPayload:
				t.Errorf("layer %s: payload of %d bytes", spec.RID, len(p.Payload))
			}
			if got, ok := LayerOf(p.Payload); !ok || got != index {
				t.Errorf("layer %s frame %d packet %d: LayerOf = %d, %v; want %d", spec.RID, f, i, got, ok, index)
			}
		}
	}
	for i := 1; i < len(pkts); i++ {
		if pkts[i].SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Fatalf("layer %s: sequence jumps %d -> %d", spec.RID, pkts[i-1].SequenceNumber, pkts[i].SequenceNumber)
		}
	}
	return keys
}

// tickAll drives every layer for d of simulated time, each at its own frame rate.
func tickAll(t *testing.T, s *Simulcast, start time.Time, d time.Duration) {
	t.Helper()
	pkt, buf := &rtp.Packet{Header: rtp.Header{Version: 2}}, make([]byte, maxPayload)
	for _, l := range s.layers {
		step := time.Second / time.Duration(l.spec.FPS)
		for at := start; at.Before(start.Add(d)); at = at.Add(step) {
			if err := l.tick(at, s.keyInterval, pkt, buf); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestSimulcastLayout(t *testing.T) {
	tests := []struct {
		name        string
		layers      []LayerSpec
		keyInterval time.Duration
		run         time.Duration
		wantKeys    int // keyframes per layer over run
	}{
		{"default layers, one keyframe", DefaultSimulcast(), time.Hour, time.Second, 1},
		{"default layers, keyframe every 400ms", DefaultSimulcast(), 400 * time.Millisecond, time.Second, 3},
		{"one tiny layer", []LayerSpec{{RID: "x", BitrateBps: 800, FPS: 10}}, time.Hour, 500 * time.Millisecond, 1},
		{"four layers", []LayerSpec{{RID: "a", FPS: 7}, {RID: "b", FPS: 12}, {RID: "c", FPS: 24}, {RID: "d", BitrateBps: 4_000_000, FPS: 60}}, time.Hour, 300 * time.Millisecond, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSimulcast("video", "stream", tc.layers, tc.keyInterval)
			if err != nil {
				t.Fatal(err)
			}
			caps := make([]*capture, len(s.layers))
			for i, tr := range s.Tracks() {
				if tr.RID() != tc.layers[i].RID || tr.ID() != "video" || tr.StreamID() != "stream" {
					t.Fatalf("track %d: rid %q id %q stream %q", i, tr.RID(), tr.ID(), tr.StreamID())
				}
				caps[i] = bind(t, tr, vp8Params)
			}
			tickAll(t, s, time.Unix(1000, 0), tc.run)
			for i, l := range s.layers {
				pkts := caps[i].packets()
				keys := checkLayer(t, i, l.spec, pkts)
				if wantFrames := int(tc.run * time.Duration(l.spec.FPS) / time.Second); len(keys) < wantFrames-1 || len(keys) > wantFrames+1 {
					t.Errorf("layer %s: %d frames, want about %d", l.spec.RID, len(keys), wantFrames)
				}
				n := 0
				for _, k := range keys {
					if k {
						n++
					}
				}
				if !keys[0] || n != tc.wantKeys {
					t.Errorf("layer %s: keyframes %v, want the first and %d in all", l.spec.RID, keys, tc.wantKeys)
				}
				if gotP, gotB := s.Sent(l.spec.RID); gotP != uint64(len(pkts)) || gotB == 0 {
					t.Errorf("layer %s: Sent = %d packets %d bytes, captured %d", l.spec.RID, gotP, gotB, len(pkts))
				}
			}
		})
	}
}

func TestSimulcastKeyframeSizeAndRequest(t *testing.T) {
	s, err := NewSimulcast("video", "stream", DefaultSimulcast(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caps := make([]*capture, 3)
	for i, tr := range s.Tracks() {
		caps[i] = bind(t, tr, vp8Params)
	}
	// Frame counts before each request, per layer: the next frame must be a keyframe.
	count := func(i int) int { return len(frames(caps[i].packets())) }
	start := time.Unix(1000, 0)
	tickAll(t, s, start, 200*time.Millisecond)
	var atH [3]int
	for i := range caps {
		atH[i] = count(i)
	}
	s.RequestKeyframe("h")
	tickAll(t, s, start.Add(200*time.Millisecond), 200*time.Millisecond)
	var atAll [3]int
	for i := range caps {
		atAll[i] = count(i)
	}
	s.RequestKeyframe("")
	tickAll(t, s, start.Add(400*time.Millisecond), 100*time.Millisecond)
	for i := range caps {
		fs := frames(caps[i].packets())
		keys := checkLayer(t, i, s.layers[i].spec, caps[i].packets())
		size := func(f []rtp.Packet) (n int) {
			for _, p := range f {
				n += len(p.Payload)
			}
			return n
		}
		if ratio := float64(size(fs[0])) / float64(size(fs[1])); ratio < 4 || ratio > 6 {
			t.Errorf("layer %d: keyframe/delta size ratio %.1f, want about 5", i, ratio)
		}
		wantKeys := map[int]bool{0: true, atAll[i]: true}
		if s.layers[i].spec.RID == "h" {
			wantKeys[atH[i]] = true
		}
		for f, k := range keys {
			if k != wantKeys[f] {
				t.Errorf("layer %d frame %d: keyframe %v, want %v", i, f, k, wantKeys[f])
			}
		}
	}
}

func TestSetLayerActive(t *testing.T) {
	s, err := NewSimulcast("video", "stream", DefaultSimulcast(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caps := make([]*capture, 3)
	for i, tr := range s.Tracks() {
		caps[i] = bind(t, tr, vp8Params)
	}
	start := time.Unix(1000, 0)
	tickAll(t, s, start, 200*time.Millisecond)
	before := len(caps[1].packets())
	lastTS := caps[1].packets()[before-1].Timestamp
	lastPic, _ := codec.ParseVP8Descriptor(caps[1].packets()[before-1].Payload)
	s.SetLayerActive("h", false)
	s.SetLayerActive("nope", false) // ignored
	tickAll(t, s, start.Add(200*time.Millisecond), 300*time.Millisecond)
	if got := len(caps[1].packets()); got != before {
		t.Fatalf("inactive layer h sent %d packets", got-before)
	}
	qBefore, fBefore := len(caps[0].packets()), len(caps[2].packets())
	s.SetLayerActive("h", true)
	tickAll(t, s, start.Add(500*time.Millisecond), 200*time.Millisecond)
	if len(caps[0].packets()) == qBefore || len(caps[2].packets()) == fBefore {
		t.Fatal("the other layers stopped too")
	}
	pkts := caps[1].packets()
	if len(pkts) == before {
		t.Fatal("layer h did not restart")
	}
	resumed := pkts[before]
	if !codec.IsKeyframe(codec.KindVP8, resumed.Payload) {
		t.Error("layer h did not restart with a keyframe")
	}
	if resumed.SequenceNumber != pkts[before-1].SequenceNumber+1 {
		t.Errorf("sequence number jumped across the pause: %d -> %d", pkts[before-1].SequenceNumber, resumed.SequenceNumber)
	}
	// The RTP clock kept running while paused: 300ms of 20fps frames were skipped.
	if gap := resumed.Timestamp - lastTS; gap != uint32(7*90000/20) {
		t.Errorf("timestamp gap across the pause %d, want %d", gap, 7*90000/20)
	}
	d, _ := codec.ParseVP8Descriptor(resumed.Payload)
	if d.PictureID != (lastPic.PictureID+1)&0x7fff {
		t.Errorf("picture id %d after pause, want %d", d.PictureID, lastPic.PictureID+1)
	}
	checkLayer(t, 1, s.layers[1].spec, pkts)
}

func TestSimulcastIndependentStarts(t *testing.T) {
	s, err := NewSimulcast("video", "stream", DefaultSimulcast(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	l := s.layers
	// Equal by chance with probability ~2^-32 per field.
	if l[0].seq == l[1].seq && l[1].seq == l[2].seq && l[0].ts == l[1].ts && l[1].ts == l[2].ts {
		t.Fatal("layers share their starting sequence number and timestamp")
	}
}

func TestNewSimulcastRejects(t *testing.T) {
	for name, layers := range map[string][]LayerSpec{
		"none":        nil,
		"empty rid":   {{RID: ""}},
		"repeated":    {{RID: "q"}, {RID: "q"}},
		"five layers": {{RID: "a"}, {RID: "b"}, {RID: "c"}, {RID: "d"}, {RID: "e"}},
	} {
		if _, err := NewSimulcast("v", "s", layers, 0); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSimulcastRun(t *testing.T) {
	s, err := NewSimulcast("video", "stream", DefaultSimulcast(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	caps := make([]*capture, 3)
	for i, tr := range s.Tracks() {
		caps[i] = bind(t, tr, vp8Params)
	}
	var once sync.Once
	runUntil(t, s.Run, func() bool {
		if !s.running.Load() {
			return false // the source's goroutine has not started yet
		}
		once.Do(func() {
			if err := s.Run(context.Background()); err == nil {
				t.Error("a second Run did not fail")
			}
		})
		// Every layer sent a few frames (the top one sends the most packets per frame).
		for _, c := range caps {
			if c.count() < 10 {
				return false
			}
		}
		return true
	})
	for i, l := range s.layers {
		pkts := caps[i].packets()
		if n, _ := s.Sent(l.spec.RID); n != uint64(len(pkts)) || n == 0 {
			t.Errorf("layer %s: Sent %d, captured %d", l.spec.RID, n, len(pkts))
		}
		checkLayer(t, i, l.spec, pkts)
	}
}

func TestSingleLayerSourceUnchanged(t *testing.T) {
	src, err := NewVP8("video", "stream", Spec{FPS: 50, BitrateBps: 200_000})
	if err != nil {
		t.Fatal(err)
	}
	c := bind(t, src.Track(), vp8Params)
	runUntil(t, src.Run, func() bool { return c.count() >= 5 })
	pkts := c.packets()
	if !codec.IsKeyframe(codec.KindVP8, pkts[0].Payload) {
		t.Error("first frame is not a keyframe")
	}
	for _, p := range pkts {
		if d, _ := codec.ParseVP8Descriptor(p.Payload); d.HeaderSize != vp8DescriptorSize {
			t.Fatalf("descriptor of %d bytes", d.HeaderSize)
		}
		if _, ok := LayerOf(p.Payload); ok {
			t.Fatal("LayerOf found a layer in a single-layer packet")
		}
	}
	if _, ok := SentAt(codec.KindVP8, pkts[0].Payload); !ok {
		t.Error("no send stamp in a single-layer frame")
	}
}

func TestLayerTagTable(t *testing.T) {
	buf := make([]byte, maxPayload)
	tests := []struct {
		name        string
		index       int
		first, key  bool
		chunk       int
		wantOK      bool
		wantKeyflag bool
	}{
		{"first packet of a keyframe", 2, true, true, 500, true, true},
		{"first packet of a delta frame", 1, true, false, firstPacketMedia, true, false},
		{"middle packet", 3, false, true, 1, true, false},
		{"last packet", 0, false, false, 1094, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := writeSimulcastVP8(buf, 0x7abc, 200, tc.index, tc.first, tc.key, tc.chunk)
			p := buf[:n]
			if n != simulcastDescriptorSize+tc.chunk {
				t.Fatalf("length %d", n)
			}
			d, err := codec.ParseVP8Descriptor(p)
			if err != nil || d.PictureID != 0x7abc || d.TL0PICIDX != 200 || d.Start != tc.first {
				t.Fatalf("descriptor %+v, %v", d, err)
			}
			got, ok := LayerOf(p)
			if ok != tc.wantOK || got != tc.index {
				t.Errorf("LayerOf = %d, %v", got, ok)
			}
			if k := codec.IsKeyframe(codec.KindVP8, p); k != tc.wantKeyflag {
				t.Errorf("IsKeyframe = %v", k)
			}
			if at, ok := SentAt(codec.KindVP8, p); ok != tc.first || (ok && time.Since(at) > time.Minute) {
				t.Errorf("SentAt = %v, %v", at, ok)
			}
		})
	}
	n := writeSimulcastVP8(buf, 1, 1, 1, true, true, 100)
	truncated := append([]byte(nil), buf[:simulcastDescriptorSize+1+stampSize]...) // the tag cut off
	for name, p := range map[string][]byte{"empty": nil, "descriptor only": buf[:6], "zero media": make([]byte, 20), "first packet without its tag": truncated, "corrupt": buf[:n][:1]} {
		if _, ok := LayerOf(p); ok {
			t.Errorf("%s: LayerOf ok", name)
		}
	}
}

func FuzzLayerOf(f *testing.F) {
	buf := make([]byte, maxPayload)
	f.Add(append([]byte(nil), buf[:writeSimulcastVP8(buf, 1, 2, 3, true, true, 40)]...))
	f.Add(append([]byte(nil), buf[:writeSimulcastVP8(buf, 1, 2, 1, false, false, 3)]...))
	f.Add(append([]byte(nil), buf[:writeVP8Packet(buf, 5, true, false, 30)]...))
	f.Add([]byte{0x90, 0xe0, 0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		idx, ok := LayerOf(p)
		if !ok {
			return
		}
		if idx < 0 || idx > 15 {
			t.Fatalf("index %d", idx)
		}
		// A tagged packet stays tagged when the descriptor's counters are rewritten, as an SFU does.
		d, err := codec.ParseVP8Descriptor(p)
		if err != nil {
			t.Fatalf("LayerOf ok on a payload whose descriptor does not parse: %v", err)
		}
		if d.HasTL0PICIDX {
			at := d.HeaderSize - 1 // TL0PICIDX is last, or just before the TID/KEYIDX byte
			if d.HasTID || d.HasKeyIdx {
				at--
			}
			q := append([]byte(nil), p...)
			q[at]++
			if got, ok := LayerOf(q); !ok || got != idx {
				t.Fatalf("rewriting the descriptor changed the layer: %d,%v -> %d,%v", idx, ok, got, ok)
			}
		}
	})
}

func BenchmarkSimulcastFrame(b *testing.B) {
	s, err := NewSimulcast("video", "stream", DefaultSimulcast(), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	l := s.layers[2]
	if _, err := l.track.Bind(&fakeContext{w: &discard{}, codec: vp8Params}); err != nil {
		b.Fatal(err)
	}
	pkt, buf := &rtp.Packet{Header: rtp.Header{Version: 2}}, make([]byte, maxPayload)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.sendFrame(context.Background(), false, pkt, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLayerOf(b *testing.B) {
	buf := make([]byte, maxPayload)
	p := buf[:writeSimulcastVP8(buf, 1, 2, 2, true, false, 1000)]
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := LayerOf(p); !ok {
			b.Fatal("no layer")
		}
	}
}

type discard struct{}

func (discard) WriteRTP(_ *rtp.Header, p []byte) (int, error) { return len(p), nil }
func (discard) Write(b []byte) (int, error)                   { return len(b), nil }
