package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/huddlehq/huddle/sfu/codec"
)

// collectingSink keeps what a recording receives; block makes WriteRTP wait (a stalled disk).
type collectingSink struct {
	mu    sync.Mutex
	pkts  []rtp.Header
	keys  []bool // the packet starts a keyframe
	last  []byte // the payload's last byte
	block chan struct{}
}

func (s *collectingSink) WriteRTP(p *rtp.Packet, _ time.Time) error {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pkts = append(s.pkts, p.Header.Clone())
	s.keys = append(s.keys, codec.IsKeyframe(codec.KindVP8, p.Payload))
	s.last = append(s.last, p.Payload[len(p.Payload)-1])
	return nil
}

func (s *collectingSink) NeedKeyframe() bool { return false }

func (s *collectingSink) snapshot() ([]rtp.Header, []bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]rtp.Header(nil), s.pkts...), append([]bool(nil), s.keys...)
}

// startTap installs a recording on r as Participant.Record does.
func startTap(t *testing.T, r *Receiver, sink RecordSink) *RecordTap {
	t.Helper()
	tap := &RecordTap{rcv: r, sink: sink, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	tap.fwd = newForwarder(90000, true, r.layerCount()-1)
	if !r.setTap(tap) {
		t.Fatal("setTap refused")
	}
	go tap.run()
	t.Cleanup(tap.Stop)
	return tap
}

// TestRecordTapFollowsBestLayer: a three-layer track is recorded from its top layer, starting on a
// keyframe; when the publisher stops the top layer the recording moves to the next one down at its
// keyframe, and the stream the sink sees stays one stream: sequence numbers go on by one and
// timestamps never go back. Stopping the tap ends it and the receiver forwards no more to it.
func TestRecordTapFollowsBestLayer(t *testing.T) {
	r := testReceiver(qhf...)
	sink := &collectingSink{}
	tap := startTap(t, r, sink)
	if got := r.dynacast.wanted(); got != 2 {
		t.Errorf("dynacast wants layer %d with a recording, want 2 (the top)", got)
	}
	layers := []*synthLayer{
		{seq: 100, ts: 1000, pic: 10, perFrame: 2, keyEvery: 10},
		{seq: 5000, ts: 77000, pic: 300, perFrame: 3, keyEvery: 10},
		{seq: 60000, ts: 1 << 31, pic: 32000, perFrame: 4, keyEvery: 10},
	}
	pkt := &packet{}
	send := func(upTo int) {
		for i := 0; i <= upTo; i++ {
			for _, raw := range layers[i].nextFrame() {
				feed(t, r, pkt, i, raw)
			}
		}
	}
	for range 20 {
		send(2)
	}
	// The top layer stops; the tap notices when it measures silent (a second) and moves down. The
	// wait is bounded by what the test feeds, not by the clock: frames go on until the move is seen.
	var moved bool
	deadline := time.Now().Add(30 * time.Second)
	for !moved && time.Now().Before(deadline) {
		send(1)
		time.Sleep(30 * time.Millisecond)
		moved = middleLayerFrames(sink) > 0
	}
	tap.Stop()
	hdrs, keys := sink.snapshot()
	if len(hdrs) == 0 || !keys[0] {
		t.Fatalf("recording got %d packets; the first must start a keyframe", len(hdrs))
	}
	for i := 1; i < len(hdrs); i++ {
		if hdrs[i].SequenceNumber != hdrs[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, hdrs[i].SequenceNumber, hdrs[i-1].SequenceNumber)
		}
		if d := hdrs[i].Timestamp - hdrs[i-1].Timestamp; d >= 1<<31 {
			t.Fatalf("packet %d: timestamp went back (%d after %d)", i, hdrs[i].Timestamp, hdrs[i-1].Timestamp)
		}
	}
	if !moved {
		t.Fatalf("the recording did not move to the middle layer after the top one stopped (%d packets)", len(hdrs))
	}
	if r.tap.Load() != nil {
		t.Error("the receiver still holds the stopped tap")
	}
	if got := r.dynacast.wanted(); got != 0 {
		t.Errorf("dynacast wants layer %d once the recording stopped, want 0", got)
	}
}

// middleLayerFrames counts the recorded frames of the middle layer: synthLayer ends each packet's
// payload with its index in the frame, and only the middle layer's frames end on index 2.
func middleLayerFrames(s *collectingSink) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i, h := range s.pkts {
		if h.Marker && s.last[i] == 2 {
			n++
		}
	}
	return n
}

// TestRecordTapNeverBlocksTheMediaPath: with the sink stalled, forwarding goes on (the subscriber
// gets every packet) and the tap drops what its ring cannot hold; after the stall the sink gets what
// the ring kept, then a hole in the numbering (a number per packet lost), then a keyframe.
func TestRecordTapNeverBlocksTheMediaPath(t *testing.T) {
	r := testReceiver()
	w := &recordingWriter{}
	boundDownTrack(t, r, 1, 96, w)
	sink := &collectingSink{block: make(chan struct{})}
	tap := startTap(t, r, sink)
	layer := &synthLayer{seq: 1, ts: 1, perFrame: 4, keyEvery: 10}
	pkt := &packet{}
	const frames = 400 // 1600 packets, over three times the ring
	for range frames {
		for _, raw := range layer.nextFrame() {
			feed(t, r, pkt, 0, raw)
		}
	}
	if len(w.headers) != frames*4 {
		t.Errorf("subscriber got %d packets while the recording stalled, want %d", len(w.headers), frames*4)
	}
	if tap.Dropped() == 0 {
		t.Error("nothing dropped although the sink stalled for three times the ring")
	}
	close(sink.block)
	// The tap's goroutine drains the ring at its own pace: on a busy machine it may not have run yet,
	// and packets offered while the ring is still full are dropped by design. Wait for the drain.
	for deadline := time.Now().Add(10 * time.Second); tap.tail.Load() != tap.head.Load(); {
		if time.Now().After(deadline) {
			t.Fatalf("the ring did not drain after the stall (%d of %d read)", tap.tail.Load(), tap.head.Load())
		}
		time.Sleep(time.Millisecond)
	}
	for range 20 {
		for _, raw := range layer.nextFrame() {
			feed(t, r, pkt, 0, raw)
		}
	}
	tap.Stop()
	hdrs, keys := sink.snapshot()
	if len(hdrs) <= recordRingSize {
		t.Fatalf("sink got %d packets, want the ring's %d and more after the stall", len(hdrs), recordRingSize)
	}
	hole := 0
	for i := 1; i < len(hdrs); i++ {
		if d := hdrs[i].SequenceNumber - hdrs[i-1].SequenceNumber; d != 1 {
			hole++
			if d >= 1<<15 || !keys[i] {
				t.Errorf("packet %d: sequence %d after %d (keyframe %v); want numbers skipped, then a keyframe",
					i, hdrs[i].SequenceNumber, hdrs[i-1].SequenceNumber, keys[i])
			}
		}
	}
	if hole != 1 {
		t.Errorf("%d holes in the recorded numbering, want 1 (the stall)", hole)
	}
}

// TestRecordTapEndsWithTrack: closing the receiver (the track was unpublished) ends the recording.
func TestRecordTapEndsWithTrack(t *testing.T) {
	r := testReceiver()
	tap := startTap(t, r, &collectingSink{})
	r.close()
	select {
	case <-tap.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the recording did not end with its track")
	}
	if err := tap.Err(); err != nil {
		t.Errorf("ended with %v", err)
	}
	if r.setTap(&RecordTap{}) {
		t.Error("a closed track accepted a recording")
	}
}

// BenchmarkForwardWithRecording is BenchmarkForward's packet path with a recording attached.
func BenchmarkForwardWithRecording(b *testing.B) {
	r := testReceiver()
	tap := &RecordTap{rcv: r, sink: &collectingSink{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	tap.fwd = newForwarder(90000, true, 0)
	r.setTap(tap)
	pkt := &packet{}
	raw := vp8Packet(1, 1, true, true)
	l := r.layers[0].Load()
	b.ReportAllocs()
	seq := uint16(1)
	for b.Loop() {
		seq++
		raw[2], raw[3] = byte(seq>>8), byte(seq)
		pkt.parse(raw, codec.KindVP8)
		r.receive(l, pkt, time.Now().UnixNano())
		tap.tail.Store(tap.head.Load()) // nobody drains in this benchmark: keep the ring empty
	}
}
