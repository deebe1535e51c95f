package sfu

import (
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu/bwe"

	"github.com/huddlehq/huddle/sfu/codec"
)

// recordingWriter stands in for pion's SRTP write stream and keeps copies of the headers written.
type recordingWriter struct {
	headers  []rtp.Header
	payloads [][]byte
	discard  bool // keep nothing (benchmarks)
}

func (w *recordingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if !w.discard {
		w.headers = append(w.headers, h.Clone()) // the extension payloads are the writer's scratch
		w.payloads = append(w.payloads, append([]byte(nil), payload...))
	}
	return len(payload), nil
}

func (w *recordingWriter) Write(b []byte) (int, error) { return len(b), nil }

// bindContext stands in for pion's TrackLocalContext.
type bindContext struct {
	ssrc   webrtc.SSRC
	codecs []webrtc.RTPCodecParameters
	writer webrtc.TrackLocalWriter
}

func (c bindContext) CodecParameters() []webrtc.RTPCodecParameters { return c.codecs }
func (c bindContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return []webrtc.RTPHeaderExtensionParameter{{URI: sdp.TransportCCURI, ID: testTWCCID}}
}

// testTWCCID is the transport-wide sequence number extension id the test subscribers negotiated.
const testTWCCID = 5

func (c bindContext) SSRC() webrtc.SSRC                       { return c.ssrc }
func (c bindContext) SSRCRetransmission() webrtc.SSRC         { return 0 }
func (c bindContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (c bindContext) WriteStream() webrtc.TrackLocalWriter    { return c.writer }
func (c bindContext) ID() string                              { return "bind" }
func (c bindContext) RTCPReader() interceptor.RTCPReader      { return nil }

var vp8 = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}

// testReceiver is a video receiver with no publisher connection and the given simulcast layers (none: a
// single-layer track). Keyframe requests are counted per layer instead of written as RTCP.
func testReceiver(layers ...LayerSpec) *Receiver {
	r := &Receiver{info: TrackInfo{ID: "TR_test", ParticipantID: "P1", Kind: "video", Layers: layers}, codecKind: codec.KindVP8,
		codec: vp8, counters: &counters{}, log: slog.Default()}
	r.downTracks.Store(&[]*DownTrack{})
	r.ended = make(chan struct{})
	r.dynacast.init(r)
	for i := 0; i < r.layerCount(); i++ {
		rid := ""
		if i < len(layers) {
			rid = layers[i].RID
		}
		r.layers[i].Store(newLayerState(i, rid, uint32(1000+i), true))
	}
	return r
}

// feed parses a raw packet as one of the receiver's layers and forwards it.
func feed(t testing.TB, r *Receiver, pkt *packet, layer int, raw []byte) {
	pkt.layer = layer
	if !pkt.parse(raw, r.codecKind) {
		t.Fatalf("parse failed")
	}
	r.receive(r.layers[layer].Load(), pkt, time.Now().UnixNano())
}

func boundDownTrack(t testing.TB, r *Receiver, ssrc webrtc.SSRC, pt uint8, w *recordingWriter) *DownTrack {
	dt := newDownTrack(r, 0, nil)
	dt.bwe = bwe.New(bwe.Config{Initial: 1_000_000})
	negotiated := vp8
	negotiated.PayloadType = webrtc.PayloadType(pt)
	if _, err := dt.Bind(bindContext{ssrc: ssrc, codecs: []webrtc.RTPCodecParameters{negotiated}, writer: w}); err != nil {
		t.Fatal(err)
	}
	if !r.attach(dt) {
		t.Fatal("attach failed")
	}
	return dt
}

// vp8Packet builds a raw RTP packet with a VP8 payload; start+key make it the first packet of a keyframe.
func vp8Packet(seq uint16, ts uint32, start, key bool) []byte {
	desc := byte(0x00)
	if start {
		desc = 0x10
	}
	hdr := byte(0x01)
	if key {
		hdr = 0x00
	}
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SequenceNumber: seq, Timestamp: ts, SSRC: 1234,
		Extension: true, ExtensionProfile: 0xBEDE}, Payload: []byte{desc, hdr, 0xaa, 0xbb}}
	_ = p.SetExtension(3, []byte{0x01, 0x02})
	raw, _ := p.Marshal()
	return raw
}

func TestDownTrackRewrite(t *testing.T) {
	r := testReceiver()
	w := &recordingWriter{}
	dt := boundDownTrack(t, r, 5555, 111, w)
	pkt := &packet{}
	feed := func(raw []byte) { feed(t, r, pkt, 0, raw) }

	feed(vp8Packet(100, 9000, true, false)) // delta frame before any keyframe: dropped
	feed(vp8Packet(101, 9000, false, false))
	if len(w.headers) != 0 {
		t.Fatalf("forwarded %d packets before the first keyframe", len(w.headers))
	}
	feed(vp8Packet(102, 12000, true, true)) // keyframe: forwarding starts here
	feed(vp8Packet(103, 12000, false, true))
	feed(vp8Packet(104, 15000, true, false))

	if len(w.headers) != 3 {
		t.Fatalf("forwarded %d packets, want 3", len(w.headers))
	}
	for i, h := range w.headers {
		if h.SSRC != 5555 || h.PayloadType != 111 {
			t.Errorf("packet %d: ssrc %d pt %d, want the subscriber's 5555/111", i, h.SSRC, h.PayloadType)
		}
		if ids := h.GetExtensionIDs(); len(ids) != 1 || ids[0] != testTWCCID {
			t.Errorf("packet %d: header extensions %v; want only the subscriber's transport-wide sequence number", i, ids)
		}
		if tw := h.GetExtension(testTWCCID); len(tw) != 2 || int(tw[0])<<8|int(tw[1]) != i {
			t.Errorf("packet %d: transport-wide sequence number %v, want %d", i, tw, i)
		}
	}
	if !codec.IsKeyframe(codec.KindVP8, w.payloads[0]) {
		t.Errorf("first forwarded packet is not a keyframe")
	}

	// Rebinding (e.g. renegotiation) restarts on a keyframe and continues the numbering without a jump.
	if _, err := dt.Bind(bindContext{ssrc: 5555, codecs: []webrtc.RTPCodecParameters{{RTPCodecCapability: vp8.RTPCodecCapability, PayloadType: 111}}, writer: w}); err != nil {
		t.Fatal(err)
	}
	feed(vp8Packet(200, 40000, true, false)) // not a keyframe: waits
	feed(vp8Packet(201, 43000, true, true))
	feed(vp8Packet(202, 46000, true, false))
	if len(w.headers) != 5 {
		t.Fatalf("forwarded %d packets, want 5", len(w.headers))
	}
	for i := 1; i < len(w.headers); i++ {
		if got, want := w.headers[i].SequenceNumber, w.headers[i-1].SequenceNumber+1; got != want {
			t.Errorf("packet %d: sequence %d, want %d (continuous)", i, got, want)
		}
		if w.headers[i].Timestamp < w.headers[i-1].Timestamp {
			t.Errorf("packet %d: timestamp went back %d → %d", i, w.headers[i-1].Timestamp, w.headers[i].Timestamp)
		}
	}

	st := r.counters
	if st.packetsIn.Load() != 8 || st.packetsOut.Load() != 5 {
		t.Errorf("counters: in %d out %d, want 8 and 5", st.packetsIn.Load(), st.packetsOut.Load())
	}
}

func TestDownTrackUnboundDropsAndDetachStops(t *testing.T) {
	r := testReceiver()
	w := &recordingWriter{}
	dt := boundDownTrack(t, r, 1, 96, w)
	pkt := &packet{}
	raw := vp8Packet(1, 1, true, true)
	_ = dt.Unbind(bindContext{})
	feed(t, r, pkt, 0, raw)
	if len(w.headers) != 0 {
		t.Fatal("an unbound DownTrack wrote")
	}
	r.detach(dt)
	if n := len(*r.downTracks.Load()); n != 0 {
		t.Fatalf("%d DownTracks after detach", n)
	}
	r.close()
	if r.attach(newDownTrack(r, 0, nil)) {
		t.Fatal("attach succeeded on a closed receiver")
	}
}

func TestMatchCodec(t *testing.T) {
	h264 := func(pt int, fmtp string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtp}, PayloadType: webrtc.PayloadType(pt)}
	}
	offered := []webrtc.RTPCodecParameters{
		vp8,
		h264(102, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"),
		h264(108, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"),
		h264(112, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"),
	}
	tests := []struct {
		name   string
		want   webrtc.RTPCodecParameters
		wantPT webrtc.PayloadType
		ok     bool
	}{
		{"vp8", webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/vp8"}}, 96, true},
		{"h264 baseline mode 1", h264(0, "profile-level-id=42001f;packetization-mode=1"), 102, true},
		{"h264 high mode 1, other level", h264(0, "profile-level-id=640032;packetization-mode=1"), 112, true},
		{"h264 main not offered", h264(0, "profile-level-id=4d001f;packetization-mode=1"), 0, false},
		{"vp9 not offered", webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := matchCodec(tt.want, offered)
			if ok != tt.ok || (ok && got.PayloadType != tt.wantPT) {
				t.Fatalf("got pt %d ok %v, want pt %d ok %v", got.PayloadType, ok, tt.wantPT, tt.ok)
			}
		})
	}
}

func TestSeqNewer(t *testing.T) {
	for _, tt := range []struct {
		a, b uint16
		want bool
	}{{2, 1, true}, {1, 2, false}, {0, 65535, true}, {65535, 0, false}, {5, 5, false}} {
		if got := seqNewer(tt.a, tt.b); got != tt.want {
			t.Errorf("seqNewer(%d, %d) = %v", tt.a, tt.b, got)
		}
	}
}

// BenchmarkForward measures the hot path: one incoming packet parsed and written to 10 subscribers.
// It must not allocate.
func BenchmarkForward(b *testing.B) {
	for _, subs := range []int{1, 10, 100} {
		b.Run(map[int]string{1: "1sub", 10: "10subs", 100: "100subs"}[subs], func(b *testing.B) {
			r := testReceiver()
			w := &recordingWriter{discard: true}
			for i := 0; i < subs; i++ {
				boundDownTrack(b, r, webrtc.SSRC(i+1), 96, w)
			}
			pkt := &packet{}
			raw := vp8Packet(1, 1, true, true)
			l := r.layers[0].Load()
			now := time.Now().UnixNano()
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				raw[2], raw[3] = byte(i>>8), byte(i) // advance the sequence number
				if !pkt.parse(raw, codec.KindVP8) {
					b.Fatal("parse")
				}
				r.receive(l, pkt, now)
			}
		})
	}
}

func TestForwardAllocatesNothing(t *testing.T) {
	r := testReceiver()
	w := &recordingWriter{discard: true}
	for i := 0; i < 10; i++ {
		boundDownTrack(t, r, webrtc.SSRC(i+1), 96, w)
	}
	pkt := &packet{}
	raw := vp8Packet(1, 1, true, true)
	l := r.layers[0].Load()
	seq := uint16(1)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		raw[2], raw[3] = byte(seq>>8), byte(seq)
		pkt.parse(raw, codec.KindVP8)
		r.receive(l, pkt, time.Now().UnixNano())
	})
	if allocs != 0 {
		t.Fatalf("forwarding one packet to 10 subscribers allocates %.1f times", allocs)
	}
}

// FuzzPacketParse feeds arbitrary datagrams to the receiver's RTP parsing and forwarding: it must never
// panic, and a packet it accepts must have a payload inside the datagram.
func FuzzPacketParse(f *testing.F) {
	f.Add(vp8Packet(1, 1, true, true))
	f.Add(vp8Packet(2, 2, false, false))
	padded := rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, SequenceNumber: 3}, Payload: []byte{0x10, 0x00}, PaddingSize: 4}
	raw, _ := padded.Marshal()
	f.Add(raw)
	f.Add([]byte{0xa0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xff})
	r := testReceiver()
	boundDownTrack(f, r, 1, 96, &recordingWriter{discard: true})
	f.Fuzz(func(t *testing.T, datagram []byte) {
		pkt := &packet{}
		for _, kind := range []codec.Kind{codec.KindVP8, codec.KindH264, codec.KindVP9, codec.KindOther} {
			if !pkt.parse(datagram, kind) {
				continue
			}
			if len(pkt.payload) > len(datagram) {
				t.Fatalf("payload of %d bytes from a %d-byte datagram", len(pkt.payload), len(datagram))
			}
			r.receive(r.layers[0].Load(), pkt, time.Now().UnixNano())
		}
	})
}

// BenchmarkForwardSimulcast: one packet of each of three layers forwarded to 30 subscribers, ten per
// layer, after a switch so that every packet's VP8 picture id is rewritten (a payload copy).
func BenchmarkForwardSimulcast(b *testing.B) {
	r := testReceiver(qhf...)
	w := &recordingWriter{discard: true}
	var dts []*DownTrack
	for i := 0; i < 30; i++ {
		dts = append(dts, boundDownTrack(b, r, webrtc.SSRC(i+1), 96, w))
	}
	layers := []*synthLayer{
		{seq: 1, ts: 1, pic: 10, tl0: 1, perFrame: 1, keyEvery: 1},
		{seq: 1000, ts: 1, pic: 2000, tl0: 50, perFrame: 1, keyEvery: 1},
		{seq: 30000, ts: 1, pic: 9000, tl0: 90, perFrame: 1, keyEvery: 1},
	}
	pkt := &packet{spare: &packet{}}
	now := time.Now().UnixNano()
	// Everyone starts on q, then moves to its layer, so offsets are non-zero.
	for _, l := range layers {
		_ = l.nextFrame()
	}
	for i, l := range layers {
		for _, raw := range l.nextFrame() {
			pkt.layer = i
			pkt.parse(raw, codec.KindVP8)
			r.receive(r.layers[i].Load(), pkt, now)
		}
	}
	for i, dt := range dts {
		dt.setTarget(i % 3)
	}
	frames := make([][]byte, 3)
	for i, l := range layers {
		frames[i] = l.nextFrame()[0]
		pkt.layer = i
		pkt.parse(frames[i], codec.KindVP8)
		r.receive(r.layers[i].Load(), pkt, now)
	}
	for i, l := range layers { // delta frames from now on
		l.keyEvery = 1 << 30
		frames[i] = l.nextFrame()[0]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i, raw := range frames {
			seq := uint16(n) + uint16(i*10000)
			raw[2], raw[3] = byte(seq>>8), byte(seq)
			pkt.layer = i
			if !pkt.parse(raw, codec.KindVP8) {
				b.Fatal("parse")
			}
			r.receive(r.layers[i].Load(), pkt, now)
		}
	}
	b.StopTimer()
	if dts[1].current.Load() != 1 || dts[2].current.Load() != 2 {
		b.Fatalf("subscribers did not reach their layers: %d %d", dts[1].current.Load(), dts[2].current.Load())
	}
}

// TestDownTrackMemory measures what one subscriber's video track costs the SFU's heap (the forwarding
// state and NACK history; pion's own per-sender state is not counted) against the 100 KB budget.
func TestDownTrackMemory(t *testing.T) {
	r := testReceiver(qhf...)
	w := &recordingWriter{discard: true}
	const n = 500
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	dts := make([]*DownTrack, 0, n)
	shared := bwe.New(bwe.Config{Initial: 1_000_000}) // one per subscriber, not per track: measured apart
	for i := 0; i < n; i++ {
		dt := newDownTrack(r, 0, nil)
		dt.bwe = shared
		if _, err := dt.Bind(bindContext{ssrc: webrtc.SSRC(i + 1), codecs: []webrtc.RTPCodecParameters{vp8}, writer: w}); err != nil {
			t.Fatal(err)
		}
		r.attach(dt)
		dts = append(dts, dt)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("one subscriber video track: %.1f KB of heap", per/1024)
	if per > 100*1024 {
		t.Errorf("a subscriber video track costs %.0f bytes, over the 100 KB budget", per)
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	estimators := make([]*bwe.Estimator, 100)
	for i := range estimators {
		estimators[i] = bwe.New(bwe.Config{Initial: 1_000_000})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("one subscriber's bandwidth estimator (shared by its tracks): %.1f KB", float64(after.HeapAlloc-before.HeapAlloc)/100/1024)
	runtime.KeepAlive(estimators)
	runtime.KeepAlive(dts)
}
