package record

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

type codecCase struct {
	mime, codec, ext string
	width, height    int
}

var codecCases = []codecCase{
	{"video/VP8", "vp8", ".webm", 640, 360},
	{"audio/opus", "opus", ".webm", 0, 0},
	{"video/H264", "h264", ".mkv", 640, 360},
}

func newWriter(t *testing.T, mime string, opts Options) (*TrackWriter, string) {
	t.Helper()
	ext, ok := FileExtension(mime)
	if !ok {
		t.Fatalf("FileExtension(%q) not ok", mime)
	}
	path := filepath.Join(t.TempDir(), "track"+ext)
	w, err := NewTrackWriter(path, mime, 0, 2, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, path
}

// checkFile asserts what every finished recording must satisfy: the codec, a clean decode, the decoder
// reading Summary.Frames frames, and the container's duration agreeing with Summary.Duration and with
// the media fed (within 0.1 s), and the structure readBack checks. It returns readBack's keyframe count.
func checkFile(t *testing.T, sum Summary, codec string, fed time.Duration) (keyframes int) {
	t.Helper()
	fi, err := os.Stat(sum.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != sum.Bytes {
		t.Errorf("Summary.Bytes = %d, file has %d", sum.Bytes, fi.Size())
	}
	if errs := decodeErrors(t, sum.Path); errs != "" {
		t.Errorf("ffmpeg decode errors:\n%s", errs)
	}
	p := ffprobe(t, sum.Path)
	if p.Codec != codec {
		t.Errorf("codec %q, want %q", p.Codec, codec)
	}
	if p.Frames != sum.Frames {
		t.Errorf("decoder read %d frames, Summary.Frames = %d", p.Frames, sum.Frames)
	}
	if d := math.Abs(p.Duration - fed.Seconds()); d > 0.1 {
		t.Errorf("ffprobe duration %.3f s, fed %.3f s", p.Duration, fed.Seconds())
	}
	if d := math.Abs(p.Duration - sum.Duration.Seconds()); d > 0.002 {
		t.Errorf("ffprobe duration %.3f s, Summary.Duration %v", p.Duration, sum.Duration)
	}
	return readBack(t, sum)
}

// TestCodecs writes each codec's stream in order: every frame lands, the file decodes cleanly and says
// the right codec, size and duration.
func TestCodecs(t *testing.T) {
	for _, c := range codecCases {
		t.Run(c.codec, func(t *testing.T) {
			s := loadStream(t, c.mime)
			w, path := newWriter(t, c.mime, Options{})
			if got, want := w.NeedKeyframe(), c.width > 0; got != want {
				t.Errorf("NeedKeyframe before any packet = %v, want %v", got, want)
			}
			for i, p := range s.pkts {
				if err := w.WriteRTP(p, arrivalOf(i)); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
			}
			if w.NeedKeyframe() {
				t.Error("NeedKeyframe after a clean stream")
			}
			sum, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := Summary{Path: path, Codec: c.mime, FirstFrame: arrival0, Duration: s.fed, Frames: s.frames(),
				Bytes: sum.Bytes, Width: c.width, Height: c.height}
			if sum.Duration-s.fed > time.Millisecond || s.fed-sum.Duration > time.Millisecond {
				want.Duration = sum.Duration // reported below with the exact numbers
				t.Errorf("Summary.Duration %v, fed %v", sum.Duration, s.fed)
			}
			if sum != want {
				t.Errorf("Summary\n got %+v\nwant %+v", sum, want)
			}
			keys := checkFile(t, sum, c.codec, s.fed)
			fedKeys := 0
			for _, k := range s.keyframe {
				if k {
					fedKeys++
				}
			}
			if keys != fedKeys {
				t.Errorf("%d blocks flagged keyframe, %d fed", keys, fedKeys)
			}
			if again, err := w.Close(); err != nil || again != sum {
				t.Errorf("second Close: %+v, %v", again, err)
			}
		})
	}
}

// TestReorderDuplicate shuffles packets within windows of 5 and sends every 7th packet twice (once late):
// the builder restores the order, the duplicates are ignored, nothing counts as lost.
func TestReorderDuplicate(t *testing.T) {
	for _, c := range codecCases {
		t.Run(c.codec, func(t *testing.T) {
			s := loadStream(t, c.mime)
			rng := rand.New(rand.NewPCG(1, 2))
			var pkts []*rtp.Packet
			for i := 0; i < len(s.pkts); i += 5 {
				win := append([]*rtp.Packet(nil), s.pkts[i:min(i+5, len(s.pkts))]...)
				rng.Shuffle(len(win), func(a, b int) { win[a], win[b] = win[b], win[a] })
				pkts = append(pkts, win...)
				if i%7 == 0 && i > 0 {
					pkts = append(pkts, s.pkts[i-1]) // a retransmission of something already consumed
				}
				if i%3 == 0 {
					pkts = append(pkts, win[0]) // a duplicate still in the builder
				}
			}
			writeAllLossless(t, c, s, pkts)
		})
	}
}

// TestLoss drops every packet of one frame in the middle. Video: a gap, NeedKeyframe until the next
// keyframe, the delta frames before it left out, still a clean decode. Audio: a gap and one packet less.
func TestLoss(t *testing.T) {
	for _, c := range codecCases {
		t.Run(c.codec, func(t *testing.T) {
			s := loadStream(t, c.mime)
			const lostFrame = 40
			if c.width > 0 && s.keyframe[lostFrame] {
				t.Fatalf("frame %d is a keyframe", lostFrame)
			}
			next := lostFrame + 1 // the next keyframe
			for c.width > 0 && !s.keyframe[next] {
				next++
			}
			wantFrames := s.frames() - (next - lostFrame)
			w, _ := newWriter(t, c.mime, Options{MaxLate: 16})
			var asked, resumed bool
			for i, p := range s.pkts {
				f := s.frameOf[i]
				if f == lostFrame {
					continue
				}
				if err := w.WriteRTP(p, arrivalOf(i)); err != nil {
					t.Fatal(err)
				}
				need := w.NeedKeyframe()
				switch {
				case f > 10 && f < lostFrame && need: // the first keyframe is out by frame 10
					t.Fatalf("NeedKeyframe at frame %d, before the loss", f)
				case need && f < next:
					asked = true
				case need && f > next:
					t.Fatalf("NeedKeyframe still true at frame %d, after the keyframe at %d", f, next)
				case !need && asked && f >= next:
					resumed = true
				}
			}
			if c.width > 0 && (!asked || !resumed) {
				t.Errorf("NeedKeyframe: turned true %v, back to false after the keyframe %v", asked, resumed)
			}
			if c.width == 0 && asked {
				t.Error("NeedKeyframe for audio")
			}
			sum, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			if sum.Gaps != 1 || sum.Frames != wantFrames {
				t.Errorf("Gaps %d Frames %d, want 1 and %d", sum.Gaps, sum.Frames, wantFrames)
			}
			checkFile(t, sum, c.codec, s.fed)
		})
	}
}

// TestPadding puts padding-only packets (what a sender probes bandwidth with) between the frames: they
// are neither frames nor losses.
func TestPadding(t *testing.T) {
	for _, c := range codecCases {
		t.Run(c.codec, func(t *testing.T) {
			s := loadStream(t, c.mime)
			var pkts []*rtp.Packet
			seq := uint16(firstSeq)
			for i, p := range s.pkts {
				q := *p
				q.SequenceNumber = seq
				seq++
				pkts = append(pkts, &q)
				if p.Marker && i%4 == 0 {
					pkts = append(pkts, &rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: 200,
						PayloadType: p.PayloadType, SequenceNumber: seq, Timestamp: p.Timestamp, SSRC: p.SSRC}})
					seq++
				}
			}
			writeAllLossless(t, c, s, pkts)
		})
	}
}

// TestQuota stops at a small MaxBytes: ErrQuota then and on every later call, the file stays within the
// quota, and Close still leaves a complete, cleanly decoding file of what was written.
func TestQuota(t *testing.T) {
	for _, c := range codecCases {
		t.Run(c.codec, func(t *testing.T) {
			s := loadStream(t, c.mime)
			var size int64
			for _, p := range s.pkts {
				size += int64(len(p.Payload))
			}
			quota := size / 3
			if c.width == 0 {
				quota += audioCuesBytes
			}
			w, _ := newWriter(t, c.mime, Options{MaxBytes: quota})
			var qerr error
			for i, p := range s.pkts {
				if qerr = w.WriteRTP(p, arrivalOf(i)); qerr != nil {
					break
				}
			}
			if !errors.Is(qerr, ErrQuota) {
				t.Fatalf("WriteRTP: %v, want ErrQuota", qerr)
			}
			if err := w.WriteRTP(s.pkts[len(s.pkts)-1], arrivalOf(len(s.pkts))); err != qerr {
				t.Errorf("WriteRTP after the quota: %v, want the same error", err)
			}
			if w.NeedKeyframe() {
				t.Error("NeedKeyframe after the writer stopped")
			}
			sum, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			if sum.Bytes > quota || sum.Frames == 0 || sum.Frames >= s.frames() {
				t.Errorf("Bytes %d (quota %d), Frames %d of %d", sum.Bytes, quota, sum.Frames, s.frames())
			}
			checkFile(t, sum, c.codec, sum.Duration)
		})
	}
}

// TestWriteError makes the file's writes fail with ENOSPC (/dev/full): the error comes back wrapped,
// sticks, and Close reports it.
func TestWriteError(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	w, _ := newWriter(t, "audio/opus", Options{})
	w.sink.f = full // the sink's writes now fail; Close still closes the real file
	defer full.Close()
	var werr error
	p := &rtp.Packet{Payload: bytes.Repeat([]byte{31 << 3}, 400)} // 20 ms each: the sink flushes every 32 KiB
	for i := 0; i < 500 && werr == nil; i++ {
		p.SequenceNumber, p.Timestamp = uint16(i), uint32(i*960)
		werr = w.WriteRTP(p, arrivalOf(i))
	}
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("WriteRTP: %v, want ENOSPC", werr)
	}
	if err := w.WriteRTP(p, arrival0); err != werr {
		t.Errorf("later WriteRTP: %v, want the same error", err)
	}
	if _, err := w.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close: %v, want ENOSPC", err)
	}
}

// TestAPI covers the small contract points: extensions, refused codecs and paths, Close without frames,
// writes after Close.
func TestAPI(t *testing.T) {
	for _, tc := range []struct {
		mime, ext string
		ok        bool
	}{
		{"audio/opus", ".webm", true}, {"AUDIO/OPUS", ".webm", true}, {"video/VP8", ".webm", true},
		{"video/vp8", ".webm", true}, {"video/H264", ".mkv", true}, {"video/h264", ".mkv", true},
		{"video/VP9", "", false}, {"audio/PCMU", "", false}, {"", "", false},
	} {
		if ext, ok := FileExtension(tc.mime); ext != tc.ext || ok != tc.ok {
			t.Errorf("FileExtension(%q) = %q, %v", tc.mime, ext, ok)
		}
	}

	dir := t.TempDir()
	for _, tc := range []struct {
		mime     string
		channels uint16
	}{{"video/VP9", 0}, {"audio/opus", 6}} {
		if _, err := NewTrackWriter(filepath.Join(dir, "x"), tc.mime, 0, tc.channels, Options{}); !errors.Is(err, ErrUnsupportedCodec) {
			t.Errorf("NewTrackWriter(%s, %d channels): %v, want ErrUnsupportedCodec", tc.mime, tc.channels, err)
		}
	}
	path := filepath.Join(dir, "exists.webm")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewTrackWriter(path, "video/VP8", 90000, 0, Options{}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("NewTrackWriter over an existing file: %v, want ErrExist", err)
	}

	// Video without a keyframe: nothing written, the empty file removed.
	w, err := NewTrackWriter(filepath.Join(dir, "nokey.webm"), "video/VP8", 90000, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "nokey.webm")); err != nil || fi.Mode().Perm()&^0o640 != 0 { // 0o640 less the umask
		t.Errorf("created file: %v, %v", fi, err)
	}
	delta := &rtp.Packet{Header: rtp.Header{Marker: true, SequenceNumber: 1, Timestamp: 1},
		Payload: []byte{0x10, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a}}
	for i := 0; i < 3; i++ {
		delta.SequenceNumber, delta.Timestamp = uint16(i), uint32(i*3000)
		if err := w.WriteRTP(delta, arrival0); err != nil {
			t.Fatal(err)
		}
		if !w.NeedKeyframe() {
			t.Error("NeedKeyframe false before any keyframe")
		}
	}
	sum, err := w.Close()
	if err != nil || sum.Frames != 0 || sum.Bytes != 0 || !sum.FirstFrame.IsZero() {
		t.Errorf("Close without frames: %+v, %v", sum, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nokey.webm")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty file left behind: %v", err)
	}
	if err := w.WriteRTP(delta, arrival0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("WriteRTP after Close: %v, want ErrClosed", err)
	}
	if w.NeedKeyframe() {
		t.Error("NeedKeyframe after Close")
	}
}

// writeAllLossless writes pkts (the stream s, reordered or padded but with nothing lost) and checks that
// every frame arrived, with no gap, in a file that decodes cleanly.
func writeAllLossless(t *testing.T, c codecCase, s *stream, pkts []*rtp.Packet) {
	t.Helper()
	w, _ := newWriter(t, c.mime, Options{})
	for i, p := range pkts {
		if err := w.WriteRTP(p, arrivalOf(i)); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Frames != s.frames() || sum.Gaps != 0 {
		t.Errorf("Frames %d Gaps %d, want %d and 0", sum.Frames, sum.Gaps, s.frames())
	}
	checkFile(t, sum, c.codec, s.fed)
}
