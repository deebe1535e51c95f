package record

import (
	"bytes"
	"encoding/binary"
)

const (
	naluIDR = 5
	naluSPS = 7
	naluPPS = 8
)

var startCode = []byte{0, 0, 1}

// h264State converts access units from Annex B (what pion's depacketizer emits) to the 4-byte length
// prefixes Matroska's V_MPEG4/ISO/AVC wants, and keeps the latest SPS and PPS for the avcC header.
// The parameter sets stay in band too: a decoder then follows a resolution change at a later IDR.
type h264State struct {
	sps, pps []byte
	info     spsInfo
	buf      [2][]byte // alternate: the block writer may still read the previous frame's buffer
	cur      int
	rbsp     []byte // scratch for the SPS without emulation prevention bytes
}

// frame converts one access unit. key: it holds an IDR and an SPS and PPS are known; width and height are
// from the SPS (0 if it could not be parsed). The returned slice is valid until the second flip.
func (h *h264State) frame(annexB []byte) (avcc []byte, key bool, width, height int) {
	out := h.buf[h.cur][:0]
	idr, newSPS := false, false
	forEachNAL(annexB, func(nal []byte) {
		switch nal[0] & 0x1F {
		case naluIDR:
			idr = true
		case naluSPS:
			h.sps = append(h.sps[:0], nal...)
			newSPS = true
		case naluPPS:
			h.pps = append(h.pps[:0], nal...)
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(nal)))
		out = append(out, nal...)
	})
	h.buf[h.cur] = out
	if !idr || len(h.sps) < 4 || len(h.pps) == 0 {
		return out, false, 0, 0
	}
	if newSPS || h.info.width == 0 {
		var ok bool
		if h.info, ok = h.parseSPS(h.sps); !ok {
			h.info = spsInfo{}
		}
	}
	return out, true, h.info.width, h.info.height
}

// flip switches buffers after a frame was handed to the block writer.
func (h *h264State) flip() { h.cur ^= 1 }

// forEachNAL calls fn for each non-empty NAL unit of an Annex B byte stream. Trailing zero bytes are
// trimmed: they belong to the next 4-byte start code (or are trailing_zero_8bits).
func forEachNAL(b []byte, fn func(nal []byte)) {
	emit := func(nal []byte) {
		for len(nal) > 0 && nal[len(nal)-1] == 0 {
			nal = nal[:len(nal)-1]
		}
		if len(nal) > 0 {
			fn(nal)
		}
	}
	pos := bytes.Index(b, startCode)
	if pos < 0 {
		emit(b)
		return
	}
	emit(b[:pos]) // nothing, or zeros, unless the stream does not start with a start code
	for pos >= 0 {
		begin := pos + len(startCode)
		next := bytes.Index(b[begin:], startCode)
		if next < 0 {
			emit(b[begin:])
			return
		}
		emit(b[begin : begin+next])
		pos = begin + next
	}
}

// avcC builds the AVCDecoderConfigurationRecord (ISO/IEC 14496-15) from the latest SPS and PPS.
func (h *h264State) avcC() []byte {
	sps, pps := h.sps, h.pps
	b := make([]byte, 0, 16+len(sps)+len(pps))
	b = append(b, 1, sps[1], sps[2], sps[3], 0xFC|3, 0xE0|1) // version, profile, compat, level, 4-byte lengths, 1 SPS
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	b = append(b, pps...)
	switch sps[1] {
	case 100, 110, 122, 144: // these profiles carry the chroma format and bit depths too
		i := h.info
		b = append(b, 0xFC|byte(i.chromaFormat&3), 0xF8|byte(i.bitDepthLuma&7), 0xF8|byte(i.bitDepthChroma&7), 0)
	}
	return b
}

type spsInfo struct {
	width, height                              int
	chromaFormat, bitDepthLuma, bitDepthChroma uint32 // bit depths minus 8
}

// parseSPS reads the picture size from an SPS NAL unit (ITU-T H.264 7.3.2.1.1).
func (h *h264State) parseSPS(nal []byte) (spsInfo, bool) {
	h.rbsp = h.rbsp[:0]
	zeros := 0
	for _, c := range nal[1:] {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue // emulation prevention byte
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		h.rbsp = append(h.rbsp, c)
	}
	r := bitReader{b: h.rbsp}
	info := spsInfo{chromaFormat: 1}
	profile := r.u(8)
	r.u(16) // constraint flags, level
	r.ue()  // seq_parameter_set_id
	separateColourPlane := false
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		info.chromaFormat = r.ue()
		if info.chromaFormat == 3 {
			separateColourPlane = r.u(1) == 1
		}
		info.bitDepthLuma, info.bitDepthChroma = r.ue(), r.ue()
		r.u(1) // qpprime_y_zero_transform_bypass_flag
		if r.u(1) == 1 {
			lists := 8
			if info.chromaFormat == 3 {
				lists = 12
			}
			for i := 0; i < lists; i++ {
				if r.u(1) == 1 {
					size := 16
					if i >= 6 {
						size = 64
					}
					r.skipScalingList(size)
				}
			}
		}
	}
	r.ue() // log2_max_frame_num_minus4
	switch r.ue() {
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.u(1)
		r.se()
		r.se()
		n := r.ue()
		for i := uint32(0); i < n && !r.bad; i++ {
			r.se()
		}
	}
	r.ue() // max_num_ref_frames
	r.u(1) // gaps_in_frame_num_value_allowed_flag
	wMbs := r.ue() + 1
	hMaps := r.ue() + 1
	frameMbsOnly := r.u(1)
	if frameMbsOnly == 0 {
		r.u(1) // mb_adaptive_frame_field_flag
	}
	r.u(1) // direct_8x8_inference_flag
	var cl, cr, ct, cb uint32
	if r.u(1) == 1 {
		cl, cr, ct, cb = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.bad || info.chromaFormat > 3 || wMbs > 1024 || hMaps > 1024 {
		return spsInfo{}, false
	}
	// Crop units (Table 6-1): chroma subsampling, times 2 vertically for field coding.
	cropX, cropY := uint32(1), 2-frameMbsOnly
	if info.chromaFormat != 0 && !separateColourPlane {
		subW, subH := uint32(2), uint32(2)
		if info.chromaFormat == 2 {
			subH = 1
		} else if info.chromaFormat == 3 {
			subW, subH = 1, 1
		}
		cropX, cropY = subW, subH*(2-frameMbsOnly)
	}
	width := int64(wMbs)*16 - int64(cropX)*(int64(cl)+int64(cr))
	height := int64(2-frameMbsOnly)*int64(hMaps)*16 - int64(cropY)*(int64(ct)+int64(cb))
	if width <= 0 || height <= 0 {
		return spsInfo{}, false
	}
	info.width, info.height = int(width), int(height)
	return info, true
}

// bitReader reads an RBSP; reading past its end sets bad and yields zeros (no error values to allocate).
type bitReader struct {
	b   []byte
	pos int // in bits
	bad bool
}

func (r *bitReader) u(n int) uint32 {
	var v uint32
	for ; n > 0; n-- {
		if r.pos >= len(r.b)*8 {
			r.bad = true
			return 0
		}
		v = v<<1 | uint32(r.b[r.pos/8]>>(7-r.pos%8))&1
		r.pos++
	}
	return v
}

// ue reads an unsigned Exp-Golomb code.
func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.u(1) == 0 {
		if r.bad || zeros == 31 {
			r.bad = true
			return 0
		}
		zeros++
	}
	return (1<<zeros - 1) + r.u(zeros)
}

// se reads a signed Exp-Golomb code.
func (r *bitReader) se() int32 {
	k := r.ue()
	if k&1 == 1 {
		return int32((k + 1) / 2)
	}
	return -int32(k / 2)
}

func (r *bitReader) skipScalingList(size int) {
	last, next := int32(8), int32(8)
	for j := 0; j < size && !r.bad; j++ {
		if next != 0 {
			next = (last + r.se() + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
}
