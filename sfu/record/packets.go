package record

import (
	"time"

	"github.com/pion/rtp"
)

const (
	// oldWindow: a packet up to this many sequence numbers behind the newest one the builder already let go
	// is a late duplicate or a retransmission that came too late. Pushing it would move the builder's head
	// back and could make it emit a stale frame, so it is dropped. Farther behind counts as a jump.
	oldWindow = 0x2000
	// maxOldRun: this many "old" packets in a row mean the stream jumped back for good (a restarted
	// sender): forget the history instead of dropping the new stream forever.
	maxOldRun = 1000
	// maxFree bounds the recycled packets kept after a burst.
	maxFree = 4096
)

// packetGuard copies packets for the sample builder (which keeps them until it releases them) into
// recycled buffers, and filters what the builder handles badly: a sequence number it still holds
// (it would overwrite the slot and never release the first copy) and packets behind what it let go.
type packetGuard struct {
	free     []*rtp.Packet
	held     []uint64 // bitset over sequence numbers currently in the builder
	released bool     // next is valid
	next     uint16   // sequence number after the newest packet the builder released
	oldRun   int
}

func (g *packetGuard) init() {
	g.held = make([]uint64, (1<<16)/64)
}

func (g *packetGuard) isHeld(seq uint16) bool { return g.held[seq>>6]&(1<<(seq&63)) != 0 }

// admit returns a private copy of p to push, or nil if p must not reach the builder.
func (g *packetGuard) admit(p *rtp.Packet) *rtp.Packet {
	seq := p.SequenceNumber
	if g.isHeld(seq) {
		return nil
	}
	if g.released {
		if behind := g.next - seq; behind != 0 && behind <= oldWindow {
			g.oldRun++
			if g.oldRun < maxOldRun {
				return nil
			}
			g.released = false
		}
	}
	g.oldRun = 0

	var pkt *rtp.Packet
	if n := len(g.free); n > 0 {
		pkt, g.free = g.free[n-1], g.free[:n-1]
	} else {
		pkt = &rtp.Packet{Payload: make([]byte, 0, 1500)}
	}
	// Only what the builder and depacketizer read; CSRC and extension slices would alias the caller's memory.
	pkt.Header = rtp.Header{
		Version:        2,
		Marker:         p.Marker,
		PayloadType:    p.PayloadType,
		SequenceNumber: seq,
		Timestamp:      p.Timestamp,
		SSRC:           p.SSRC,
	}
	pkt.Payload = append(pkt.Payload[:0], p.Payload...)
	g.held[seq>>6] |= 1 << (seq & 63)
	return pkt
}

// release is the builder's packet release handler: the builder holds no reference to p any more.
func (g *packetGuard) release(p *rtp.Packet) {
	seq := p.SequenceNumber
	g.held[seq>>6] &^= 1 << (seq & 63)
	if next := seq + 1; !g.released || int16(next-g.next) > 0 {
		g.next, g.released = next, true
	}
	if len(g.free) < maxFree {
		g.free = append(g.free, p)
	}
}

// depacketizer wraps the codec's depacketizer so that the sample builder copes with two things:
//   - padding-only packets (empty payload after the RTP padding is stripped) become empty frames of their
//     own instead of "dropped packets" that would look like loss;
//   - a payload the codec cannot parse makes the builder silently skip that frame, so it is flagged here
//     and counted as a loss (the next frame may reference the skipped one).
type depacketizer struct {
	inner  rtp.Depacketizer
	failed bool
}

func (d *depacketizer) Unmarshal(payload []byte) ([]byte, error) {
	if len(payload) == 0 {
		return nil, nil
	}
	out, err := d.inner.Unmarshal(payload)
	if err != nil {
		d.failed = true
	}
	return out, err
}

func (d *depacketizer) IsPartitionHead(payload []byte) bool {
	return len(payload) == 0 || d.inner.IsPartitionHead(payload)
}

func (d *depacketizer) IsPartitionTail(marker bool, payload []byte) bool {
	return len(payload) == 0 || d.inner.IsPartitionTail(marker, payload)
}

// arrivalRing remembers when the first packet of each recent RTP timestamp arrived, until the first frame
// is written: the builder hands out frames later than they arrived, and FirstFrame is what a caller lines
// the files of one participant up with.
type arrivalRing struct {
	ts    [64]uint32
	at    [64]time.Time
	n     int
	first time.Time // arrival of the first written frame
}

func (r *arrivalRing) note(ts uint32, at time.Time) {
	for i := 0; i < r.n && i < len(r.ts); i++ {
		if r.ts[i] == ts {
			if at.Before(r.at[i]) {
				r.at[i] = at
			}
			return
		}
	}
	i := r.n % len(r.ts)
	r.ts[i], r.at[i] = ts, at
	r.n++
}

func (r *arrivalRing) lookup(ts uint32) (time.Time, bool) {
	for i := 0; i < r.n && i < len(r.ts); i++ {
		if r.ts[i] == ts {
			return r.at[i], true
		}
	}
	return time.Time{}, false
}
