package record

import (
	"bytes"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// SPS NAL units written by x264 (ffmpeg -c:v libx264 ...).
var spsCases = []struct {
	name, hex     string
	width, height int
}{
	{"baseline 640x360 (cropped from 368)", "6742c01ed900a02ff970110000030001000003003c0f162e48", 640, 360},
	{"high interlaced 1280x720", "67640020acd940500bbf2e0220000003002000000783e2c5b2c0", 1280, 720},
	{"high 4:4:4 318x238", "67f4000d919b28283fdde022000003000200000300781e28532c", 318, 238},
}

func TestParseSPS(t *testing.T) {
	for _, c := range spsCases {
		sps, _ := hex.DecodeString(c.hex)
		var h h264State
		info, ok := h.parseSPS(sps)
		if !ok || info.width != c.width || info.height != c.height {
			t.Errorf("%s: %dx%d ok=%v, want %dx%d", c.name, info.width, info.height, ok, c.width, c.height)
		}
		for n := 1; n < 8; n++ { // truncated: refused, never a panic
			if info, ok := h.parseSPS(sps[:n]); ok {
				t.Errorf("%s truncated to %d bytes parsed as %+v", c.name, n, info)
			}
		}
	}
}

// TestH264Frame converts an access unit with 3- and 4-byte start codes into length prefixes, finds the
// keyframe, and builds the avcC.
func TestH264Frame(t *testing.T) {
	sps, _ := hex.DecodeString(spsCases[0].hex)
	pps := []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
	idr := []byte{0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01}
	var au []byte
	au = append(append(au, 0, 0, 0, 1), sps...)
	au = append(append(au, 0, 0, 1), pps...)
	au = append(append(au, 0, 0, 0, 1), idr...)
	au = append(au, 0, 0) // trailing_zero_8bits

	var h h264State
	out, key, w, hgt := h.frame(au)
	var want []byte
	for _, nal := range [][]byte{sps, pps, idr} {
		want = append(append(want, 0, 0, 0, byte(len(nal))), nal...)
	}
	if !bytes.Equal(out, want) || !key || w != 640 || hgt != 360 {
		t.Errorf("frame: key=%v %dx%d\n got %x\nwant %x", key, w, hgt, out, want)
	}
	avcc := h.avcC()
	if !bytes.HasPrefix(avcc, []byte{1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, byte(len(sps))}) ||
		!bytes.HasSuffix(avcc, append([]byte{1, 0, byte(len(pps))}, pps...)) {
		t.Errorf("avcC %x", avcc)
	}

	h.flip()
	delta := append([]byte{0, 0, 0, 1}, 0x41, 0x9a, 0x38)
	if out2, key, _, _ := h.frame(delta); key || len(out2) != 7 || &out2[:1][0] == &out[:1][0] {
		t.Errorf("delta frame: key=%v %x (must not reuse the previous frame's buffer)", key, out2)
	}
	// No start code at all: the whole thing is one NAL unit.
	var n int
	forEachNAL([]byte{0x41, 0x01}, func([]byte) { n++ })
	if n != 1 {
		t.Errorf("forEachNAL without start code: %d units", n)
	}
}

func TestVP8Keyframe(t *testing.T) {
	key := []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0xff}
	for _, c := range []struct {
		b    []byte
		key  bool
		w, h int
	}{
		{key, true, 640, 360},
		{append([]byte{0x51}, key[1:]...), false, 0, 0}, // interframe bit
		{key[:9], false, 0, 0},
		{append(key[:3:3], 0x9d, 0x01, 0x2b, 0x80, 0x02, 0x68, 0x01), false, 0, 0}, // bad start code
	} {
		if k, w, h := vp8Keyframe(c.b); k != c.key || w != c.w || h != c.h {
			t.Errorf("vp8Keyframe(%x) = %v %dx%d", c.b, k, w, h)
		}
	}
}

// TestTimestampJumps feeds Opus packets whose RTP timestamps go slightly back (a stale frame: dropped),
// far back (a restarted sender: the timeline continues after the last frame) and forward (a pause: kept
// as a hole in the timeline).
func TestTimestampJumps(t *testing.T) {
	w, err := NewTrackWriter(filepath.Join(t.TempDir(), "a.webm"), "audio/opus", 48000, 2, Options{MaxLate: 4})
	if err != nil {
		t.Fatal(err)
	}
	seq, ts := uint16(100), uint32(0xFFFF0000)
	send := func(n int, step uint32) {
		for i := 0; i < n; i++ {
			p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts}, Payload: []byte{31 << 3, 1, 2, 3}}
			if err := w.WriteRTP(p, arrival0); err != nil {
				t.Fatal(err)
			}
			seq++
			ts += step
		}
	}
	send(10, 960) // 200 ms, across the timestamp wrap
	ts -= 3 * 960
	send(1, 3*960) // stale: dropped
	ts -= 10 * 48000
	send(10, 960) // 10 s back: continues right after the last frame, +200 ms
	ts += 5 * 48000
	send(10, 960) // a 5 s pause, then 200 ms
	sum, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := 5*time.Second + 600*time.Millisecond; sum.Frames != 30 || sum.Duration != want {
		t.Errorf("Frames %d Duration %v, want 30 and %v", sum.Frames, sum.Duration, want)
	}
}
