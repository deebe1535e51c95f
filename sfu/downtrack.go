package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu/bwe"
	"github.com/huddlehq/huddle/sfu/codec"
)

// DownTrack is one published track as one subscriber receives it: a pion TrackLocal bound to the
// subscriber's PeerConnection. It forwards one layer of the track at a time (see forwarder), rewriting
// SSRC, payload type, sequence numbers, timestamps and VP8 picture ids, and answers the subscriber's
// NACKs from the receiver's packet cache.
//
// Locking: mu guards the forwarding state. Layer readers take it for a few field updates per packet,
// never across the network write; the RTCP reader takes it to map NACKs back; the subscriber's allocator
// sets targets through setTarget. current and target mirror the forwarder's fields so the layer readers
// can drop other layers' packets without taking mu.
type DownTrack struct {
	id       string
	streamID string
	kind     webrtc.RTPCodecType
	receiver *Receiver
	changed  func()         // tells the subscriber's allocation loop that the forwarded layer changed; must not block
	bwe      *bwe.Estimator // the subscriber's; nil in unit tests (no transport-wide sequence numbers)

	// bound is swapped by pion's Bind/Unbind and read lock-free for every packet: nil while unbound.
	bound atomic.Pointer[binding]

	current atomic.Int32 // layer forwarded now, or noLayer
	target  atomic.Int32 // layer to forward (switch to at its next keyframe), or noLayer
	// want is the layer the allocation chose, which dynacast asks the publisher for. It differs from
	// target while that layer is not flowing (dynacast just asked for it, or the publisher's encoder is
	// short of bandwidth): meanwhile the best layer that flows is forwarded, not nothing.
	want atomic.Int32

	// The round trip to the subscriber, from its receiver reports: the last few sender reports (NTP
	// middle 32 bits, when built; a report echoes the one it got last, which may not be our newest) and
	// the last round trip measured (0: none yet). For the node's metrics.
	srSent [4]sentReport
	srNext atomic.Uint32
	rttNs  atomic.Int64

	mu      sync.Mutex
	active  *binding // the binding forwarding last (re)started on; a new one restarts on a keyframe
	fwd     forwarder
	history sendHistory
	packets uint32 // sent, for sender reports
	octets  uint32
}

// binding is what one negotiation of the subscriber's connection gave this track. Immutable.
type binding struct {
	writer webrtc.TrackLocalWriter
	ssrc   uint32
	pt     uint8
	twccID uint8 // transport-wide sequence number header extension id; 0 if not negotiated
}

// outHeader is a writer goroutine's scratch for one outgoing packet's header, so writing allocates
// nothing.
type outHeader struct {
	hdr  rtp.Header
	twcc [2]byte
}

func newDownTrack(r *Receiver, firstLayer int, changed func()) *DownTrack {
	kind := webrtc.RTPCodecTypeAudio
	if r.isVideo() {
		kind = webrtc.RTPCodecTypeVideo
	}
	// Camera and microphone share a stream so browsers lip-sync them; a screen share is its own stream.
	stream := r.info.ParticipantID
	if r.info.Source == SourceScreen || r.info.Source == SourceScreenAudio {
		stream += "-screen"
	}
	if changed == nil {
		changed = func() {}
	}
	d := &DownTrack{id: r.info.ID, streamID: stream, kind: kind, receiver: r, changed: changed}
	d.fwd = newForwarder(r.codec.ClockRate, r.codecKind == codec.KindVP8, firstLayer)
	d.current.Store(noLayer)
	d.target.Store(int32(firstLayer))
	d.want.Store(int32(firstLayer))
	return d
}

// Bind is called by pion when the subscribe PeerConnection has negotiated this track.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	c, ok := matchCodec(d.receiver.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	b := &binding{writer: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType)}
	for _, e := range ctx.HeaderExtensions() {
		if e.URI == sdp.TransportCCURI {
			b.twccID = uint8(e.ID)
		}
	}
	d.bound.Store(b)
	// A new subscriber should not wait for the publisher's next keyframe.
	d.receiver.requestKeyframe(int(d.target.Load()))
	return c, nil
}

// Unbind is called by pion when the track is removed or the connection closes.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(nil)
	return nil
}

// ID is the server's track id.
func (d *DownTrack) ID() string { return d.id }

// RID is empty: a subscriber receives one layer.
func (d *DownTrack) RID() string { return "" }

// StreamID groups the track with its publisher's other tracks.
func (d *DownTrack) StreamID() string { return d.streamID }

// Kind is audio or video.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.kind }

// setTarget picks the layer to forward (noLayer pauses); the switch happens at that layer's next
// keyframe, which it asks for.
func (d *DownTrack) setTarget(layer int) {
	if int(d.target.Load()) == layer {
		return
	}
	d.mu.Lock()
	d.fwd.setTarget(layer)
	d.target.Store(int32(layer))
	d.current.Store(int32(d.fwd.current))
	d.mu.Unlock()
	d.receiver.requestKeyframe(layer)
	d.receiver.dynacast.update()
}

// setWant records the layer the allocation chose, for dynacast.
func (d *DownTrack) setWant(layer int) {
	if d.want.Swap(int32(layer)) != int32(layer) {
		d.receiver.dynacast.update()
	}
}

// restart makes forwarding wait for the next keyframe of the layer, numbering on from what was sent.
func (d *DownTrack) restart() {
	d.mu.Lock()
	d.fwd.restart()
	d.mu.Unlock()
}

// writeRTP forwards one packet if this DownTrack wants it; it returns how many packets and bytes it wrote
// (more than one when a new subscriber is first shown the stored keyframe). Called by the
// receiver's layer readers; it allocates nothing and holds mu only while deciding and rewriting.
func (d *DownTrack) writeRTP(p *packet, now int64) (packets, bytes int) {
	layer := int32(p.layer)
	if layer != d.current.Load() && layer != d.target.Load() {
		return 0, 0
	}
	b := d.bound.Load()
	if b == nil {
		return 0, 0
	}
	d.mu.Lock()
	if b != d.active { // a new negotiation: restart on a keyframe
		d.active = b
		d.fwd.restart()
	}
	switched, started := false, false
	switch d.fwd.decide(p.layer, p.header.SequenceNumber, p.keyframe) {
	case drop:
		d.mu.Unlock()
		return 0, 0
	case dropWantKey:
		fresh := !d.fwd.sentAny
		d.mu.Unlock()
		d.receiver.requestKeyframe(p.layer)
		if fresh {
			return d.sendPoster(b, p, now)
		}
		return 0, 0
	case forwardStart:
		// A change of layer, not the first start (nothing was forwarded before).
		switched = d.fwd.current != p.layer && d.fwd.current != noLayer
		started = d.fwd.current == noLayer
		d.fwd.start(p.layer, p.header.SequenceNumber, p.header.Timestamp, p.vp8Fields(), now)
		d.current.Store(layer)
	}
	ok := d.sendLocked(b, p, now)
	if switched {
		d.receiver.counters.layerSwitches.Add(1)
	}
	if switched || started {
		d.changed()
	}
	if !ok {
		return 0, 0
	}
	return 1, len(p.raw)
}

// sendLocked rewrites and records one packet with d.mu held, releases d.mu, and writes the packet.
func (d *DownTrack) sendLocked(b *binding, p *packet, now int64) bool {
	vp8 := p.vp8Fields()
	seq, ts, pic, tl0 := d.fwd.rewrite(p.header.SequenceNumber, p.header.Timestamp, p.header.Marker, vp8, now)
	d.history.record(sentPacket{outSeq: seq, inSeq: p.header.SequenceNumber, tsOffset: d.fwd.tsOffset, pic: pic, tl0: tl0, layer: int8(p.layer)})
	d.packets++
	d.octets += uint32(len(p.payload))
	d.mu.Unlock()

	payload := p.payload
	if vp8 != nil && (pic != vp8.pic || tl0 != vp8.tl0) {
		n := copy(p.outBuf[:], payload)
		writeVP8Fields(p.outBuf[:n], vp8, pic, tl0)
		payload = p.outBuf[:n]
	}
	return d.write(b, &p.out, &p.header, seq, ts, payload, now)
}

// sendPoster shows a subscriber that has received nothing yet the layer's last keyframe while the live
// one it asked for is on its way, then waits for that one: a picture at once instead of black. Called by
// the layer's reader, which owns the keyframe store; p is the packet being forwarded and is left intact.
// It returns how many packets and bytes it sent.
func (d *DownTrack) sendPoster(b *binding, p *packet, now int64) (packets, bytes int) {
	l := d.receiver.layers[p.layer].Load()
	if l == nil || l.keyframes == nil {
		return 0, 0
	}
	if p.spare == nil {
		p.spare = &packet{}
	}
	sp := p.spare
	first := true
	aborted := false
	l.keyframes.packets(func(raw []byte) {
		if aborted || !sp.parse(raw, d.receiver.codecKind) {
			return
		}
		sp.layer = p.layer
		d.mu.Lock()
		if first {
			if d.fwd.sentAny || d.fwd.target != p.layer { // raced with another start or a new target
				d.mu.Unlock()
				aborted = true
				return
			}
			d.fwd.start(p.layer, sp.header.SequenceNumber, sp.header.Timestamp, sp.vp8Fields(), now)
			d.current.Store(int32(p.layer))
			first = false
		}
		if d.sendLocked(b, sp, now) {
			packets++
			bytes += len(raw)
		}
	})
	if first {
		return 0, 0
	}
	d.mu.Lock()
	d.fwd.restart() // the live keyframe continues from the poster
	d.mu.Unlock()
	d.changed()
	return packets, bytes
}

// write sends one rewritten packet, stamped with the subscriber's next transport-wide sequence number
// (recorded for bandwidth estimation). out is scratch owned by the caller's goroutine.
func (d *DownTrack) write(b *binding, out *outHeader, in *rtp.Header, seq uint16, ts uint32, payload []byte, now int64) bool {
	h := &out.hdr
	h.Version = 2
	h.Padding = in.Padding
	h.PaddingSize = 0 // the padding bytes travel at the end of the payload
	h.Marker = in.Marker
	h.PayloadType = b.pt
	h.SequenceNumber = seq
	h.Timestamp = ts
	h.SSRC = b.ssrc
	h.CSRC = h.CSRC[:0]
	// The publisher's header extension ids mean nothing on the subscriber's connection: only ours go out.
	h.Extension = false
	h.Extensions = h.Extensions[:0]
	if b.twccID != 0 && d.bwe != nil {
		tw := d.bwe.Sent(len(payload)+rtpOverhead, now)
		out.twcc[0], out.twcc[1] = byte(tw>>8), byte(tw)
		_ = h.SetExtension(b.twccID, out.twcc[:]) // fails only for an id outside 1–14, which pion never negotiates
	}
	_, err := b.writer.WriteRTP(h, payload)
	return err == nil
}

// rtpOverhead approximates the header bytes of a forwarded packet (RTP header, one extension, SRTP tag)
// for the bandwidth estimate.
const rtpOverhead = 12 + 8 + 16

// sendPadding sends n padding-only packets of size bytes (bandwidth probing) between two frames, numbered
// in sequence with the media; it returns how many it sent. buf is the caller's scratch of at least size.
func (d *DownTrack) sendPadding(n, size int, buf []byte) int {
	b := d.bound.Load()
	if b == nil || size < 1 || size > len(buf) || size > 255 {
		return 0
	}
	d.mu.Lock()
	first, ts, ok := d.fwd.reservePadding(n)
	if ok {
		d.packets += uint32(n)
		d.octets += uint32(n * size)
	}
	d.mu.Unlock()
	if !ok {
		return 0
	}
	payload := buf[:size]
	clear(payload)
	payload[size-1] = byte(size) // RFC 3550 padding: the last byte counts the padding bytes
	in := rtp.Header{Padding: true}
	var out outHeader
	sent := 0
	now := time.Now().UnixNano()
	for i := 0; i < n; i++ {
		if d.write(b, &out, &in, first+uint16(i), ts, payload, now) {
			sent++
		}
	}
	return sent
}

// canCarryPadding reports whether sendPadding would send now: the track has sent video, ending a frame.
func (d *DownTrack) canCarryPadding() bool {
	if d.kind != webrtc.RTPCodecTypeVideo || d.bound.Load() == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fwd.sentAny && d.fwd.lastMarker
}

// readRTCP drains the subscriber's RTCP for this track: keyframe requests go upstream for the layer being
// forwarded, NACKs are answered from the receiver's cache. It ends when the sender stops.
func (d *DownTrack) readRTCP(sender *webrtc.RTPSender) {
	var rtx retransmitter
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch p := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.receiver.requestKeyframe(int(d.current.Load()))
			case *rtcp.ReceiverReport:
				d.onReceiverReport(p.Reports, time.Now())
			case *rtcp.TransportLayerCC:
				if d.bwe != nil {
					d.bwe.OnFeedback(p, time.Now())
				}
			case *rtcp.TransportLayerNack:
				for _, pair := range p.Nacks {
					pair.Range(func(seq uint16) bool {
						d.receiver.counters.nacked.Add(1)
						d.retransmit(&rtx, seq)
						return true
					})
				}
			}
		}
	}
}

// retransmitter is the RTCP reader's scratch for rebuilding packets; it is not shared.
type retransmitter struct {
	raw    [maxPacketSize]byte
	in     rtp.Header
	out    outHeader
	vp8    vp8Fields
	answer int // NACKed packets answered (tests and stats)
}

// retransmit resends one packet the subscriber reported lost, if the receiver's cache still has it.
func (d *DownTrack) retransmit(rtx *retransmitter, seq uint16) {
	b := d.bound.Load()
	if b == nil {
		return
	}
	d.mu.Lock()
	sent, ok := d.history.lookup(seq)
	d.mu.Unlock()
	if !ok || int(sent.layer) >= maxLayers {
		d.receiver.log.Debug("NACKed packet not sent here", "seq", seq)
		return
	}
	l := d.receiver.layers[sent.layer].Load()
	if l == nil || l.cache == nil {
		return
	}
	n := l.cache.get(sent.inSeq, rtx.raw[:])
	if n == 0 {
		d.receiver.log.Debug("NACKed packet no longer cached", "seq", seq, "layer", sent.layer)
		return
	}
	hl, err := rtx.in.Unmarshal(rtx.raw[:n])
	if err != nil {
		return
	}
	payload := rtx.raw[hl:n]
	if d.fwd.isVP8 && rtx.vp8.parse(payload) {
		writeVP8Fields(payload, &rtx.vp8, sent.pic, sent.tl0)
	}
	if d.write(b, &rtx.out, &rtx.in, seq, rtx.in.Timestamp+sent.tsOffset, payload, time.Now().UnixNano()) {
		rtx.answer++
		d.receiver.counters.retransmitted.Add(1)
	}
}

// senderReport builds the RTCP sender report for this track from the publisher's latest report of the
// layer being forwarded, so that the subscriber maps audio and video onto the publisher's one clock (lip
// sync). It returns nil before anything was forwarded or while the publisher has sent no report.
func (d *DownTrack) senderReport(now time.Time) *rtcp.SenderReport {
	b := d.bound.Load()
	layer := int(d.current.Load())
	if b == nil || layer < 0 || layer >= maxLayers {
		return nil
	}
	l := d.receiver.layers[layer].Load()
	if l == nil {
		return nil
	}
	sr := l.sr.Load()
	if sr == nil {
		return nil
	}
	d.mu.Lock()
	if d.fwd.current != layer || !d.fwd.started {
		d.mu.Unlock()
		return nil
	}
	tsOffset, packets, octets := d.fwd.tsOffset, d.packets, d.octets
	d.mu.Unlock()
	// Carry the publisher's mapping forward to now on both clocks, so the report is fresh.
	elapsed := now.UnixNano() - sr.arrived
	if elapsed < 0 {
		elapsed = 0
	}
	rtpNow := sr.rtp + uint32(uint64(elapsed)*uint64(d.fwd.clockRate)/1e9) + tsOffset
	ntp := addNTP(sr.ntp, time.Duration(elapsed))
	d.noteSenderReport(uint32(ntp>>16), now)
	return &rtcp.SenderReport{
		SSRC:        b.ssrc,
		NTPTime:     ntp,
		RTPTime:     rtpNow,
		PacketCount: packets,
		OctetCount:  octets,
	}
}

// onReceiverReport measures the round trip from a report block about this track that echoes our last
// sender report (RFC 3550 6.4.1: now - sent - the receiver's delay since it got it).
func (d *DownTrack) onReceiverReport(reports []rtcp.ReceptionReport, now time.Time) {
	b := d.bound.Load()
	if b == nil {
		return
	}
	for _, r := range reports {
		if r.SSRC != b.ssrc || r.LastSenderReport == 0 {
			continue
		}
		for i := range d.srSent {
			sr := &d.srSent[i]
			if sr.mid.Load() != r.LastSenderReport {
				continue
			}
			delay := time.Duration(uint64(r.Delay) * uint64(time.Second) >> 16)
			if rtt := now.Sub(time.Unix(0, sr.at.Load())) - delay; rtt >= 0 {
				d.rttNs.Store(int64(rtt))
			}
			break
		}
	}
}

// sentReport is one sender report as a receiver report may echo it.
type sentReport struct {
	mid atomic.Uint32 // the NTP timestamp's middle 32 bits (LSR in a report block)
	at  atomic.Int64  // when it was built, Unix ns
}

// noteSenderReport remembers a sender report about to go out, in a ring of the last few.
func (d *DownTrack) noteSenderReport(mid uint32, now time.Time) {
	sr := &d.srSent[d.srNext.Add(1)%uint32(len(d.srSent))]
	sr.at.Store(now.UnixNano())
	sr.mid.Store(mid)
}

// RoundTrip is the last round trip measured to the subscriber on this track; 0 before any.
func (d *DownTrack) RoundTrip() time.Duration { return time.Duration(d.rttNs.Load()) }

// addNTP adds a duration to a 64-bit NTP timestamp (32.32 fixed point seconds).
func addNTP(ntp uint64, d time.Duration) uint64 {
	return ntp + uint64(d)*(1<<32)/uint64(time.Second)
}

// matchCodec picks, among the codecs a subscriber's connection negotiated, the one the publisher sends:
// same mime type and, for H.264, the same profile and packetization mode.
func matchCodec(want webrtc.RTPCodecParameters, offered []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	var sameMime []webrtc.RTPCodecParameters
	for _, c := range offered {
		if strings.EqualFold(c.MimeType, want.MimeType) {
			sameMime = append(sameMime, c)
		}
	}
	if len(sameMime) == 0 {
		return webrtc.RTPCodecParameters{}, false
	}
	if !strings.EqualFold(want.MimeType, webrtc.MimeTypeH264) {
		return sameMime[0], true
	}
	wantProfile, wantMode := h264Params(want.SDPFmtpLine)
	for _, c := range sameMime {
		if p, m := h264Params(c.SDPFmtpLine); p == wantProfile && m == wantMode {
			return c, true
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// h264Params extracts the profile (profile_idc and constraint flags, not the level) and the packetization
// mode from an H.264 fmtp line.
func h264Params(fmtp string) (profile, mode string) {
	mode = "0"
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch strings.ToLower(k) {
		case "profile-level-id":
			if len(v) >= 4 {
				profile = strings.ToLower(v[:4])
			}
		case "packetization-mode":
			mode = v
		}
	}
	return profile, mode
}
