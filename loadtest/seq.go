package loadtest

import "math/bits"

// seqWindow tracks which RTP sequence numbers of one stream arrived, to count the ones that never did
// (loss after retransmission: a NACKed packet that the SFU resent fills its hole). It remembers the last
// seqWindowSize numbers in a ring of bits; a number that leaves the ring unset is lost for good, and a
// packet older than the ring (later than any retransmission could be) is counted as too late, not as a
// fill. No allocation: it is updated on every packet.
//
// Not safe for concurrent use: the meter that owns it serializes access.
type seqWindow struct {
	bits    [seqWindowSize / 64]uint64
	started bool
	base    int64 // first extended sequence number seen
	highest int64 // highest extended sequence number seen
	lost    int64 // numbers that left the ring unset
	dups    int64 // numbers received twice
	late    int64 // numbers older than the ring
}

// seqWindowSize is how far back a retransmission may still fill a hole: at 300 packets a second (a
// 2 Mbps layer) that is over 3 s, far beyond any NACK round trip on one host.
const seqWindowSize = 1024

// maxSeqJump bounds the work one packet can cause: a forward jump beyond the ring clears it at once.
const maxSeqJump = seqWindowSize

func (w *seqWindow) bit(s int64) (word int, mask uint64) {
	i := int(uint64(s) % seqWindowSize)
	return i / 64, 1 << (i % 64)
}

// span is the part of the ring's word that holds the numbers from s on, up to to: the word, the mask
// of their bits, and how many numbers that is. The ring is walked a word at a time, so a jump costs
// at most seqWindowSize/64 steps, not one per number.
func span(s, to int64) (word int, mask uint64, n int64) {
	i := uint64(s) % seqWindowSize
	bit := i % 64
	n = min(int64(64-bit), to-s+1)
	return int(i / 64), (^uint64(0) >> (64 - uint64(n))) << bit, n
}

// unsetIn counts the unset numbers in [from, to], a range no longer than the ring.
func (w *seqWindow) unsetIn(from, to int64) int64 {
	var unset int64
	for s := from; s <= to; {
		word, mask, n := span(s, to)
		unset += int64(bits.OnesCount64(^w.bits[word] & mask))
		s += n
	}
	return unset
}

// clear unsets the numbers in [from, to], a range no longer than the ring.
func (w *seqWindow) clear(from, to int64) {
	for s := from; s <= to; {
		word, mask, n := span(s, to)
		w.bits[word] &^= mask
		s += n
	}
}

// add records one received sequence number.
func (w *seqWindow) add(seq uint16) {
	if !w.started {
		w.started = true
		w.base, w.highest = int64(seq)+1<<32, int64(seq)+1<<32 // room below for reordering
		word, mask := w.bit(w.highest)
		w.bits[word] |= mask
		return
	}
	// Extend to 64 bits relative to the highest seen (RFC 3550 A.1): a step within ±32768 is the nearest.
	s := w.highest + int64(int16(seq-uint16(w.highest)))
	switch {
	case s > w.highest:
		jump := s - w.highest
		if jump > maxSeqJump {
			// Everything in the ring leaves it; what was unset there, and every number jumped over beyond
			// the ring, is lost.
			w.lost += w.missingIn(w.highest-seqWindowSize+1, w.highest) + jump - seqWindowSize
			w.bits = [seqWindowSize / 64]uint64{}
		} else {
			// Each n in (highest, s] takes the slot of n-seqWindowSize, which leaves the ring: those
			// numbers (from base on) that never arrived are lost.
			if from, to := max(w.highest+1-seqWindowSize, w.base), s-seqWindowSize; from <= to {
				w.lost += w.unsetIn(from, to)
			}
			w.clear(w.highest+1, s)
		}
		w.highest = s
		word, mask := w.bit(s)
		w.bits[word] |= mask
	case s > w.highest-seqWindowSize && s >= w.base:
		word, mask := w.bit(s)
		if w.bits[word]&mask != 0 {
			w.dups++
		}
		w.bits[word] |= mask
	case s > w.highest-seqWindowSize:
		// Reordered before the first packet we saw: the stream started earlier. The slots between s and
		// the old base were never set (their numbers are new to the ring), so they count as holes.
		w.base = s
		word, mask := w.bit(s)
		w.bits[word] |= mask
	default:
		w.late++
	}
}

// missingIn counts unset numbers in [from, to] that are within the ring and not before base.
func (w *seqWindow) missingIn(from, to int64) int64 {
	from = max(from, w.base, w.highest-seqWindowSize+1)
	if from > to {
		return 0
	}
	return w.unsetIn(from, to)
}

// counts returns the numbers expected (first to highest, minus the newest tail, which retransmissions may
// still fill) and how many of them never arrived.
func (w *seqWindow) counts(tail int64) (expected, missing int64) {
	if !w.started {
		return 0, 0
	}
	to := w.highest - max(tail, 0)
	if to < w.base {
		return 0, 0
	}
	return to - w.base + 1, w.lost + w.missingIn(w.base, to)
}
