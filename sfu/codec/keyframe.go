// Package codec inspects RTP payloads of the video codecs the SFU forwards (VP8, VP9, H.264) just enough
// to route them: is this packet the start of a keyframe? It never decodes media.
//
// Locking: the functions are pure and safe for concurrent use; they never retain the payload.
package codec

import "strings"

// Mime types the SFU recognises, lower-cased as pion reports them after strings.ToLower.
const (
	MimeVP8  = "video/vp8"
	MimeVP9  = "video/vp9"
	MimeH264 = "video/h264"
	MimeOpus = "audio/opus"
)

// Kind tells which keyframe test applies to a mime type; resolve it once per track, not per packet.
type Kind uint8

// Kinds of payload the keyframe test knows.
const (
	KindOther Kind = iota // audio, or a codec whose keyframes we cannot see: every packet is a start point
	KindVP8
	KindVP9
	KindH264
)

// KindOf maps a mime type (any case) to its Kind.
func KindOf(mime string) Kind {
	switch strings.ToLower(mime) {
	case MimeVP8:
		return KindVP8
	case MimeVP9:
		return KindVP9
	case MimeH264:
		return KindH264
	default:
		return KindOther
	}
}

// IsKeyframe reports whether payload (an RTP payload without padding) begins or carries a keyframe that a
// decoder can start from. For KindOther it reports true: audio needs no keyframe.
func IsKeyframe(kind Kind, payload []byte) bool {
	switch kind {
	case KindVP8:
		return isVP8Keyframe(payload)
	case KindVP9:
		return isVP9Keyframe(payload)
	case KindH264:
		return isH264Keyframe(payload)
	default:
		return true
	}
}

// isVP8Keyframe: the packet must start a partition-0 frame (S=1, PID=0) whose payload header has P=0
// (RFC 7741 §4.3).
func isVP8Keyframe(payload []byte) bool {
	d, err := ParseVP8Descriptor(payload)
	if err != nil || !d.Start || d.PartitionID != 0 || d.HeaderSize >= len(payload) {
		return false
	}
	return payload[d.HeaderSize]&0x01 == 0
}

// isVP9Keyframe reads the VP9 payload descriptor (draft-ietf-payload-vp9): a keyframe packet starts a frame
// (B=1) and is not inter-predicted (P=0); spatial layer 0 is where a decoder can start.
func isVP9Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	b0 := payload[0]
	interPicture := b0&0x40 != 0
	startOfFrame := b0&0x08 != 0
	layerIndices := b0&0x20 != 0
	if interPicture || !startOfFrame {
		return false
	}
	if !layerIndices {
		return true
	}
	// Skip the picture id to reach the layer indices and check the spatial id is 0.
	i := 1
	if b0&0x80 != 0 { // I: picture id present
		if i >= len(payload) {
			return false
		}
		if payload[i]&0x80 != 0 {
			i += 2
		} else {
			i++
		}
	}
	if i >= len(payload) {
		return false
	}
	spatialID := (payload[i] >> 1) & 0x07
	return spatialID == 0
}

// H.264 NAL unit types (RFC 6184).
const (
	naluIDR   = 5
	naluSPS   = 7
	naluSTAPA = 24
	naluFUA   = 28
)

// isH264Keyframe accepts an SPS or IDR NAL, alone, inside a STAP-A aggregate, or as the first fragment
// of an FU-A. Browsers send SPS+PPS+IDR at every keyframe.
func isH264Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	switch nalType := payload[0] & 0x1f; nalType {
	case naluIDR, naluSPS:
		return true
	case naluFUA:
		if len(payload) < 2 {
			return false
		}
		start := payload[1]&0x80 != 0
		inner := payload[1] & 0x1f
		return start && (inner == naluIDR || inner == naluSPS)
	case naluSTAPA:
		for i := 1; i+2 < len(payload); {
			size := int(payload[i])<<8 | int(payload[i+1])
			i += 2
			if size == 0 || i+size > len(payload) {
				return false
			}
			if t := payload[i] & 0x1f; t == naluIDR || t == naluSPS {
				return true
			}
			i += size
		}
		return false
	default:
		return false
	}
}
