package sfu

import "sync"

// cacheSlots is how many recent packets a video layer keeps to answer NACKs. 256 packets is about 1.3 s of
// a 1.7 Mbps layer and far longer of the smaller ones: more than the round trip a retransmission can
// still beat the receiver's jitter buffer by. It is shared by every subscriber of the layer.
const cacheSlots = 256

// packetCache keeps the last cacheSlots packets of one layer, as received, for retransmission. The layer
// reader puts; DownTracks answering NACKs get. One mutex guards it: put and get copy at most one packet
// while holding it and never do I/O.
type packetCache struct {
	mu    sync.Mutex
	arena []byte // cacheSlots × maxPacketSize, allocated once
	slots [cacheSlots]cacheSlot
}

type cacheSlot struct {
	seq   uint16
	size  uint16
	valid bool
}

func newPacketCache() *packetCache {
	return &packetCache{arena: make([]byte, cacheSlots*maxPacketSize)}
}

// put stores a raw RTP packet under its sequence number, replacing the one cacheSlots earlier.
func (c *packetCache) put(seq uint16, raw []byte) {
	if len(raw) > maxPacketSize {
		return
	}
	i := int(seq) % cacheSlots
	c.mu.Lock()
	copy(c.arena[i*maxPacketSize:], raw)
	c.slots[i] = cacheSlot{seq: seq, size: uint16(len(raw)), valid: true}
	c.mu.Unlock()
}

// get copies the packet with this sequence number into dst and returns its length, or 0 if it has been
// overwritten or never arrived.
func (c *packetCache) get(seq uint16, dst []byte) int {
	i := int(seq) % cacheSlots
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slots[i]
	if !s.valid || s.seq != seq || int(s.size) > len(dst) {
		return 0
	}
	return copy(dst, c.arena[i*maxPacketSize:i*maxPacketSize+int(s.size)])
}

// historySlots is how many of its own sent packets a DownTrack remembers, to map a subscriber's NACK back
// to the publisher's packet. A power of two; 1024 entries are 16 KiB.
const historySlots = 1024

// sendHistory maps the sequence numbers a DownTrack sent to what it sent them from. It is part of the
// DownTrack's forwarding state and guarded by the same mutex.
type sendHistory struct {
	entries [historySlots]sentPacket
}

// sentPacket is enough to rebuild one forwarded packet from the layer's cache.
type sentPacket struct {
	outSeq   uint16
	inSeq    uint16
	tsOffset uint32
	pic      uint16
	tl0      uint8
	layer    int8
	valid    bool
}

func (h *sendHistory) record(p sentPacket) {
	p.valid = true
	h.entries[p.outSeq%historySlots] = p
}

func (h *sendHistory) lookup(outSeq uint16) (sentPacket, bool) {
	e := h.entries[outSeq%historySlots]
	return e, e.valid && e.outSeq == outSeq
}
