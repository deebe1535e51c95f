package sfu

// keyframeStoreBytes bounds one stored keyframe. A 720p VP8 keyframe is typically 20–60 KB; a bigger
// one is simply not kept (the subscriber then waits for the keyframe it asked for, as without a store).
const keyframeStoreBytes = 128 << 10

// keyframeStore keeps the packets of a video layer's latest complete keyframe, so that a subscriber that
// starts on this layer is shown a picture at once instead of black until the publisher answers its
// keyframe request. Only the layer's reader goroutine touches it (it builds in one buffer and swaps it
// with the complete one when the frame's last packet arrives), so it needs no lock.
type keyframeStore struct {
	complete, building keyframeBuffer
}

type keyframeBuffer struct {
	data    []byte // the packets back to back
	ends    []int  // end offset of each packet in data
	ts      uint32 // RTP timestamp of the frame
	ok      bool   // complete: from the keyframe's first packet to its marker, nothing missing
	nextSeq uint16 // sequence number the next packet of the frame must have
}

func newKeyframeStore() *keyframeStore {
	s := &keyframeStore{}
	for _, b := range []*keyframeBuffer{&s.complete, &s.building} {
		b.data = make([]byte, 0, keyframeStoreBytes)
		b.ends = make([]int, 0, keyframeStoreBytes/500)
	}
	return s
}

// observe follows the layer's packets, collecting keyframes. It allocates nothing.
func (s *keyframeStore) observe(p *packet) {
	b := &s.building
	switch {
	case p.keyframe:
		b.data, b.ends, b.ts, b.ok = b.data[:0], b.ends[:0], p.header.Timestamp, true
	case !b.ok:
		return
	case p.header.Timestamp != b.ts || p.header.SequenceNumber != b.nextSeq:
		b.ok = false // another frame began, or a packet is missing or reordered: give this one up
		return
	}
	if len(b.data)+len(p.raw) > cap(b.data) || len(b.ends) == cap(b.ends) {
		b.ok = false
		return
	}
	b.data = append(b.data, p.raw...)
	b.ends = append(b.ends, len(b.data))
	b.nextSeq = p.header.SequenceNumber + 1
	if p.header.Marker {
		s.complete, s.building = s.building, s.complete
		s.building.ok = false
	}
}

// packets calls f with each raw packet of the latest complete keyframe, in order; false if there is none.
func (s *keyframeStore) packets(f func(raw []byte)) bool {
	c := &s.complete
	if !c.ok || len(c.ends) == 0 {
		return false
	}
	start := 0
	for _, end := range c.ends {
		f(c.data[start:end])
		start = end
	}
	return true
}
