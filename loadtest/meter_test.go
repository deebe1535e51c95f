package loadtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/loadtest/media"
)

// captured collects what a synthetic track writes, as raw RTP.
type captured struct {
	mu   sync.Mutex
	pkts [][]byte
}

func (c *captured) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	b, err := (&rtp.Packet{Header: *h, Payload: payload}).Marshal()
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.pkts = append(c.pkts, b)
	c.mu.Unlock()
	return len(b), nil
}

func (c *captured) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pkts)
}

func (c *captured) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.pkts = append(c.pkts, append([]byte(nil), b...))
	c.mu.Unlock()
	return len(b), nil
}

func (c *captured) all() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.pkts...)
}

type fakeBinding struct {
	w     webrtc.TrackLocalWriter
	codec webrtc.RTPCodecParameters
}

func (f *fakeBinding) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{f.codec}
}
func (f *fakeBinding) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (f *fakeBinding) SSRC() webrtc.SSRC                                      { return 42 }
func (f *fakeBinding) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (f *fakeBinding) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (f *fakeBinding) WriteStream() webrtc.TrackLocalWriter                   { return f.w }
func (f *fakeBinding) ID() string                                             { return "fake" }
func (f *fakeBinding) RTCPReader() interceptor.RTCPReader                     { return nil }

var (
	vp8Codec  = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}
	opusCodec = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}
)

// record runs a synthetic source until each track wrote at least its minimum of packets and returns
// what each wrote. It waits for counts, not a wall-clock window: on a busy machine the sources' tickers
// run late. It fails after 10 s.
func record(t testing.TB, minimum []int, run func(context.Context) error, tracks []webrtc.TrackLocal, codec webrtc.RTPCodecParameters) [][][]byte {
	t.Helper()
	caps := make([]*captured, len(tracks))
	for i, tr := range tracks {
		caps[i] = &captured{}
		if _, err := tr.Bind(&fakeBinding{w: caps[i], codec: codec}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	enough := func() bool {
		for i, c := range caps {
			if c.count() < minimum[i] {
				return false
			}
		}
		return true
	}
	for !enough() {
		select {
		case err := <-done:
			t.Fatalf("the source stopped before it sent enough: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := make([][][]byte, len(caps))
	for i, c := range caps {
		out[i] = c.all()
	}
	return out
}

// TestMeterSimulcast feeds a meter what a subscriber receives when the server switches it from q to f:
// it sees both layers, the keyframe, the latency and no loss.
func TestMeterSimulcast(t *testing.T) {
	sim, err := media.NewSimulcast("video", "s", CameraLayers(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var tracks []webrtc.TrackLocal
	for _, tr := range sim.Tracks() {
		tracks = append(tracks, tr)
	}
	layers := record(t, []int{4, 0, 20}, sim.Run, tracks, vp8Codec)
	q, f := layers[0], layers[2]
	if len(q) < 4 || len(f) < 20 {
		t.Fatalf("%d q packets, %d f packets", len(q), len(f))
	}
	m := newTrackMeter("TR_1", vp8Codec, webrtc.RTPCodecTypeVideo, 1)
	var h rtp.Header
	seq := uint16(65530) // the server's rewritten numbering, continuous over the switch, across the wrap
	feed := func(pkts [][]byte) {
		for _, raw := range pkts {
			var p rtp.Packet
			if err := p.Unmarshal(raw); err != nil {
				t.Fatal(err)
			}
			p.SequenceNumber = seq
			seq++
			out, _ := p.Marshal()
			m.observe(&h, out, time.Now())
		}
	}
	feed(q[:4])
	feed(f) // f starts with a keyframe (the first frame of every layer is one)
	s := m.snapshot(0, nil)
	if s.packets != int64(4+len(f)) || s.expected != s.packets || s.missing != 0 {
		t.Errorf("packets %d expected %d missing %d", s.packets, s.expected, s.missing)
	}
	if s.layers[0] != 4 || s.layers[2] != int64(len(f)) || s.lastLayer != 2 || s.untagged != 0 {
		t.Errorf("layers %v last %d untagged %d", s.layers, s.lastLayer, s.untagged)
	}
	if s.firstKeyAt.IsZero() || s.keyframes < 2 {
		t.Errorf("keyframes %d, first at %v", s.keyframes, s.firstKeyAt)
	}
	lat := m.latencies(nil)
	if len(lat) == 0 || s.latSeen != int64(len(lat)) {
		t.Fatalf("%d latency samples, %d seen", len(lat), s.latSeen)
	}
	for _, l := range lat {
		if l < 0 || l > int64(5*time.Second) {
			t.Errorf("latency %v", time.Duration(l))
		}
	}
	var recent []int64
	m.snapshot(0, &recent)
	if len(recent) == 0 || len(recent) > recentSamples {
		t.Errorf("%d recent samples", len(recent))
	}
	var again []int64
	m.snapshot(0, &again)
	if len(again) != 0 {
		t.Errorf("%d recent samples after draining", len(again))
	}
	m.resetLatency()
	if n := len(m.latencies(nil)); n != 0 {
		t.Errorf("%d samples after reset", n)
	}
}

// TestMeterAudioAndPadding: audio packets carry stamps; padding-only probes count apart and keep the
// sequence numbers whole; jitter of perfectly spaced packets is nil.
func TestMeterAudioAndPadding(t *testing.T) {
	src, err := media.NewOpus("audio", "s")
	if err != nil {
		t.Fatal(err)
	}
	pkts := record(t, []int{4}, src.Run, []webrtc.TrackLocal{src.Track()}, opusCodec)[0]
	if len(pkts) < 4 {
		t.Fatalf("%d packets", len(pkts))
	}
	m := newTrackMeter("TR_a", opusCodec, webrtc.RTPCodecTypeAudio, 1)
	var h rtp.Header
	t0 := time.Now()
	var ts uint32
	for i, raw := range pkts {
		var p rtp.Packet
		if err := p.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		p.SequenceNumber, p.Timestamp = uint16(2*i), ts
		ts += 960
		out, _ := p.Marshal()
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		m.observe(&h, out, at)
		// A padding-only probe as the server sends it: the P bit and 200 bytes of which the last says 200.
		hdr, _ := (&rtp.Header{Version: 2, Padding: true, SequenceNumber: uint16(2*i + 1), Timestamp: ts}).Marshal()
		probe := append(hdr, make([]byte, 200)...)
		probe[len(probe)-1] = 200
		m.observe(&h, probe, at)
	}
	s := m.snapshot(0, nil)
	if s.packets != int64(len(pkts)) || s.padding != int64(len(pkts)) || s.missing != 0 || s.expected != int64(2*len(pkts)) {
		t.Errorf("packets %d padding %d missing %d expected %d", s.packets, s.padding, s.missing, s.expected)
	}
	if s.jitterMs > 0.01 {
		t.Errorf("jitter %.3f ms for perfectly spaced packets", s.jitterMs)
	}
	if n := len(m.latencies(nil)); n != len(pkts) { // every audio packet is stamped; probes are not
		t.Errorf("%d latency samples from %d audio packets", n, len(pkts))
	}
}

// TestMeterRefusesForeignStamps: bytes that are not our stamp (replayed real media) give no latency.
func TestMeterRefusesForeignStamps(t *testing.T) {
	m := newTrackMeter("TR_a", opusCodec, webrtc.RTPCodecTypeAudio, 1)
	var h rtp.Header
	p := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1}, Payload: []byte{0xfc, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 0}}
	raw, _ := p.Marshal()
	m.observe(&h, raw, time.Now())
	if n := len(m.latencies(nil)); n != 0 || m.snapshot(0, nil).packets != 1 {
		t.Errorf("%d latency samples from a foreign payload", n)
	}
	m.observe(&h, []byte{1, 2, 3}, time.Now()) // not RTP
	if s := m.snapshot(0, nil); s.packets != 1 {
		t.Errorf("a malformed packet was counted: %d", s.packets)
	}
}

func BenchmarkMeterObserve(b *testing.B) {
	sim, err := media.NewSimulcast("video", "s", CameraLayers()[2:], time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	pkts := record(b, []int{20}, sim.Run, []webrtc.TrackLocal{sim.Tracks()[0]}, vp8Codec)[0]
	m := newTrackMeter("TR_1", vp8Codec, webrtc.RTPCodecTypeVideo, 1)
	var h rtp.Header
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.observe(&h, pkts[i%len(pkts)], now)
		i++
	}
}
