package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/huddlehq/huddle/sfu/codec"
)

// ivfFile builds an IVF file: rate/scale as the header's bytes 16-23, frames at the given pts.
func ivfFile(fourcc string, rate, scale uint32, frames [][]byte, pts []uint64) []byte {
	var b bytes.Buffer
	hdr := make([]byte, 32)
	copy(hdr, "DKIF")
	binary.LittleEndian.PutUint16(hdr[6:], 32)
	copy(hdr[8:], fourcc)
	binary.LittleEndian.PutUint16(hdr[12:], 640)
	binary.LittleEndian.PutUint16(hdr[14:], 360)
	binary.LittleEndian.PutUint32(hdr[16:], rate)
	binary.LittleEndian.PutUint32(hdr[20:], scale)
	binary.LittleEndian.PutUint32(hdr[24:], uint32(len(frames)))
	b.Write(hdr)
	for i, f := range frames {
		fh := make([]byte, 12)
		binary.LittleEndian.PutUint32(fh, uint32(len(f)))
		binary.LittleEndian.PutUint64(fh[4:], pts[i])
		b.Write(fh)
		b.Write(f)
	}
	return b.Bytes()
}

// vp8Frame is a frame whose first byte carries the frame tag's P bit (0: keyframe).
func vp8Frame(key bool, size int) []byte {
	f := bytes.Repeat([]byte{0x5a}, size)
	f[0] = 0x10 // show_frame, version 0, P=0
	if !key {
		f[0] |= 0x01
	}
	return f
}

func TestParseIVF(t *testing.T) {
	frames := [][]byte{vp8Frame(true, 5000), vp8Frame(false, 800), vp8Frame(false, 800), vp8Frame(false, 800)}
	tests := []struct {
		name        string
		rate, scale uint32
		pts         []uint64
		want        uint32 // ticks per frame
	}{
		{"timebase 1/30, pts counts frames", 30, 1, []uint64{0, 1, 2, 3}, 3000},
		{"timebase 1/1000, pts in ms", 1000, 1, []uint64{0, 50, 100, 150}, 4500},
		{"timebase 1/90000", 90000, 1, []uint64{0, 6000, 12000, 18000}, 6000},
		{"timestamps going nowhere fall back to 30 fps", 30, 1, []uint64{5, 5, 5, 5}, 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseIVF(ivfFile("VP80", tt.rate, tt.scale, frames, tt.pts))
			if err != nil {
				t.Fatal(err)
			}
			if c.Kind() != webrtc.RTPCodecTypeVideo || c.Frames() != len(frames) {
				t.Fatalf("kind %v, %d frames", c.Kind(), c.Frames())
			}
			for i, f := range c.frames {
				if f.duration != tt.want {
					t.Errorf("frame %d: %d ticks, want %d", i, f.duration, tt.want)
				}
			}
		})
	}
	bad := []struct {
		name string
		raw  []byte
	}{
		{"VP9 is refused", ivfFile("VP90", 30, 1, frames, []uint64{0, 1, 2, 3})},
		{"no keyframe", ivfFile("VP80", 30, 1, frames[1:], []uint64{0, 1, 2})},
		{"no frames", ivfFile("VP80", 30, 1, nil, nil)},
		{"truncated frame", ivfFile("VP80", 30, 1, frames, []uint64{0, 1, 2, 3})[:32+12+100]},
		{"zero timebase", ivfFile("VP80", 0, 1, frames, []uint64{0, 1, 2, 3})},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseIVF(tt.raw); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// oggPage builds one Ogg page of the given lacing values and body (the CRC is left zero: not checked).
func oggPage(serial uint32, lacing []byte, body []byte) []byte {
	h := make([]byte, 27)
	copy(h, "OggS")
	binary.LittleEndian.PutUint32(h[14:], serial)
	h[26] = byte(len(lacing))
	return append(append(h, lacing...), body...)
}

func opusHead() []byte {
	h := make([]byte, 19)
	copy(h, "OpusHead")
	h[8], h[9] = 1, 2 // version, channels
	binary.LittleEndian.PutUint32(h[12:], 48000)
	return h
}

func TestParseOggSplitsPackets(t *testing.T) {
	tags := append([]byte("OpusTags"), make([]byte, 8)...)
	p20 := append([]byte{0xfc}, bytes.Repeat([]byte{1}, 79)...)   // CELT 20 ms, one frame
	p40 := append([]byte{0xfd}, bytes.Repeat([]byte{2}, 99)...)   // CELT 20 ms, two frames
	long := append([]byte{0xfc}, bytes.Repeat([]byte{3}, 299)...) // 300 bytes: 255 + 45, across two pages
	var raw []byte
	raw = append(raw, oggPage(7, []byte{19}, opusHead())...)
	raw = append(raw, oggPage(7, []byte{16}, tags)...)
	raw = append(raw, oggPage(9, []byte{3}, []byte{0xfc, 0, 0})...) // another stream: ignored
	raw = append(raw, oggPage(7, []byte{80, 100, 255}, append(append(append([]byte{}, p20...), p40...), long[:255]...))...)
	raw = append(raw, oggPage(7, []byte{45, 80}, append(append([]byte{}, long[255:]...), p20...))...)
	c, err := ParseOgg(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		data     []byte
		duration uint32
	}{{p20, 960}, {p40, 1920}, {long, 960}, {p20, 960}}
	if len(c.frames) != len(want) {
		t.Fatalf("%d packets, want %d", len(c.frames), len(want))
	}
	for i, w := range want {
		if !bytes.Equal(c.frames[i].data, w.data) || c.frames[i].duration != w.duration {
			t.Errorf("packet %d: %d bytes, %d samples; want %d bytes, %d samples", i, len(c.frames[i].data), c.frames[i].duration, len(w.data), w.duration)
		}
	}
	if c.Duration() != 100*time.Millisecond {
		t.Errorf("duration %v, want 100ms", c.Duration())
	}
	for _, bad := range [][]byte{raw[:10], raw[:27+1], append(append([]byte{}, raw...), 'x'), oggPage(7, []byte{19}, opusHead())} {
		if _, err := ParseOgg(bad); err == nil {
			t.Errorf("%d bytes: no error", len(bad))
		}
	}
}

// TestParseOggFromPion reads what pion's oggwriter writes, as a file on disk through LoadClip.
func TestParseOggFromPion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.ogg")
	w, err := oggwriter.New(path, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: append([]byte{0xfc}, make([]byte, 60)...)}
		if err := w.WriteRTP(pkt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := LoadClip(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind() != webrtc.RTPCodecTypeAudio || c.Frames() != 50 || c.Duration() != time.Second {
		t.Fatalf("kind %v, %d packets, %v", c.Kind(), c.Frames(), c.Duration())
	}
}

func TestLoadClipRefusesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ivf")
	if err := os.WriteFile(path, []byte("RIFF not a clip"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadClip(path); err == nil {
		t.Fatal("no error")
	}
	if _, err := LoadClip(filepath.Join(t.TempDir(), "missing.ivf")); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func TestReplayVideo(t *testing.T) {
	frames := [][]byte{vp8Frame(true, 6000), vp8Frame(false, 900), vp8Frame(false, 900)}
	clip, err := ParseIVF(ivfFile("VP80", 100, 1, frames, []uint64{0, 1, 2})) // 100 fps: 3 loops in ~90 ms
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReplay(clip, "video", "s")
	if err != nil {
		t.Fatal(err)
	}
	c := bind(t, r.Track(), vp8Params)
	runUntil(t, r.Run, func() bool { return r.Loops() >= 2 })
	pkts := c.packets()
	if len(pkts) < 8 || r.Loops() < 2 {
		t.Fatalf("%d packets, %d loops", len(pkts), r.Loops())
	}
	if !codec.IsKeyframe(codec.KindVP8, pkts[0].Payload) {
		t.Error("the first packet does not start a keyframe")
	}
	for i, p := range pkts {
		if size := len(p.Payload) + 12; size > replayMTU {
			t.Errorf("packet %d: %d bytes", i, size)
		}
		if i > 0 && p.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: sequence %d after %d", i, p.SequenceNumber, pkts[i-1].SequenceNumber)
		}
		if i > 0 && p.Timestamp != pkts[i-1].Timestamp && p.Timestamp != pkts[i-1].Timestamp+900 {
			t.Errorf("packet %d: timestamp step %d", i, p.Timestamp-pkts[i-1].Timestamp)
		}
	}
	if err := r.Run(context.Background()); err == nil {
		t.Error("a second Run did not fail")
	}
}

func TestReplayAudioLevel(t *testing.T) {
	var raw []byte
	raw = append(raw, oggPage(1, []byte{19}, opusHead())...)
	raw = append(raw, oggPage(1, []byte{8}, []byte("OpusTags"))...)
	raw = append(raw, oggPage(1, []byte{3, 3}, []byte{0xfc, 1, 2, 0xfc, 3, 4})...)
	clip, err := ParseOgg(raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReplay(clip, "audio", "s")
	if err != nil {
		t.Fatal(err)
	}
	r.SetAudioLevelExtensionID(3)
	r.SetAudioLevel(12, true)
	c := bind(t, r.Track(), opusParams)
	runUntil(t, r.Run, func() bool { return c.count() >= 2 })
	pkts := c.packets()
	if len(pkts) < 2 {
		t.Fatalf("%d packets", len(pkts))
	}
	for _, p := range pkts {
		var lvl rtp.AudioLevelExtension
		if err := lvl.Unmarshal(p.GetExtension(3)); err != nil || lvl.Level != 12 || !lvl.Voice {
			t.Fatalf("audio level %+v, %v", lvl, err)
		}
	}
}

func FuzzParseOgg(f *testing.F) {
	f.Add(append(oggPage(1, []byte{19}, opusHead()), oggPage(1, []byte{8, 3}, []byte("OpusTags\xfc\x01\x02"))...))
	f.Add(oggPage(1, []byte{255, 255}, make([]byte, 100)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseOgg(raw)
		if err == nil && (c.Frames() == 0 || c.Kind() != webrtc.RTPCodecTypeAudio) {
			t.Fatalf("accepted an empty or non-audio clip: %d frames", c.Frames())
		}
	})
}

func FuzzParseIVF(f *testing.F) {
	f.Add(ivfFile("VP80", 30, 1, [][]byte{vp8Frame(true, 40), vp8Frame(false, 10)}, []uint64{0, 1}))
	f.Add(ivfFile("VP80", 1, 0, nil, nil))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseIVF(raw)
		if err != nil {
			return
		}
		for i, fr := range c.frames {
			if fr.duration == 0 || fr.duration > 90000 {
				t.Fatalf("frame %d lasts %d ticks", i, fr.duration)
			}
		}
	})
}
