package sfu

import (
	"strings"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// DownTrack is one published track as one subscriber receives it: a pion TrackLocal bound to the
// subscriber's PeerConnection. It rewrites each packet's SSRC and payload type to what that connection
// negotiated, and its sequence numbers and timestamps so that they stay continuous whenever forwarding
// (re)starts, which is always on a keyframe.
type DownTrack struct {
	id       string
	streamID string
	kind     webrtc.RTPCodecType
	receiver *Receiver

	// bound is swapped by pion's Bind/Unbind and read lock-free for every packet: nil while unbound.
	bound atomic.Pointer[binding]

	// The rewriting state below is owned by the one layer reader that forwards to this DownTrack; no
	// other goroutine touches it, so it needs no lock.
	active  *binding // the binding forwarding last (re)started on; a new one restarts on a keyframe
	started bool     // a keyframe has been forwarded on active
	// seqOffset and tsOffset map the publisher's numbering to ours; lastSeq and lastTS are what we sent
	// last, so a restart continues from there instead of jumping.
	seqOffset uint16
	tsOffset  uint32
	lastSeq   uint16
	lastTS    uint32
	sentAny   bool
}

// binding is what one negotiation of the subscriber's connection gave this track. Immutable.
type binding struct {
	writer webrtc.TrackLocalWriter
	ssrc   uint32
	pt     uint8
}

func newDownTrack(r *Receiver, subscriberID string) *DownTrack {
	kind := webrtc.RTPCodecTypeAudio
	if r.info.Kind == kindOf(webrtc.RTPCodecTypeVideo) {
		kind = webrtc.RTPCodecTypeVideo
	}
	// Camera and microphone share a stream so browsers lip-sync them; a screen share is its own stream.
	stream := r.info.ParticipantID
	if r.info.Source == SourceScreen || r.info.Source == SourceScreenAudio {
		stream += "-screen"
	}
	return &DownTrack{id: r.info.ID, streamID: stream, kind: kind, receiver: r}
}

// Bind is called by pion when the subscribe PeerConnection has negotiated this track.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	c, ok := matchCodec(d.receiver.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	d.bound.Store(&binding{writer: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType)})
	d.receiver.RequestKeyframe() // a new subscriber should not wait for the publisher's next keyframe
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

// writeRTP forwards one packet if this DownTrack wants it; it reports whether it wrote. Called only by
// the receiver's layer reader that forwards here (see the ownership note on DownTrack); it takes no lock
// and allocates nothing.
func (d *DownTrack) writeRTP(p *packet) bool {
	if p.layer != 0 { // one layer per subscriber until layer selection arrives with simulcast
		return false
	}
	b := d.bound.Load()
	if b == nil {
		return false
	}
	if b != d.active { // a new negotiation: restart on a keyframe
		d.active, d.started = b, false
	}
	if !d.started {
		if !p.keyframe {
			d.receiver.RequestKeyframe()
			return false
		}
		d.started = true
		if d.sentAny {
			d.seqOffset = d.lastSeq + 1 - p.header.SequenceNumber
			d.tsOffset = d.lastTS + 1 - p.header.Timestamp
		}
	}
	seq := p.header.SequenceNumber + d.seqOffset
	ts := p.header.Timestamp + d.tsOffset
	if !d.sentAny || seqNewer(seq, d.lastSeq) {
		d.lastSeq, d.lastTS = seq, ts
	}
	d.sentAny = true

	out := &p.out
	out.Version = 2
	out.Padding = p.header.Padding
	out.PaddingSize = 0 // the padding bytes travel at the end of the payload
	out.Marker = p.header.Marker
	out.PayloadType = b.pt
	out.SequenceNumber = seq
	out.Timestamp = ts
	out.SSRC = b.ssrc
	out.CSRC = out.CSRC[:0]
	// The publisher's header extension ids mean nothing on the subscriber's connection; pion's
	// interceptors add the ones this connection negotiated (e.g. transport-wide sequence numbers).
	out.Extension = false
	out.Extensions = out.Extensions[:0]
	_, err := b.writer.WriteRTP(out, p.payload)
	return err == nil
}

// seqNewer reports whether a comes after b in RTP sequence-number order (RFC 3550 wrap-around).
func seqNewer(a, b uint16) bool { return a != b && a-b < 0x8000 }

// readRTCP drains the subscriber's RTCP for this track and passes keyframe requests upstream. It ends
// when the sender stops.
func (d *DownTrack) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.receiver.RequestKeyframe()
			}
		}
	}
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
