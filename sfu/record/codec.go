package record

import "encoding/binary"

// vp8Keyframe reports whether a VP8 frame is a keyframe, with the size from its header (RFC 6386 9.1):
// a 3-byte frame tag whose lowest bit is 0 for keyframes, the start code 9d 01 2a, then 14-bit width and
// height (the top 2 bits are the scaling).
func vp8Keyframe(b []byte) (key bool, width, height int) {
	if len(b) < 10 || b[0]&1 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return false, 0, 0
	}
	width = int(binary.LittleEndian.Uint16(b[6:]) & 0x3FFF)
	height = int(binary.LittleEndian.Uint16(b[8:]) & 0x3FFF)
	if width == 0 || height == 0 {
		return false, 0, 0
	}
	return true, width, height
}

// opusHead is the Opus identification header (RFC 7845 5.1) that Matroska's A_OPUS takes as CodecPrivate.
// RTP does not carry the encoder's pre-skip, so it is 0 (the first few ms play the encoder's warm-up).
func opusHead(channels uint16) []byte {
	b := make([]byte, 0, 19)
	b = append(b, "OpusHead"...)
	b = append(b, 1, byte(channels))
	b = binary.LittleEndian.AppendUint16(b, 0)     // pre-skip
	b = binary.LittleEndian.AppendUint32(b, 48000) // input sample rate (informational)
	b = binary.LittleEndian.AppendUint16(b, 0)     // output gain
	return append(b, 0)                            // channel mapping family 0: mono or stereo
}
