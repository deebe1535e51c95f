package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/huddlehq/huddle/sfu/codec"

	"github.com/huddlehq/huddle/sfu/record/ffmpegtest"
)

// The test media: 3 s of each codec made by ffmpeg once per test binary, packetized like a browser would
// (MTU 1200) with sequence numbers and RTP timestamps that wrap around early in the stream.
const (
	mediaSeconds = 3
	mtu          = 1200
	firstSeq     = 65500                // wraps after 35 packets
	firstTS      = 0xFFFFFFFF - 10*3000 // wraps after 10 video frames (or 0.625 s of audio)
)

var (
	mediaOnce sync.Once
	mediaDir  string
	mediaErr  error
	arrival0  = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

func TestMain(m *testing.M) {
	code := m.Run()
	if mediaDir != "" {
		os.RemoveAll(mediaDir)
	}
	os.Exit(code)
}

// mediaFile returns the path of the generated file for mime.
func mediaFile(tb testing.TB, mime string) string {
	tb.Helper()
	ffmpeg, _ := ffmpegtest.Tools(tb)
	mediaOnce.Do(func() {
		if mediaDir, mediaErr = os.MkdirTemp("", "record-media-"); mediaErr != nil {
			return
		}
		src := []string{"-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-t", strconv.Itoa(mediaSeconds)}
		for _, args := range [][]string{
			append(src, "-c:v", "libvpx", "-g", "30", "-b:v", "500k", "-deadline", "realtime", "-cpu-used", "8", "vp8.ivf"),
			{"-f", "lavfi", "-i", "sine=frequency=440", "-t", strconv.Itoa(mediaSeconds),
				"-c:a", "libopus", "-page_duration", "20000", "opus.ogg"}, // one packet per Ogg page
			append(src, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-g", "30",
				"-keyint_min", "30", "-sc_threshold", "0", "-bsf:v", "h264_mp4toannexb", "-f", "h264", "h264.h264"),
		} {
			cmd := exec.Command(ffmpeg, append([]string{"-v", "error", "-y"}, args...)...)
			cmd.Dir = mediaDir
			if out, err := cmd.CombinedOutput(); err != nil {
				mediaErr = errors.Join(err, errors.New(string(out)))
				return
			}
		}
	})
	if mediaErr != nil {
		tb.Fatalf("generate media: %v", mediaErr)
	}
	return filepath.Join(mediaDir, map[string]string{
		"video/VP8": "vp8.ivf", "audio/opus": "opus.ogg", "video/H264": "h264.h264"}[mime])
}

// stream is a packetized test medium.
type stream struct {
	mime     string
	clock    uint32
	ticks    uint32        // per frame
	pkts     []*rtp.Packet // in sending order
	frameOf  []int         // frame index of each packet
	keyframe []bool        // per frame
	fed      time.Duration // media duration fed: frames × frame duration
}

func (s *stream) frames() int { return len(s.keyframe) }

// loadStream reads the generated file for mime and packetizes it.
func loadStream(tb testing.TB, mime string) *stream {
	tb.Helper()
	f, err := os.Open(mediaFile(tb, mime))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	s := &stream{mime: mime, clock: 90000, ticks: 3000}
	var payloader rtp.Payloader
	var frames [][]byte
	switch mime {
	case "video/VP8":
		payloader = &codecs.VP8Payloader{EnablePictureID: true}
		r, _, err := ivfreader.NewWith(f)
		if err != nil {
			tb.Fatal(err)
		}
		for {
			frame, _, err := r.ParseNextFrame()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				tb.Fatal(err)
			}
			frames = append(frames, frame)
			s.keyframe = append(s.keyframe, frame[0]&1 == 0)
		}
	case "audio/opus":
		payloader, s.clock, s.ticks = &codecs.OpusPayloader{}, 48000, 960
		r, _, err := oggreader.NewWith(f)
		if err != nil {
			tb.Fatal(err)
		}
		for {
			page, _, err := r.ParseNextPage()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				tb.Fatal(err)
			}
			if bytes.HasPrefix(page, []byte("OpusTags")) {
				continue
			}
			if n := codec.OpusSamples(page); n != 960 {
				tb.Fatalf("ogg page %d holds %d samples, want one 20 ms packet", len(frames), n)
			}
			frames = append(frames, page)
			s.keyframe = append(s.keyframe, true)
		}
	case "video/H264":
		payloader = &codecs.H264Payloader{}
		r, err := h264reader.NewReader(f)
		if err != nil {
			tb.Fatal(err)
		}
		var au []byte // an access unit: parameter sets, then one slice (x264 writes one per picture)
		for {
			nal, err := r.NextNAL()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				tb.Fatal(err)
			}
			au = append(append(au, 0, 0, 0, 1), nal.Data...)
			if t := nal.UnitType; t == h264reader.NalUnitTypeCodedSliceNonIdr || t == h264reader.NalUnitTypeCodedSliceIdr {
				frames = append(frames, au)
				s.keyframe = append(s.keyframe, t == h264reader.NalUnitTypeCodedSliceIdr)
				au = nil
			}
		}
	}
	p := rtp.NewPacketizerWithOptions(mtu, payloader, rtp.NewFixedSequencer(firstSeq), s.clock,
		rtp.WithPayloadType(96), rtp.WithSSRC(0x1234), rtp.WithTimestamp(firstTS))
	for i, frame := range frames {
		for _, pkt := range p.Packetize(frame, s.ticks) {
			s.pkts = append(s.pkts, pkt)
			s.frameOf = append(s.frameOf, i)
		}
	}
	if len(frames) == 0 || !s.keyframe[0] {
		tb.Fatalf("%s: %d frames, first a keyframe: %v", mime, len(frames), len(frames) > 0 && s.keyframe[0])
	}
	s.fed = time.Duration(len(frames)) * time.Second * time.Duration(s.ticks) / time.Duration(s.clock)
	return s
}

// arrivalOf is the synthetic arrival time of the i-th packet sent (1 ms apart).
func arrivalOf(i int) time.Time { return arrival0.Add(time.Duration(i) * time.Millisecond) }

// probe is what ffprobe says about a file.
type probe struct {
	Codec    string
	Duration float64 // seconds, from the container
	Frames   int     // frames (packets for audio) the decoder read
}

func ffprobe(tb testing.TB, path string) probe {
	tb.Helper()
	_, ffprobe := ffmpegtest.Tools(tb)
	out, err := exec.Command(ffprobe, "-v", "error", "-count_frames",
		"-show_entries", "stream=codec_name,nb_read_frames:format=duration", "-of", "json", path).Output()
	if err != nil {
		tb.Fatalf("ffprobe %s: %v", path, err)
	}
	var res struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Streams) != 1 {
		tb.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	var p probe
	p.Codec = res.Streams[0].CodecName
	p.Duration, _ = strconv.ParseFloat(res.Format.Duration, 64)
	p.Frames, _ = strconv.Atoi(res.Streams[0].NbReadFrames)
	return p
}

// decodeErrors decodes the whole file and returns what ffmpeg printed on stderr (nothing when clean).
func decodeErrors(tb testing.TB, path string) string {
	tb.Helper()
	ffmpeg, _ := ffmpegtest.Tools(tb)
	var stderr bytes.Buffer
	cmd := exec.Command(ffmpeg, "-v", "error", "-i", path, "-f", "null", "-")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil && stderr.Len() == 0 {
		return err.Error()
	}
	return stderr.String()
}

// readBack parses a finished file with ebml-go's reader and checks its structure: the block count, a
// keyframe first, timecodes that never go back, and Info's Duration equal to Summary.Duration. It returns
// how many blocks are flagged as keyframes.
func readBack(tb testing.TB, sum Summary) (keyframes int) {
	tb.Helper()
	f, err := os.Open(sum.Path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var file struct {
		Header  webm.EBMLHeader `ebml:"EBML"`
		Segment webm.Segment    `ebml:"Segment"`
	}
	if err := ebml.Unmarshal(f, &file, ebml.WithIgnoreUnknown(true)); err != nil {
		tb.Fatalf("read back %s: %v", sum.Path, err)
	}
	blocks, last := 0, int64(-1)
	for _, c := range file.Segment.Cluster {
		for _, b := range c.SimpleBlock {
			tc := int64(c.Timecode) + int64(b.Timecode)
			if blocks == 0 && (!b.Keyframe || tc != 0) {
				tb.Errorf("first block: keyframe %v, timecode %d", b.Keyframe, tc)
			}
			if tc < last {
				tb.Errorf("block %d: timecode %d after %d", blocks, tc, last)
			}
			if b.Keyframe {
				keyframes++
			}
			last = tc
			blocks++
		}
	}
	if blocks != sum.Frames {
		tb.Errorf("%d blocks in the file, Summary.Frames %d", blocks, sum.Frames)
	}
	if d := file.Segment.Info.Duration; math.Abs(d-float64(sum.Duration)/float64(time.Millisecond)) > 1e-6 {
		tb.Errorf("Info.Duration %v ms, Summary.Duration %v", d, sum.Duration)
	}
	return keyframes
}
