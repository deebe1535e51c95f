package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/huddlehq/huddle/sfu/codec"
)

// Clip is a real media file held in memory as frames (VP8 from IVF) or packets (Opus from Ogg), ready to
// be replayed by any number of Replay sources at once. It is immutable once loaded.
type Clip struct {
	kind      webrtc.RTPCodecType
	capab     webrtc.RTPCodecCapability
	frames    []clipFrame
	firstKey  int // index of the first keyframe (video); replay restarts there on a keyframe request
	totalTime time.Duration
}

type clipFrame struct {
	data     []byte
	duration uint32 // in RTP clock units: how long until the next frame
}

// Limits on what a clip file may hold, so a hostile or corrupt file cannot exhaust memory.
const (
	maxClipBytes  = 256 << 20
	maxClipFrames = 1 << 20
	// fallbackFrame is the duration of a video frame whose timestamps say nothing useful: 30 fps.
	fallbackFrame = 90000 / 30
)

// Kind is audio or video.
func (c *Clip) Kind() webrtc.RTPCodecType { return c.kind }

// Frames is how many frames (video) or packets (audio) the clip holds.
func (c *Clip) Frames() int { return len(c.frames) }

// Duration is how long one pass of the clip plays.
func (c *Clip) Duration() time.Duration { return c.totalTime }

// LoadClip reads a clip from a file: .ivf (VP8) or .ogg/.opus (Opus), by content rather than extension.
func LoadClip(path string) (*Clip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("media: clip: %w", err)
	}
	defer func() { _ = f.Close() }()
	raw, err := io.ReadAll(io.LimitReader(f, maxClipBytes+1))
	if err != nil {
		return nil, fmt.Errorf("media: clip %s: %w", path, err)
	}
	if len(raw) > maxClipBytes {
		return nil, fmt.Errorf("media: clip %s: larger than %d bytes", path, maxClipBytes)
	}
	var clip *Clip
	switch {
	case bytes.HasPrefix(raw, []byte("DKIF")):
		clip, err = ParseIVF(raw)
	case bytes.HasPrefix(raw, []byte("OggS")):
		clip, err = ParseOgg(raw)
	default:
		err = errors.New("neither IVF nor Ogg")
	}
	if err != nil {
		return nil, fmt.Errorf("media: clip %s: %w", path, err)
	}
	return clip, nil
}

// ParseIVF reads a VP8 IVF file (what ffmpeg -c:v libvpx -f ivf writes) with pion's ivfreader. Frame
// durations come from the frames' timestamps; the clip must start a keyframe somewhere.
func ParseIVF(raw []byte) (*Clip, error) {
	if err := checkIVFSizes(raw); err != nil {
		return nil, err
	}
	r, hdr, err := ivfreader.NewWith(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("ivf: %w", err)
	}
	if hdr.FourCC != "VP80" {
		return nil, fmt.Errorf("ivf: codec %q is not VP8 (VP80)", hdr.FourCC)
	}
	c := &Clip{kind: webrtc.RTPCodecTypeVideo, capab: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, firstKey: -1}
	// pion reports Timestamp = pts*den/num (its den and num are the header's rate and scale); a pts unit
	// lasts num/den seconds, so the pts is Timestamp*num/den and a step of d units is d*num*90000/den ticks.
	num, den := uint64(hdr.TimebaseNumerator), uint64(hdr.TimebaseDenominator)
	var pts []uint64
	for len(c.frames) < maxClipFrames {
		frame, fh, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ivf frame %d: %w", len(c.frames), err)
		}
		if len(frame) == 0 {
			continue
		}
		if c.firstKey < 0 && frame[0]&0x01 == 0 { // VP8 frame tag: P=0 is a keyframe (RFC 6386 9.1)
			c.firstKey = len(c.frames)
		}
		c.frames = append(c.frames, clipFrame{data: frame})
		pts = append(pts, fh.Timestamp*num/den)
	}
	if len(c.frames) == 0 {
		return nil, errors.New("ivf: no frames")
	}
	if c.firstKey < 0 {
		return nil, errors.New("ivf: no keyframe")
	}
	for i := range c.frames {
		d := uint64(0)
		if i+1 < len(pts) && pts[i+1] > pts[i] {
			d = (pts[i+1] - pts[i]) * num * 90000 / den
		} else if i > 0 {
			d = uint64(c.frames[i-1].duration)
		}
		if d == 0 || d > 90000 { // a frame per second at the least
			d = fallbackFrame
		}
		c.frames[i].duration = uint32(d)
	}
	c.totalTime = c.sum(90000)
	return c, nil
}

// checkIVFSizes walks the frame headers before pion's reader does: it allocates each frame's declared
// size before reading it, so a corrupt size field would ask for up to 4 GiB.
func checkIVFSizes(raw []byte) error {
	const fileHeader, frameHeader = 32, 12
	for off := fileHeader; off < len(raw); {
		if len(raw)-off < frameHeader {
			return fmt.Errorf("ivf: truncated frame header at byte %d", off)
		}
		size := int64(binary.LittleEndian.Uint32(raw[off:]))
		if size > int64(len(raw)-off-frameHeader) {
			return fmt.Errorf("ivf: frame at byte %d claims %d bytes, more than the file holds", off, size)
		}
		off += frameHeader + int(size)
	}
	return nil
}

// ParseOgg reads an Ogg Opus file: the OpusHead packet (checked by pion's oggreader.ParseOpusHead), the
// OpusTags packet, then audio packets whose durations come from their TOC bytes (RFC 6716 3.1).
func ParseOgg(raw []byte) (*Clip, error) {
	packets, err := oggPackets(raw)
	if err != nil {
		return nil, err
	}
	if len(packets) < 3 || !bytes.HasPrefix(packets[0], []byte("OpusHead")) || !bytes.HasPrefix(packets[1], []byte("OpusTags")) {
		return nil, errors.New("ogg: not an Opus stream (OpusHead, OpusTags, then audio)")
	}
	if _, err := oggreader.ParseOpusHead(packets[0]); err != nil {
		return nil, fmt.Errorf("ogg: OpusHead: %w", err)
	}
	c := &Clip{kind: webrtc.RTPCodecTypeAudio, capab: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}
	for _, p := range packets[2:] {
		if n := codec.OpusSamples(p); n > 0 && len(c.frames) < maxClipFrames {
			c.frames = append(c.frames, clipFrame{data: p, duration: uint32(n)})
		}
	}
	if len(c.frames) == 0 {
		return nil, errors.New("ogg: no audio packets")
	}
	c.totalTime = c.sum(48000)
	return c, nil
}

func (c *Clip) sum(clockRate uint64) time.Duration {
	var ticks uint64
	for _, f := range c.frames {
		ticks += uint64(f.duration)
	}
	return time.Duration(ticks * uint64(time.Second) / clockRate)
}

// oggPackets splits an Ogg bitstream (RFC 3533) into the packets of its first logical stream. Each page
// has a 27-byte header and a table of segment sizes; a packet ends with the first segment shorter than
// 255 bytes and may continue across pages. pion's oggreader returns whole pages, which hold several
// Opus packets in files written by common encoders, hence this splitter. CRCs are not checked.
func oggPackets(raw []byte) ([][]byte, error) {
	const pageHeader = 27
	var (
		packets [][]byte
		cur     []byte
		serial  uint32
		started bool
	)
	for off := 0; off < len(raw); {
		if len(raw)-off < pageHeader {
			return nil, fmt.Errorf("ogg: truncated page header at byte %d", off)
		}
		h := raw[off : off+pageHeader]
		if string(h[:4]) != "OggS" || h[4] != 0 {
			return nil, fmt.Errorf("ogg: no page (or an unknown version) at byte %d", off)
		}
		segments := int(h[26])
		if len(raw)-off-pageHeader < segments {
			return nil, fmt.Errorf("ogg: truncated segment table at byte %d", off)
		}
		lacing := raw[off+pageHeader : off+pageHeader+segments]
		size := 0
		for _, l := range lacing {
			size += int(l)
		}
		body := off + pageHeader + segments
		if len(raw)-body < size {
			return nil, fmt.Errorf("ogg: truncated page body at byte %d", off)
		}
		pageSerial := binary.LittleEndian.Uint32(h[14:18])
		if !started {
			serial, started = pageSerial, true
		}
		if pageSerial == serial {
			p := raw[body : body+size]
			for _, l := range lacing {
				cur = append(cur, p[:l]...)
				p = p[l:]
				if l < 255 {
					packets = append(packets, cur)
					cur = nil
				}
			}
		}
		off = body + size
	}
	return packets, nil
}
