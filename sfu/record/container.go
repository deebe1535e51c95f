package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
)

const (
	// durationPlaceholder makes ebml-go write Info's Duration (it omits a zero) as an 8-byte float that
	// Close overwrites in place.
	durationPlaceholder = 1.0
	// audioCuesBytes is reserved after the header for the audio track's Cues (a cue per 5 s cluster is
	// ~20 bytes: an hour fits; ebml-go thins the cues out if a longer recording does not).
	audioCuesBytes = 16 << 10
	// audioClusterMs: audio frames are all keyframes, so clusters are cut by time.
	audioClusterMs = 5000
	headerCapture  = 4 << 10
)

// Element bytes: Info's ID, and Duration's ID followed by the size byte of an 8-byte float.
var (
	infoID       = []byte{0x15, 0x49, 0xA9, 0x66}
	durationElem = []byte{0x44, 0x89, 0x88}
)

// start creates the block writer at the first usable frame, when the codec's parameters are known.
func (w *TrackWriter) start(width, height int) error {
	track := webm.TrackEntry{
		TrackNumber: 1,
		TrackUID:    rand.Uint64() | 1, // must not be 0
	}
	header := *webm.DefaultEBMLHeader
	opts := []mkvcore.BlockWriterOption{
		mkvcore.WithEBMLHeader(&header),
		// Frames arrive in order already; ebml-go's default sorter would keep (and reorder) references to
		// our buffers past Write.
		mkvcore.WithBlockInterceptor(nil),
		mkvcore.WithSeekHead(true),
		mkvcore.WithOnFatalHandler(w.sink.fatal),
		mkvcore.WithOnErrorHandler(func(error) {}), // only "too old frame", which monotonic timecodes rule out
	}
	switch w.kind {
	case kindOpus:
		track.CodecID = "A_OPUS"
		track.TrackType = 2
		track.CodecPrivate = opusHead(w.channels)
		track.SeekPreRoll = 80 * uint64(time.Millisecond) // what the Matroska Opus mapping asks for
		track.Audio = &webm.Audio{SamplingFrequency: 48000, Channels: uint64(w.channels)}
		opts = append(opts,
			mkvcore.WithCues(audioCuesBytes),
			mkvcore.WithMinMaxClusterDuration(1, audioClusterMs, 0x7FFF))
	case kindVP8, kindH264:
		track.TrackType = 1
		track.Video = &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)}
		if w.kind == kindVP8 {
			track.CodecID = "V_VP8"
		} else {
			track.CodecID = "V_MPEG4/ISO/AVC"
			track.CodecPrivate = w.h264.avcC()
			header.DocType = "matroska"
		}
		// A new Cluster at every keyframe. No Cues for video: ebml-go cuts a cluster also every 32 s and
		// would index it even when it starts with a delta frame, a bad seek target.
		opts = append(opts, mkvcore.WithMinMaxClusterDuration(1, 0, 0x7FFF))
	}
	info := &webm.Info{
		TimecodeScale: uint64(time.Millisecond), // timecodes in ms
		MuxingApp:     "huddle record (ebml-go)",
		WritingApp:    "huddle",
		Duration:      durationPlaceholder,
		DateUTC:       w.arrivals.first,
	}
	opts = append(opts, mkvcore.WithSegmentInfo(info))

	w.sink.setCapture(true)
	ws, err := webm.NewSimpleBlockWriter(w.sink, []webm.TrackEntry{track}, opts...)
	hdr := w.sink.setCapture(false) // the header went out synchronously; frames go from ebml-go's goroutine
	if err != nil {
		return fmt.Errorf("record: %s: start matroska: %w", w.path, err)
	}
	w.bw = ws[0] // set even if the header failed to write: Close must end the block writer's goroutine
	if err := w.sink.failure(); err != nil {
		return err
	}
	if i := bytes.Index(hdr, infoID); i >= 0 {
		if j := bytes.Index(hdr[i:], durationElem); j >= 0 {
			w.durPos = int64(i + j + len(durationElem))
		}
	}
	return nil
}

// finish closes the block writer (which writes the last Cluster and the Cues, and closes the sink, which
// only flushes) and then patches Info's Duration, in ms, with the real media duration.
func (w *TrackWriter) finish(d time.Duration) error {
	if err := w.bw.Close(); err != nil {
		return fmt.Errorf("record: %s: close matroska: %w", w.path, err)
	}
	if err := w.sink.failure(); err != nil {
		return err
	}
	if w.durPos == 0 {
		return nil
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], math.Float64bits(float64(d)/float64(time.Millisecond)))
	_, _ = w.sink.WriteAt(b[:], w.durPos) // a failure sticks in the sink
	return w.sink.failure()
}

// fileSink is the io.WriteCloser (and io.WriterAt, for the Cues) that ebml-go writes to, from the
// goroutine of its block writer. ebml-go panics or stops its goroutine on a write error, which would
// leave our next Write blocked forever; so the sink keeps the first error for the TrackWriter to
// report, reports success to ebml-go, and discards everything after it. It also batches ebml-go's many
// small writes (ID, size and data of each element) into one write(2) per sinkBuffer bytes.
type fileSink struct {
	f    *os.File
	path string

	mu  sync.Mutex
	buf []byte
	n   int64 // bytes appended so far, buffered or not
	err error

	capture bool         // while the header is written
	header  bytes.Buffer // the header's first bytes, to find Duration in
}

const sinkBuffer = 32 << 10

// setCapture starts or stops keeping the header's bytes; stopping returns them.
func (s *fileSink) setCapture(on bool) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.capture = on
	hdr := s.header.Bytes()
	if !on {
		s.header = bytes.Buffer{}
	}
	return hdr
}

func (s *fileSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.capture && s.header.Len() < headerCapture {
		s.header.Write(p)
	}
	s.n += int64(len(p))
	if s.err == nil {
		if s.buf == nil {
			s.buf = make([]byte, 0, sinkBuffer)
		}
		s.buf = append(s.buf, p...)
		if len(s.buf) >= sinkBuffer {
			s.flushLocked()
		}
	}
	return len(p), nil
}

func (s *fileSink) flushLocked() {
	if s.err == nil && len(s.buf) > 0 {
		if _, err := s.f.Write(s.buf); err != nil {
			s.err = fmt.Errorf("record: write %s: %w", s.path, err)
		}
	}
	s.buf = s.buf[:0]
}

// WriteAt overwrites what was written before (the reserved space for the Cues, the Duration).
func (s *fileSink) WriteAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked()
	if s.err == nil {
		if _, err := s.f.WriteAt(p, off); err != nil {
			s.err = fmt.Errorf("record: write %s: %w", s.path, err)
		}
	}
	return len(p), nil
}

// Close only flushes: the TrackWriter patches the Duration and closes the file after ebml-go is done.
func (s *fileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked()
	return nil
}

func (s *fileSink) fatal(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = fmt.Errorf("record: matroska %s: %w", s.path, err)
	}
}

func (s *fileSink) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// size is the file's size once everything written so far is flushed.
func (s *fileSink) size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
