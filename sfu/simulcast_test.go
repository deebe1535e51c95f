package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/huddlehq/huddle/sfu/codec"
)

// synthLayer generates one synthetic VP8 simulcast layer: its own SSRC, sequence numbers, timestamps,
// 15-bit PictureID and TL0PICIDX, all starting at arbitrary values, several packets per frame.
type synthLayer struct {
	seq      uint16
	ts       uint32
	pic      uint16
	tl0      uint8
	perFrame int // packets per frame
	keyEvery int // a keyframe every this many frames
	frame    int
}

// frame returns the raw packets of the layer's next frame (a keyframe every keyEvery frames).
func (l *synthLayer) nextFrame() [][]byte {
	key := l.frame%l.keyEvery == 0
	l.frame++
	l.pic = (l.pic + 1) & 0x7fff
	l.tl0++
	l.ts += 3000 // 30 fps at 90 kHz
	out := make([][]byte, 0, l.perFrame)
	for i := 0; i < l.perFrame; i++ {
		l.seq++
		desc := []byte{0x80, 0xe0, 0x80 | byte(l.pic>>8), byte(l.pic), l.tl0, 0x00} // X; I L T; M + 15-bit id; TL0PICIDX; TID 0
		if i == 0 {
			desc[0] |= 0x10 // S, partition 0
		}
		vp8hdr := byte(0x01) // inter frame
		if key {
			vp8hdr = 0x00
		}
		payload := append(desc, vp8hdr, 0xaa, 0xbb, byte(i))
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: l.seq, Timestamp: l.ts,
			SSRC: 7000, Marker: i == l.perFrame-1}, Payload: payload}
		raw, err := p.Marshal()
		if err != nil {
			panic(err)
		}
		out = append(out, raw)
	}
	return out
}

var qhf = []LayerSpec{{RID: "q", Width: 320, Height: 180}, {RID: "h", Width: 640, Height: 360}, {RID: "f", Width: 1280, Height: 720}}

// TestLayerSwitchRewrite drives a synthetic three-layer VP8 simulcast stream through one DownTrack
// switched q→f→h→q and checks what the subscriber's decoder sees: continuous sequence numbers,
// timestamps that never go back, PictureID and TL0PICIDX that go on by one per frame, a keyframe at every
// switch, and only packets of the layer it should be on.
func TestLayerSwitchRewrite(t *testing.T) {
	r := testReceiver(qhf...)
	w := &recordingWriter{}
	dt := boundDownTrack(t, r, 4242, 100, w)
	layers := []*synthLayer{
		{seq: 60000, ts: 4_000_000_000, pic: 32760, tl0: 250, perFrame: 1, keyEvery: 7},
		{seq: 100, ts: 12345, pic: 5, tl0: 9, perFrame: 2, keyEvery: 11},
		{seq: 30000, ts: 999, pic: 20000, tl0: 128, perFrame: 4, keyEvery: 13},
	}
	pkt := &packet{}
	type span struct{ layer, from int } // output packets from index `from` on belong to `layer`
	var spans []span
	plan := []struct {
		target int
		frames int
	}{{0, 20}, {2, 30}, {1, 30}, {0, 30}}
	for _, step := range plan {
		dt.setTarget(step.target)
		switchedAt := -1
		for f := 0; f < step.frames; f++ {
			for i, l := range layers { // the layers' packets interleave, as they arrive from the network
				for _, raw := range l.nextFrame() {
					before := len(w.headers)
					feed(t, r, pkt, i, raw)
					if len(w.headers) > before && i == step.target && switchedAt < 0 {
						switchedAt = before
					}
				}
			}
		}
		if switchedAt < 0 {
			t.Fatalf("never switched to layer %d", step.target)
		}
		spans = append(spans, span{step.target, switchedAt})
	}

	// Which layer each output packet came from: the payload's last byte is the packet index in its frame,
	// and the layers differ in packets per frame, so check through the size of each output frame instead.
	for i, s := range spans {
		if !codec.IsKeyframe(codec.KindVP8, w.payloads[s.from]) {
			t.Errorf("switch %d to layer %d did not start on a keyframe", i, s.layer)
		}
		end := len(w.headers)
		if i+1 < len(spans) {
			end = spans[i+1].from
		}
		// Frames of a span all have the layer's packet count: count packets between markers.
		n := 0
		for j := s.from; j < end; j++ {
			n++
			if w.headers[j].Marker {
				if n != layers[s.layer].perFrame {
					t.Errorf("switch %d: a %d-packet frame among layer %d's %d-packet frames", i, n, s.layer, layers[s.layer].perFrame)
				}
				n = 0
			}
		}
		if n != 0 && n != layers[s.layer].perFrame && end == len(w.headers) {
			t.Errorf("switch %d: trailing partial frame of %d packets", i, n)
		}
	}

	var lastPic uint16
	var lastTL0 uint8
	for i, h := range w.headers {
		d, err := codec.ParseVP8Descriptor(w.payloads[i])
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if h.SSRC != 4242 || h.PayloadType != 100 {
			t.Fatalf("packet %d: ssrc %d pt %d", i, h.SSRC, h.PayloadType)
		}
		if i == 0 {
			lastPic, lastTL0 = d.PictureID, d.TL0PICIDX
			continue
		}
		prev := w.headers[i-1]
		if h.SequenceNumber != prev.SequenceNumber+1 {
			t.Errorf("packet %d: sequence %d after %d", i, h.SequenceNumber, prev.SequenceNumber)
		}
		if int32(h.Timestamp-prev.Timestamp) < 0 {
			t.Errorf("packet %d: timestamp went back %d → %d", i, prev.Timestamp, h.Timestamp)
		}
		if d.Start { // first packet of a new frame
			if h.Timestamp == prev.Timestamp {
				t.Errorf("packet %d: a new frame with the previous frame's timestamp", i)
			}
			if want := (lastPic + 1) & 0x7fff; d.PictureID != want {
				t.Errorf("packet %d: PictureID %d, want %d", i, d.PictureID, want)
			}
			if want := lastTL0 + 1; d.TL0PICIDX != want {
				t.Errorf("packet %d: TL0PICIDX %d, want %d", i, d.TL0PICIDX, want)
			}
			lastPic, lastTL0 = d.PictureID, d.TL0PICIDX
		} else if d.PictureID != lastPic || d.TL0PICIDX != lastTL0 {
			t.Errorf("packet %d: PictureID/TL0PICIDX changed inside a frame", i)
		}
	}
	if len(w.headers) < 100 {
		t.Fatalf("only %d packets forwarded", len(w.headers))
	}
}

// TestPausedForwardsNothingAndResumesOnKeyframe: a paused DownTrack sends nothing; resumed, it starts on a
// keyframe with numbering continuous from before the pause.
func TestPausedForwardsNothingAndResumesOnKeyframe(t *testing.T) {
	r := testReceiver(qhf...)
	w := &recordingWriter{}
	dt := boundDownTrack(t, r, 1, 96, w)
	l := &synthLayer{seq: 1, ts: 1, pic: 1, perFrame: 2, keyEvery: 5}
	pkt := &packet{}
	run := func(frames int) {
		for f := 0; f < frames; f++ {
			for _, raw := range l.nextFrame() {
				feed(t, r, pkt, 0, raw)
			}
		}
	}
	run(6)
	sent := len(w.headers)
	if sent == 0 {
		t.Fatal("nothing forwarded before the pause")
	}
	dt.setTarget(noLayer)
	run(10)
	if len(w.headers) != sent {
		t.Fatalf("%d packets forwarded while paused", len(w.headers)-sent)
	}
	dt.setTarget(0)
	run(10)
	if len(w.headers) == sent {
		t.Fatal("nothing forwarded after resuming")
	}
	if !codec.IsKeyframe(codec.KindVP8, w.payloads[sent]) {
		t.Error("resumed on a delta frame")
	}
	if got, want := w.headers[sent].SequenceNumber, w.headers[sent-1].SequenceNumber+1; got != want {
		t.Errorf("resumed at sequence %d, want %d", got, want)
	}
}

// TestNACKAnsweredFromCache: a subscriber's NACK for a rewritten sequence number is answered with the
// publisher's packet from the shared cache, rewritten exactly as it was the first time.
func TestNACKAnsweredFromCache(t *testing.T) {
	r := testReceiver(qhf...)
	w := &recordingWriter{}
	dt := boundDownTrack(t, r, 77, 96, w)
	dt.setTarget(1)
	l := &synthLayer{seq: 500, ts: 1, pic: 300, tl0: 3, perFrame: 3, keyEvery: 10}
	other := &synthLayer{seq: 9, ts: 1, pic: 1, perFrame: 1, keyEvery: 10}
	pkt := &packet{}
	for f := 0; f < 12; f++ {
		for _, raw := range other.nextFrame() {
			feed(t, r, pkt, 0, raw)
		}
		for _, raw := range l.nextFrame() {
			feed(t, r, pkt, 1, raw)
		}
	}
	if len(w.headers) < 10 {
		t.Fatalf("only %d packets forwarded", len(w.headers))
	}
	lost := []int{2, 5, 6}
	var rtx retransmitter
	for _, i := range lost {
		dt.retransmit(&rtx, w.headers[i].SequenceNumber)
	}
	dt.retransmit(&rtx, w.headers[len(w.headers)-1].SequenceNumber+100) // never sent: ignored
	if rtx.answer != len(lost) {
		t.Fatalf("answered %d NACKed packets, want %d", rtx.answer, len(lost))
	}
	resent := w.headers[len(w.headers)-len(lost):]
	resentPayloads := w.payloads[len(w.payloads)-len(lost):]
	for k, i := range lost {
		orig, again := w.headers[i], resent[k]
		if again.SequenceNumber != orig.SequenceNumber || again.Timestamp != orig.Timestamp || again.SSRC != orig.SSRC {
			t.Errorf("resent %d: seq/ts/ssrc %d/%d/%d, originally %d/%d/%d", i, again.SequenceNumber, again.Timestamp, again.SSRC,
				orig.SequenceNumber, orig.Timestamp, orig.SSRC)
		}
		if string(resentPayloads[k]) != string(w.payloads[i]) {
			t.Errorf("resent %d: payload differs from the original (picture id not rewritten the same way?)", i)
		}
	}
	if got := r.counters.retransmitted.Load(); got != uint64(len(lost)) {
		t.Errorf("retransmitted counter %d, want %d", got, len(lost))
	}
}

// TestSenderReportUsesPublisherClock: the SR a subscriber gets maps its timestamps onto the publisher's
// NTP clock through the same offset as the packets.
func TestSenderReportUsesPublisherClock(t *testing.T) {
	r := testReceiver()
	w := &recordingWriter{}
	dt := boundDownTrack(t, r, 5, 96, w)
	l := &synthLayer{seq: 1, ts: 1_000_000, pic: 1, perFrame: 1, keyEvery: 100}
	pkt := &packet{}
	feed(t, r, pkt, 0, l.nextFrame()[0])
	now := time.Now()
	if sr := dt.senderReport(now); sr != nil {
		t.Fatal("a sender report without the publisher's")
	}
	r.layers[0].Load().sr.Store(&senderReport{ntp: 0xAAAA_0000_0000_0000, rtp: l.ts, arrived: now.UnixNano()})
	sr := dt.senderReport(now)
	if sr == nil {
		t.Fatal("no sender report")
	}
	if sr.SSRC != 5 || sr.NTPTime != 0xAAAA_0000_0000_0000 || sr.RTPTime != w.headers[0].Timestamp || sr.PacketCount != 1 {
		t.Errorf("sender report %+v; want ssrc 5, the publisher's NTP time, RTP %d, 1 packet", sr, w.headers[0].Timestamp)
	}
	var _ rtcp.Packet = sr
}

// TestLatePacketOfNewLayerDropped: after a switch, a reordered packet of the new layer from before its
// keyframe would map onto a sequence number already used; it must be dropped.
func TestLatePacketOfNewLayerDropped(t *testing.T) {
	r := testReceiver(qhf...)
	w := &recordingWriter{}
	dt := boundDownTrack(t, r, 1, 96, w)
	q := &synthLayer{seq: 10, ts: 1, pic: 1, perFrame: 1, keyEvery: 100}
	h := &synthLayer{seq: 5000, ts: 1, pic: 1, perFrame: 2, keyEvery: 3}
	pkt := &packet{}
	for f := 0; f < 3; f++ {
		feed(t, r, pkt, 0, q.nextFrame()[0])
	}
	dt.setTarget(1)
	h.frame = 1 // the next h frame is a delta frame
	delta := h.nextFrame()
	delta2 := h.nextFrame()
	key := h.nextFrame()
	for _, raw := range delta {
		feed(t, r, pkt, 1, raw)
	}
	for _, raw := range key { // delta2 is still in flight: the switch happens here
		feed(t, r, pkt, 1, raw)
	}
	sent := len(w.headers)
	for _, raw := range delta2 { // arrives late
		feed(t, r, pkt, 1, raw)
	}
	if len(w.headers) != sent {
		t.Fatalf("a packet older than the switch keyframe was forwarded (sequence %d reused?)", w.headers[sent].SequenceNumber)
	}
}

// TestNewSubscriberGetsStoredKeyframe: a subscriber that joins between keyframes is sent the layer's
// last keyframe at once (a picture instead of black), then nothing until the live keyframe it asked for,
// with numbering continuous across the two.
func TestNewSubscriberGetsStoredKeyframe(t *testing.T) {
	r := testReceiver(qhf...)
	l := &synthLayer{seq: 100, ts: 1, pic: 1, tl0: 1, perFrame: 3, keyEvery: 10}
	pkt := &packet{}
	for f := 0; f < 4; f++ { // a keyframe and three delta frames, before anyone subscribes
		for _, raw := range l.nextFrame() {
			feed(t, r, pkt, 0, raw)
		}
	}
	w := &recordingWriter{}
	boundDownTrack(t, r, 9, 96, w)
	for f := 0; f < 10; f++ { // six more delta frames, then the next keyframe
		for _, raw := range l.nextFrame() {
			feed(t, r, pkt, 0, raw)
		}
	}
	if len(w.headers) < 6 {
		t.Fatalf("forwarded %d packets", len(w.headers))
	}
	if !codec.IsKeyframe(codec.KindVP8, w.payloads[0]) || !w.headers[2].Marker {
		t.Fatal("the new subscriber did not start with the stored 3-packet keyframe")
	}
	if w.headers[0].Timestamp != 3001 {
		t.Errorf("stored keyframe has timestamp %d, want the original 3001", w.headers[0].Timestamp)
	}
	if !codec.IsKeyframe(codec.KindVP8, w.payloads[3]) {
		t.Fatal("after the stored keyframe, delta frames were forwarded before the live keyframe")
	}
	for i := 1; i < len(w.headers); i++ {
		if w.headers[i].SequenceNumber != w.headers[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: sequence %d after %d", i, w.headers[i].SequenceNumber, w.headers[i-1].SequenceNumber)
		}
	}
	if got := r.counters.packetsOut.Load(); got != uint64(len(w.headers)) {
		t.Errorf("packets-out counter %d, %d packets written (the stored keyframe must count)", got, len(w.headers))
	}
	d0, _ := codec.ParseVP8Descriptor(w.payloads[0])
	d3, _ := codec.ParseVP8Descriptor(w.payloads[3])
	if d3.PictureID != d0.PictureID+1 {
		t.Errorf("live keyframe PictureID %d after stored %d", d3.PictureID, d0.PictureID)
	}
}

// FuzzVP8Descriptor feeds arbitrary payloads to the VP8 payload descriptor parser and the picture-id
// rewriter: never a panic, offsets always inside the payload, and a rewrite reads back as written.
func FuzzVP8Descriptor(f *testing.F) {
	f.Add([]byte{0x90, 0xe0, 0x81, 0x23, 0x05, 0x20, 0x00})
	f.Add([]byte{0x90, 0x80, 0x12, 0x00})
	f.Add([]byte{0x80, 0x40, 0x07})
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, payload []byte) {
		var v vp8Fields
		if !v.parse(payload) {
			return
		}
		if v.picOffset < 0 || v.picOffset+1 > len(payload) || (v.pic16 && v.picOffset+2 > len(payload)) || v.tl0Offset >= len(payload) {
			t.Fatalf("offsets %+v outside a %d-byte payload", v, len(payload))
		}
		buf := append([]byte(nil), payload...)
		pic, tl0 := v.pic+1, v.tl0+1
		if !v.pic16 {
			pic &= 0x7f
		}
		writeVP8Fields(buf, &v, pic&0x7fff, tl0)
		var back vp8Fields
		if !back.parse(buf) {
			t.Fatal("rewritten descriptor no longer parses")
		}
		if v.picOffset != 0 && back.pic != pic&0x7fff {
			t.Fatalf("PictureID %d written, %d read back", pic, back.pic)
		}
		if v.tl0Offset != 0 && back.tl0 != tl0 {
			t.Fatalf("TL0PICIDX %d written, %d read back", tl0, back.tl0)
		}
	})
}

// h264Frame builds one H.264 frame as single-NAL-unit packets: an IDR slice (type 5) for keyframes.
func h264Frame(seq *uint16, ts uint32, packets int, key bool) [][]byte {
	out := make([][]byte, 0, packets)
	for i := 0; i < packets; i++ {
		*seq++
		nal := byte(0x61) // non-IDR slice
		if key && i == 0 {
			nal = 0x65
		}
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: *seq, Timestamp: ts, Marker: i == packets-1},
			Payload: []byte{nal, 0x88, byte(i)}}
		raw, _ := p.Marshal()
		out = append(out, raw)
	}
	return out
}

// TestH264LayerSwitch: H.264 simulcast switches on IDR frames with continuous numbering too.
func TestH264LayerSwitch(t *testing.T) {
	r := testReceiver(qhf...)
	r.codecKind = codec.KindH264
	w := &recordingWriter{}
	dt := boundDownTrack(t, r, 3, 102, w)
	seqs := []uint16{100, 40000, 65500}
	tss := []uint32{1, 500_000, 4_294_000_000}
	pkt := &packet{}
	for step, target := range []int{0, 2, 1} {
		dt.setTarget(target)
		for f := 0; f < 12; f++ {
			for layer := range seqs {
				tss[layer] += 3000
				key := (f+layer+step)%5 == 0
				for _, raw := range h264Frame(&seqs[layer], tss[layer], layer+1, key) {
					feed(t, r, pkt, layer, raw)
				}
			}
		}
	}
	if len(w.headers) < 30 {
		t.Fatalf("forwarded only %d packets", len(w.headers))
	}
	for i := 1; i < len(w.headers); i++ {
		if w.headers[i].SequenceNumber != w.headers[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: sequence %d after %d", i, w.headers[i].SequenceNumber, w.headers[i-1].SequenceNumber)
		}
		if int32(w.headers[i].Timestamp-w.headers[i-1].Timestamp) < 0 {
			t.Errorf("packet %d: timestamp went back", i)
		}
	}
	// Frames are layer+1 packets long; the frame length may only change at an IDR frame (a switch).
	frameLen, start, lastLen, switches := 0, 0, 0, 0
	for i, h := range w.headers {
		frameLen++
		if !h.Marker {
			continue
		}
		if lastLen != 0 && frameLen != lastLen {
			if w.payloads[start][0] != 0x65 {
				t.Errorf("frame at packet %d: layer changed from %d- to %d-packet frames without an IDR", start, lastLen, frameLen)
			}
			switches++
		}
		lastLen, frameLen, start = frameLen, 0, i+1
	}
	if !codec.IsKeyframe(codec.KindH264, w.payloads[0]) || switches != 2 {
		t.Errorf("want a start on an IDR and two switches q→f→h, saw %d switches", switches)
	}
}

// TestBlockedTrackForwardsNothing: a moderator's block stops forwarding at once; unblocking resumes on a
// keyframe.
func TestBlockedTrackForwardsNothing(t *testing.T) {
	r := testReceiver()
	w := &recordingWriter{}
	boundDownTrack(t, r, 1, 96, w)
	l := &synthLayer{seq: 1, ts: 1, pic: 1, perFrame: 2, keyEvery: 4}
	pkt := &packet{}
	run := func(frames int) {
		for f := 0; f < frames; f++ {
			for _, raw := range l.nextFrame() {
				feed(t, r, pkt, 0, raw)
			}
		}
	}
	run(2)
	sent := len(w.headers)
	r.blocked.Store(true)
	run(6)
	if len(w.headers) != sent {
		t.Fatalf("%d packets forwarded while blocked", len(w.headers)-sent)
	}
	r.blocked.Store(false)
	r.restartDownTracks()
	run(6)
	if len(w.headers) == sent || !codec.IsKeyframe(codec.KindVP8, w.payloads[sent]) {
		t.Fatal("unblocked track did not resume on a keyframe")
	}
}
