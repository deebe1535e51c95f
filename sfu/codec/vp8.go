package codec

import "errors"

// VP8Descriptor is the VP8 RTP payload descriptor (RFC 7741 §4.2). The fields are what the SFU needs to
// rewrite picture ids when it splices streams; the layer-switching rewriter builds on it.
type VP8Descriptor struct {
	HeaderSize  int // bytes before the VP8 payload header
	Start       bool
	PartitionID uint8

	HasPictureID bool
	PictureID    uint16 // 7 or 15 bits, see PictureID16
	PictureID16  bool   // the picture id uses the 15-bit (M=1) form

	HasTL0PICIDX bool
	TL0PICIDX    uint8

	HasTID bool
	TID    uint8
	Y      bool

	HasKeyIdx bool
	KeyIdx    uint8
}

// Errors from ParseVP8Descriptor.
var (
	ErrVP8Short = errors.New("vp8: payload shorter than its descriptor")
)

// ParseVP8Descriptor reads the descriptor at the start of a VP8 RTP payload. It never panics on any input.
func ParseVP8Descriptor(p []byte) (VP8Descriptor, error) {
	var d VP8Descriptor
	if len(p) < 1 {
		return d, ErrVP8Short
	}
	x := p[0]&0x80 != 0
	d.Start = p[0]&0x10 != 0
	d.PartitionID = p[0] & 0x0f
	i := 1
	if x {
		if len(p) < 2 {
			return d, ErrVP8Short
		}
		ext := p[1]
		i = 2
		hasI, hasL, hasT, hasK := ext&0x80 != 0, ext&0x40 != 0, ext&0x20 != 0, ext&0x10 != 0
		if hasI {
			if len(p) < i+1 {
				return d, ErrVP8Short
			}
			d.HasPictureID = true
			if p[i]&0x80 != 0 {
				if len(p) < i+2 {
					return d, ErrVP8Short
				}
				d.PictureID16 = true
				d.PictureID = uint16(p[i]&0x7f)<<8 | uint16(p[i+1])
				i += 2
			} else {
				d.PictureID = uint16(p[i] & 0x7f)
				i++
			}
		}
		if hasL {
			if len(p) < i+1 {
				return d, ErrVP8Short
			}
			d.HasTL0PICIDX = true
			d.TL0PICIDX = p[i]
			i++
		}
		if hasT || hasK {
			if len(p) < i+1 {
				return d, ErrVP8Short
			}
			if hasT {
				d.HasTID = true
				d.TID = p[i] >> 6
				d.Y = p[i]&0x20 != 0
			}
			if hasK {
				d.HasKeyIdx = true
				d.KeyIdx = p[i] & 0x1f
			}
			i++
		}
	}
	d.HeaderSize = i
	return d, nil
}
