package sfu

import (
	"github.com/huddlehq/huddle/sfu/codec"
)

// noLayer is a layer index meaning "none": nothing forwarded (current) or the track paused (target).
const noLayer = -1

// verdict is what the forwarder decided for one packet.
type verdict uint8

const (
	drop         verdict = iota // not for this subscriber (another layer, or waiting for a keyframe)
	dropWantKey                 // waiting for a keyframe of the target layer: ask the publisher
	forwardPkt                  // rewrite and send
	forwardStart                // rewrite and send: forwarding (re)started here on a keyframe
)

// vp8Fields locates the rewritable fields of a packet's VP8 payload descriptor. Offsets are into the
// payload; 0 means absent (offset 0 is the descriptor's first byte, which holds neither).
type vp8Fields struct {
	picOffset int    // first byte of the PictureID
	pic16     bool   // 15-bit PictureID (two bytes)
	pic       uint16 // the publisher's PictureID
	tl0Offset int    // the TL0PICIDX byte
	tl0       uint8  // the publisher's TL0PICIDX
}

// parseVP8Fields fills f from a VP8 payload; false if the descriptor is malformed.
func (f *vp8Fields) parse(payload []byte) bool {
	*f = vp8Fields{}
	d, err := codec.ParseVP8Descriptor(payload)
	if err != nil {
		return false
	}
	if d.HasPictureID {
		f.picOffset, f.pic16, f.pic = 2, d.PictureID16, d.PictureID
	}
	if d.HasTL0PICIDX {
		f.tl0Offset, f.tl0 = 2, d.TL0PICIDX
		if d.HasPictureID {
			f.tl0Offset = 3
			if d.PictureID16 {
				f.tl0Offset = 4
			}
		}
	}
	return true
}

// forwarder is the layer-switching and rewriting state of one DownTrack: which layer it forwards and how
// the publisher's sequence numbers, timestamps and VP8 picture ids of that layer map onto the one
// continuous stream the subscriber sees. It is a plain value with no locking: its DownTrack guards it.
//
// Forwarding starts, and moves to another layer, only on a keyframe of the layer it moves to; then the
// offsets are recomputed so that the subscriber's sequence numbers go on by one, its timestamps advance by
// the wall-clock time since the last packet it got, and its PictureID and TL0PICIDX go on by one. Packets
// of the new layer older than that keyframe are dropped, so no sequence number is ever reused.
type forwarder struct {
	current   int // layer being forwarded, or noLayer
	target    int // layer wanted, or noLayer (paused)
	started   bool
	clockRate uint32
	isVP8     bool

	startSeq  uint16 // publisher sequence number of the keyframe forwarding (re)started on
	seqOffset uint16
	tsOffset  uint32
	picOffset uint16
	tl0Offset uint8

	sentAny    bool
	lastSeq    uint16 // the newest sequence number sent
	lastTS     uint32
	lastSentAt int64 // unix nanos when lastTS was sent
	lastPic    uint16
	lastTL0    uint8
	picValid   bool   // lastPic/lastTL0 hold values sent
	lastIn     uint16 // publisher sequence number of the newest packet sent
	lastMarker bool   // the newest packet sent ended a frame: padding may follow
}

func newForwarder(clockRate uint32, isVP8 bool, target int) forwarder {
	if clockRate == 0 {
		clockRate = 90000
	}
	return forwarder{current: noLayer, target: target, clockRate: clockRate, isVP8: isVP8}
}

// setTarget changes the wanted layer; forwarding moves there at that layer's next keyframe. noLayer pauses
// at once.
func (f *forwarder) setTarget(layer int) {
	f.target = layer
	if layer == noLayer {
		f.current, f.started = noLayer, false
	}
}

// restart makes the next packet forwarded wait for a keyframe (a new negotiation, or a lost start).
func (f *forwarder) restart() { f.started = false }

// decide says what to do with one packet of the given layer. It changes state only when the packet is
// forwarded.
func (f *forwarder) decide(layer int, seq uint16, keyframe bool) verdict {
	if f.target == noLayer {
		return drop
	}
	switching := layer == f.target && (layer != f.current || !f.started)
	if switching {
		if !keyframe {
			return dropWantKey
		}
		return forwardStart
	}
	if layer != f.current || !f.started {
		return drop
	}
	if seqNewer(f.startSeq, seq) { // older than the keyframe we (re)started on
		return drop
	}
	return forwardPkt
}

// start moves forwarding to layer at this keyframe packet and recomputes the offsets. nowNanos is the
// wall clock, used to advance the subscriber's timestamps by the time that passed since its last packet.
func (f *forwarder) start(layer int, seq uint16, ts uint32, vp8 *vp8Fields, nowNanos int64) {
	f.current, f.started, f.startSeq = layer, true, seq
	if !f.sentAny {
		f.seqOffset, f.tsOffset = 0, 0
	} else {
		f.seqOffset = f.lastSeq + 1 - seq
		elapsed := uint32(1)
		if d := nowNanos - f.lastSentAt; d > 0 {
			elapsed = max(uint32(uint64(d)*uint64(f.clockRate)/1e9), 1)
		}
		f.tsOffset = f.lastTS + elapsed - ts
	}
	if f.isVP8 && vp8 != nil {
		if f.picValid {
			f.picOffset = f.lastPic + 1 - vp8.pic
			f.tl0Offset = f.lastTL0 + 1 - vp8.tl0
		} else {
			f.picOffset, f.tl0Offset = 0, 0
		}
	}
}

// rewrite maps one forwarded packet's numbering and records it as sent. It returns the subscriber's
// sequence number and timestamp, and the VP8 picture id and TL0PICIDX to write (valid when vp8 is set).
func (f *forwarder) rewrite(seq uint16, ts uint32, marker bool, vp8 *vp8Fields, nowNanos int64) (outSeq uint16, outTS uint32, pic uint16, tl0 uint8) {
	outSeq, outTS = seq+f.seqOffset, ts+f.tsOffset
	if !f.sentAny || seqNewer(outSeq, f.lastSeq) {
		f.lastSeq, f.lastTS, f.lastSentAt = outSeq, outTS, nowNanos
		f.lastIn, f.lastMarker = seq, marker
	}
	f.sentAny = true
	if f.isVP8 && vp8 != nil {
		mask := uint16(0x7f)
		if vp8.pic16 {
			mask = 0x7fff
		}
		pic = (vp8.pic + f.picOffset) & mask
		tl0 = vp8.tl0 + f.tl0Offset
		if vp8.picOffset != 0 && (!f.picValid || picNewer(pic, f.lastPic, mask)) {
			f.lastPic, f.picValid = pic, true
			if vp8.tl0Offset != 0 {
				f.lastTL0 = tl0
			}
		}
	}
	return outSeq, outTS, pic, tl0
}

// reservePadding takes n sequence numbers for padding packets after the last frame sent and returns the
// first one and the timestamp to use; ok is false unless the last packet sent ended a frame (forwarding
// may be paused: padding then keeps the subscriber's stream numbered for when it resumes). Publisher
// packets older than the padding are dropped from then on, since their numbers would collide.
func (f *forwarder) reservePadding(n int) (first uint16, ts uint32, ok bool) {
	if !f.sentAny || !f.lastMarker || n <= 0 {
		return 0, 0, false
	}
	first = f.lastSeq + 1
	f.seqOffset += uint16(n)
	f.lastSeq += uint16(n)
	f.startSeq = f.lastIn + 1
	return first, f.lastTS, true
}

// picNewer reports whether picture id a comes after b modulo mask+1.
func picNewer(a, b, mask uint16) bool { return a != b && (a-b)&mask < (mask+1)/2 }

// seqNewer reports whether a comes after b in RTP sequence-number order (RFC 3550 wrap-around).
func seqNewer(a, b uint16) bool { return a != b && a-b < 0x8000 }

// writeVP8Fields writes the rewritten picture id and TL0PICIDX into dst, a copy of the payload.
func writeVP8Fields(dst []byte, vp8 *vp8Fields, pic uint16, tl0 uint8) {
	if vp8.picOffset != 0 {
		if vp8.pic16 {
			dst[vp8.picOffset] = 0x80 | byte(pic>>8)
			dst[vp8.picOffset+1] = byte(pic)
		} else {
			dst[vp8.picOffset] = byte(pic & 0x7f)
		}
	}
	if vp8.tl0Offset != 0 {
		dst[vp8.tl0Offset] = tl0
	}
}
