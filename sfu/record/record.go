// Package record writes one published track's RTP to a file without transcoding: Opus and VP8 to WebM,
// H.264 to Matroska. A TrackWriter reorders and reassembles the packets into frames (pion's samplebuilder),
// gives up frames whose packets stay missing (video then waits for the next keyframe), and hands whole
// frames to an ebml-go block writer; Close fixes the Segment's Duration in place.
//
// Locking: a TrackWriter is owned by one goroutine (the track's reader); it is not safe for concurrent
// use. Close may be called by another goroutine only once the owner stopped calling (with a
// happens-before edge, e.g. a channel). Inside, ebml-go writes from a goroutine of its own; the only state
// it shares with the owner is the file sink, which has its own mutex. Close must be called: it ends that
// goroutine.
package record

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// Options tunes a TrackWriter; the zero value is fine.
type Options struct {
	// MaxLate is how many packets the reorder buffer holds (reordering and NACK retransmissions arrive
	// late; a frame must fit in it); a missing packet is given up after this many newer ones. 0: 512 for
	// video (a frame of up to about 550 KB), 64 for audio.
	MaxLate uint16
	// MaxBytes stops writing once the next frame would take the file past this size (0: no limit); WriteRTP
	// then returns ErrQuota. The file written so far stays valid and is finished by Close.
	MaxBytes int64
}

var (
	// ErrQuota means the file reached Options.MaxBytes.
	ErrQuota = errors.New("record: file size quota reached")
	// ErrUnsupportedCodec means the mime type (or its parameters) cannot be recorded.
	ErrUnsupportedCodec = errors.New("record: unsupported codec")
)

// Summary describes a finished recording.
type Summary struct {
	Path       string
	Codec      string        // the mime
	FirstFrame time.Time     // arrival time of the first frame written (zero if none)
	Duration   time.Duration // media time from the first frame to the end of the last one (best estimate)
	Frames     int           // frames (video) or packets (audio) written
	Bytes      int64         // file size (0 if nothing was written: the empty file is removed)
	Gaps       int           // places where frames were given up for good (lost packets): holes in the media
	Width      int           // video: of the last keyframe written; 0 for audio
	Height     int
}

type codecKind int

const (
	kindOpus codecKind = iota + 1
	kindVP8
	kindH264
)

func kindOf(mime string) codecKind {
	switch {
	case strings.EqualFold(mime, "audio/opus"):
		return kindOpus
	case strings.EqualFold(mime, "video/VP8"):
		return kindVP8
	case strings.EqualFold(mime, "video/H264"):
		return kindH264
	}
	return 0
}

// FileExtension returns ".webm" for audio/opus and video/VP8, ".mkv" for video/H264 (the mime is matched
// case-insensitively); "" and false for anything else.
func FileExtension(mime string) (string, bool) {
	switch kindOf(mime) {
	case kindOpus, kindVP8:
		return ".webm", true
	case kindH264:
		return ".mkv", true
	}
	return "", false
}

// TrackWriter writes one track's RTP packets into one file. See the package doc for its locking rules.
type TrackWriter struct {
	path, mime string
	kind       codecKind
	clockRate  uint32
	channels   uint16
	opts       Options

	f    *os.File
	sink *fileSink
	sb   *samplebuilder.SampleBuilder
	dep  *depacketizer
	in   packetGuard

	pushed, startHold uint16 // packets pushed before the first Pop, see WriteRTP

	bw      webm.BlockWriteCloser // nil until the first usable frame (it needs the codec's parameters)
	durPos  int64                 // file offset of Info's Duration float, 0 if unknown
	err     error                 // sticky: once set, the writer is stopped
	closed  bool
	summary Summary
	cerr    error

	needKey   bool // video: waiting for a keyframe
	frames    int
	gaps      int
	lastTS    uint32
	ext       int64 // last written frame's timestamp in clock ticks since the first one (unwrapped)
	lastTicks int64 // duration of the last written frame in ticks (opus: from its TOC; video: last delta)
	lastLen   int   // size of the previous frame handed to the block writer (maybe not on disk yet)
	arrivals  arrivalRing
	lastSeen  time.Time // arrival of the latest packet (fallback for FirstFrame)

	width, height int
	h264          h264State
}

// NewTrackWriter creates path (O_CREATE|O_EXCL, mode 0o640) and writes the track into it.
// mime is e.g. "audio/opus", "video/VP8", "video/H264"; clockRate from the SDP (0: 48000 for opus, 90000
// for video); channels is opus's channel count from the SDP (0: 2; more than 2 is not supported).
func NewTrackWriter(path, mime string, clockRate uint32, channels uint16, opts Options) (*TrackWriter, error) {
	w := &TrackWriter{path: path, mime: mime, kind: kindOf(mime), clockRate: clockRate, channels: channels, opts: opts}
	var inner rtp.Depacketizer
	switch w.kind {
	case kindOpus:
		inner = &codecs.OpusPacket{}
		if w.channels == 0 {
			w.channels = 2
		}
		if w.channels > 2 {
			return nil, fmt.Errorf("%w: opus with %d channels", ErrUnsupportedCodec, channels)
		}
		if w.clockRate == 0 {
			w.clockRate = 48000
		}
		if w.opts.MaxLate == 0 {
			w.opts.MaxLate = 64
		}
	case kindVP8, kindH264:
		if w.kind == kindVP8 {
			inner = &codecs.VP8Packet{}
		} else {
			inner = &codecs.H264Packet{IsAVC: false} // Annex B out; converted to length prefixes per frame
		}
		if w.clockRate == 0 {
			w.clockRate = 90000
		}
		if w.opts.MaxLate == 0 {
			// The buffer must hold a whole frame: a 720p keyframe of a busy picture, or a detailed
			// screen share's, is hundreds of packets (with 256, such video was never recorded). The
			// price: an unrepaired loss holds the recording back for this many packets (about 3 s of
			// 720p) before it is marked as a gap. (samplebuilder's WithMaxTimeDelay would bound that by
			// time, but it scans its buffer on every packet: ten times slower here under -race.)
			w.opts.MaxLate = 512
		}
		w.needKey = true
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedCodec, mime)
	}
	w.startHold = min(w.opts.MaxLate/2, 32)
	w.dep = &depacketizer{inner: inner}
	w.in.init()
	w.sb = samplebuilder.New(w.opts.MaxLate, w.dep, w.clockRate,
		samplebuilder.WithPacketReleaseHandler(w.in.release))

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("record: create %s: %w", path, err)
	}
	w.f = f
	w.sink = &fileSink{f: f, path: path}
	return w, nil
}

// WriteRTP takes packets in arrival order (they may be reordered, duplicated or missing); arrival is when
// the packet arrived. It does not keep p or p.Payload. It returns ErrQuota, or a write error of the file
// wrapped with %w; after any error the writer is stopped and further calls return the same error. The
// block writer writes on its own goroutine, so a write error may surface one call late.
func (w *TrackWriter) WriteRTP(p *rtp.Packet, arrival time.Time) error {
	if w.closed {
		return fmt.Errorf("record: %s: write after Close: %w", w.path, os.ErrClosed)
	}
	if w.err != nil {
		return w.err
	}
	if p == nil {
		return nil
	}
	w.lastSeen = arrival
	if w.frames == 0 {
		w.arrivals.note(p.Timestamp, arrival)
	}
	pkt := w.in.admit(p)
	if pkt == nil {
		return nil // duplicate, or older than what the builder already gave up
	}
	w.sb.Push(pkt)
	if w.pushed < w.startHold {
		// The builder starts its frame search at the first packet it sees and discards anything that
		// arrives before it; not popping yet leaves it free to take earlier packets of a reordered start.
		w.pushed++
		return nil
	}
	w.drain()
	return w.err
}

// drain hands every frame the sample builder completed (or gave up on) to the container.
func (w *TrackWriter) drain() {
	for w.err == nil {
		s := w.sb.Pop()
		if s == nil {
			// A frame whose payload failed to depacketize vanishes inside the builder without counting
			// as dropped; the next frame then lacks its reference, so treat it as lost here.
			if w.dep.failed {
				w.dep.failed = false
				w.lost()
			}
			break
		}
		if s.PrevDroppedPackets > 0 || w.dep.failed {
			w.dep.failed = false
			w.lost()
		}
		w.writeFrame(s.Data, s.PacketTimestamp, s.Duration)
	}
	if w.err == nil {
		if err := w.sink.failure(); err != nil {
			w.err = err
		}
	}
}

// NeedKeyframe reports whether the writer waits for a keyframe: video before the first frame and after a
// frame was lost for good, until the next keyframe; always false for audio and once the writer stopped.
// The caller asks the publisher for one (PLI) while it is true.
func (w *TrackWriter) NeedKeyframe() bool {
	return w.needKey && !w.closed && w.err == nil
}

// Close writes out the frames still buffered (unless the writer stopped on an error), finishes the file,
// fixes the Segment's Duration and closes it. If no frame was written, the empty file is removed.
// Close is idempotent: later calls return the same Summary and error.
func (w *TrackWriter) Close() (Summary, error) {
	if w.closed {
		return w.summary, w.cerr
	}
	w.closed = true
	if w.err == nil {
		w.sb.Flush()
		w.drain()
	}
	w.sb = nil // the builder holds 1 MiB of slots; the writer may outlive Close in the caller's bookkeeping

	s := Summary{Path: w.path, Codec: w.mime, Frames: w.frames, Gaps: w.gaps, Width: w.width, Height: w.height}
	if w.frames > 0 {
		s.FirstFrame = w.arrivals.first
		s.Duration = w.ticksToDuration(w.ext + w.lastTicks)
	}
	var errs []error
	if w.err != nil && !errors.Is(w.err, ErrQuota) {
		errs = append(errs, w.err)
	}
	if w.bw != nil {
		errs = append(errs, w.finish(s.Duration))
		if fi, err := w.f.Stat(); err == nil {
			s.Bytes = fi.Size()
		} else {
			errs = append(errs, fmt.Errorf("record: stat %s: %w", w.path, err))
		}
	}
	if err := w.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("record: close %s: %w", w.path, err))
	}
	if w.bw == nil {
		// Nothing to play (e.g. video that never got a keyframe): an empty file is not a valid one.
		if err := os.Remove(w.path); err != nil {
			errs = append(errs, fmt.Errorf("record: remove empty %s: %w", w.path, err))
		}
	}
	w.summary, w.cerr = s, joinErrs(errs)
	return w.summary, w.cerr
}

// ticksToDuration converts clock ticks without overflowing for long recordings.
func (w *TrackWriter) ticksToDuration(t int64) time.Duration {
	cr := int64(w.clockRate)
	return time.Duration(t/cr)*time.Second + time.Duration(t%cr)*time.Second/time.Duration(cr)
}

// joinErrs returns nil, the only error unchanged, or all of them joined.
func joinErrs(errs []error) error {
	var out []error
	for _, e := range errs {
		if e != nil && !slices.Contains(out, e) { // the sink's sticky error may come back twice
			out = append(out, e)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return errors.Join(out...)
}
