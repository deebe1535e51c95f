package sfu

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/huddlehq/huddle/sfu/codec"
)

// RecordSink takes one track's packets for a recording, as one continuous stream of the best layer
// flowing (its numbering rewritten across layer switches, as a subscriber's would be). Its methods are
// called from the tap's own goroutine, never from the media path, so WriteRTP may do file I/O.
type RecordSink interface {
	// WriteRTP takes one packet; it must not keep p. An error ends the recording of the track.
	WriteRTP(p *rtp.Packet, arrival time.Time) error
	// NeedKeyframe reports whether the sink waits for a keyframe (the tap asks the publisher for one).
	NeedKeyframe() bool
}

// ErrRecordingTrack refuses a second recording of a track that is already being recorded.
var ErrRecordingTrack = errors.New("track is already being recorded")

// recordRingSize is how many packets the tap holds between the media path and the sink: about two
// seconds of a 2 Mbit/s layer, so a disk that stalls for a moment loses nothing.
const recordRingSize = 512

// recordLayerCheck is how often the tap re-picks the layer to record.
const recordLayerCheck = 500 * time.Millisecond

// RecordTap is one track being recorded. The media path copies the chosen layer's packets into a
// fixed ring (no allocation, no blocking: when the ring is full the packet is dropped and counted, and
// the sink sees the gap); the tap's goroutine hands them to the sink, asks for keyframes and re-picks
// the layer: the highest one flowing, so a publisher that stops its top layer is recorded from the next
// one down until it comes back.
//
// Locking: mu guards the forwarder and the ring's write side; the media path's layer readers take it
// for a copy. The ring's read side belongs to the tap's goroutine (run); head and tail are atomics
// between the two. Stop may be called from any goroutine, any number of times.
type RecordTap struct {
	rcv  *Receiver
	sink RecordSink

	mu   sync.Mutex
	fwd  forwarder
	ring [recordRingSize]recordSlot
	head atomic.Uint64 // next slot the media path writes
	tail atomic.Uint64 // next slot the tap's goroutine reads

	dropped atomic.Uint64 // packets lost because the ring was full
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	err     error // set by run before done closes
}

// recordSlot is one packet as the media path copied it, with its rewritten numbering.
type recordSlot struct {
	buf     [maxPacketSize]byte
	n       int
	seq     uint16
	ts      uint32
	pic     uint16
	tl0     uint8
	vp8     vp8Fields
	hasVP8  bool
	arrival int64
}

// Record starts recording one of the participant's published tracks into sink. The recording runs
// until Stop, until the track ends, or until the sink fails; Done tells when the sink is no longer
// called, after which the caller closes it.
func (p *Participant) Record(trackID string, sink RecordSink) (*RecordTap, error) {
	rcv, err := p.publishedReceiver("record", trackID)
	if err != nil {
		return nil, err
	}
	t := &RecordTap{
		rcv: rcv, sink: sink,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	t.fwd = newForwarder(rcv.codec.ClockRate, rcv.codecKind == codec.KindVP8, rcv.layerCount()-1)
	if !rcv.setTap(t) {
		return nil, fmt.Errorf("record %s: %w", trackID, ErrRecordingTrack)
	}
	go t.run()
	rcv.dynacast.update() // the top layer is wanted now
	return t, nil
}

// Stop ends the recording and waits until the sink is no longer called.
func (t *RecordTap) Stop() {
	t.once.Do(func() { close(t.stop) })
	<-t.done
}

// Done is closed when the recording ended (Stop, the track ended, or the sink failed).
func (t *RecordTap) Done() <-chan struct{} { return t.done }

// Err is the sink's error that ended the recording, if any; valid once Done is closed.
func (t *RecordTap) Err() error {
	<-t.done
	return t.err
}

// Dropped is how many packets the ring had no room for.
func (t *RecordTap) Dropped() uint64 { return t.dropped.Load() }

// offer runs on the media path for every packet of every layer of the track.
func (t *RecordTap) offer(pkt *packet, now int64) {
	t.mu.Lock()
	switch t.fwd.decide(pkt.layer, pkt.header.SequenceNumber, pkt.keyframe) {
	case drop:
		t.mu.Unlock()
		return
	case dropWantKey:
		t.mu.Unlock()
		t.rcv.requestKeyframe(pkt.layer)
		return
	case forwardStart:
		t.fwd.start(pkt.layer, pkt.header.SequenceNumber, pkt.header.Timestamp, pkt.vp8Fields(), now)
	}
	seq, ts, pic, tl0 := t.fwd.rewrite(pkt.header.SequenceNumber, pkt.header.Timestamp, pkt.header.Marker, pkt.vp8Fields(), now)
	head := t.head.Load()
	if head-t.tail.Load() >= recordRingSize {
		// Full: lose this packet, whose number is now a hole the sink sees as a loss, and start again
		// at a keyframe.
		t.fwd.restart()
		t.mu.Unlock()
		t.dropped.Add(1)
		return
	}
	s := &t.ring[head%recordRingSize]
	s.seq, s.ts, s.pic, s.tl0 = seq, ts, pic, tl0
	s.n = copy(s.buf[:], pkt.raw)
	s.hasVP8 = pkt.hasVP8
	s.vp8 = pkt.vp8
	s.arrival = now
	t.head.Store(head + 1)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// run is the tap's goroutine: it drains the ring into the sink until stopped.
func (t *RecordTap) run() {
	defer close(t.done)
	defer t.rcv.clearTap(t)
	var pkt rtp.Packet
	tick := time.NewTicker(recordLayerCheck)
	defer tick.Stop()
	rates := make([]int, maxLayers)
	for {
		select {
		case <-t.stop:
			t.err = t.drain(&pkt)
			return
		case <-t.rcv.ended:
			t.err = t.drain(&pkt)
			return
		case <-t.wake:
		case <-tick.C:
			t.pickLayer(rates)
		}
		if t.err = t.drain(&pkt); t.err != nil {
			return
		}
		if t.sink.NeedKeyframe() {
			t.mu.Lock()
			layer := t.fwd.current
			t.mu.Unlock()
			t.rcv.requestKeyframe(max(layer, 0))
		}
	}
}

// drain hands every queued packet to the sink.
func (t *RecordTap) drain(pkt *rtp.Packet) error {
	for tail := t.tail.Load(); tail != t.head.Load(); tail++ {
		s := &t.ring[tail%recordRingSize]
		err := pkt.Unmarshal(s.buf[:s.n])
		if err == nil {
			pkt.SequenceNumber, pkt.Timestamp = s.seq, s.ts
			if s.hasVP8 {
				writeVP8Fields(pkt.Payload, &s.vp8, s.pic, s.tl0)
			}
			err = t.sink.WriteRTP(pkt, time.Unix(0, s.arrival))
		}
		t.tail.Store(tail + 1)
		if err != nil {
			return fmt.Errorf("record %s: %w", t.rcv.info.ID, err)
		}
	}
	return nil
}

// pickLayer records the highest layer that is flowing (the top one when none measures yet).
func (t *RecordTap) pickLayer(rates []int) {
	top := t.rcv.layerCount() - 1
	if top == 0 {
		return
	}
	t.rcv.layerBitrates(rates)
	best := top
	for best > 0 && rates[best] == 0 {
		best--
	}
	if best == 0 && rates[0] == 0 {
		best = top // nothing measures: keep asking for the best
	}
	t.mu.Lock()
	changed := t.fwd.target != best
	if changed {
		t.fwd.setTarget(best)
	}
	t.mu.Unlock()
	if changed {
		t.rcv.requestKeyframe(best)
	}
}

// want is the layer the tap needs the publisher to send (dynacast): always the top one, so a layer
// the recording would use is not paused for want of subscribers.
func (t *RecordTap) want() int { return t.rcv.layerCount() - 1 }

// setTap installs t as the receiver's recording; false if one is installed already or the track ended.
func (r *Receiver) setTap(t *RecordTap) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return false
	}
	return r.tap.CompareAndSwap(nil, t)
}

// clearTap removes t (the tap's goroutine ends) and lets dynacast pause layers only it wanted.
func (r *Receiver) clearTap(t *RecordTap) {
	if r.tap.CompareAndSwap(t, nil) {
		r.dynacast.update()
	}
}
