package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var fuzzMimes = []string{"video/VP8", "audio/opus", "video/H264"}

// fuzzPacketHeader: flags (bit 0 marker, bit 1 absolute sequence number), sequence number delta (int8) or
// the high byte of an absolute one, timestamp delta (int16 × 64, big endian), payload length (uint16).
const fuzzPacketHeader = 6

// encodeFuzzPackets turns real packets into the fuzz input format (for the seed corpus).
func encodeFuzzPackets(pkts []*rtp.Packet) []byte {
	var b []byte
	for i, p := range pkts {
		flags := byte(0)
		if p.Marker {
			flags |= 1
		}
		var dts int16
		if i > 0 {
			dts = int16(int32(p.Timestamp-pkts[i-1].Timestamp) / 64)
		}
		b = append(b, flags, 1, byte(uint16(dts)>>8), byte(dts))
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Payload)))
		b = append(b, p.Payload...)
	}
	return b
}

// TestWriteFuzzSeeds regenerates the seed corpus of real packets from the ffmpeg media when
// HUDDLE_WRITE_FUZZ_SEEDS=1: the start (first keyframe) and a stretch from the middle of each codec.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("HUDDLE_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set HUDDLE_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzTrackWriter")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzTrackWriter")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for kind, mime := range fuzzMimes {
		s := loadStream(t, mime)
		first := 1 // the packets of the first frame and the next one
		for s.frameOf[first] < 2 {
			first++
		}
		mid := len(s.pkts) / 2
		for _, seed := range []struct {
			name    string
			pkts    []*rtp.Packet
			maxLate byte
		}{{"start", s.pkts[:first], 0}, {"middle", s.pkts[mid : mid+8], 3}} {
			corpus := fmt.Sprintf("go test fuzz v1\nbyte(%q)\nbyte(%q)\n[]byte(%q)\n",
				rune(kind), rune(seed.maxLate), encodeFuzzPackets(seed.pkts))
			path := filepath.Join(dir, fmt.Sprintf("real-%s-%s", strings.ReplaceAll(mime, "/", "-"), seed.name))
			if err := os.WriteFile(path, []byte(corpus), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// FuzzTrackWriter feeds arbitrary packets (payloads, sequence numbers, timestamps) to each codec's writer:
// it must never panic, WriteRTP must not fail (no quota is set and the disk is fine) and neither must Close.
func FuzzTrackWriter(f *testing.F) {
	// Real packets of each codec are in testdata/fuzz/FuzzTrackWriter (see TestWriteFuzzSeeds), so that
	// fuzzing needs no ffmpeg and each fuzz worker starts at once instead of encoding the media first.
	f.Add(byte(0), byte(2), []byte{1, 1, 0, 47, 0, 11, 0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01})
	f.Add(byte(1), byte(1), []byte{1, 1, 0, 15, 0, 2, 0xf8, 0xff, 1, 1, 0, 15, 0, 2, 0xf8, 0xff, 0, 0xff, 0x80, 0, 0, 0})
	f.Add(byte(2), byte(0), []byte{1, 1, 0, 47, 0, 7, 0x78, 0, 2, 0x67, 0x42, 0, 1, 0x65})

	f.Fuzz(fuzzTrackWriter)
}

func fuzzTrackWriter(t *testing.T, kind, maxLate byte, data []byte) {
	{
		mime := fuzzMimes[int(kind)%len(fuzzMimes)]
		path := filepath.Join(t.TempDir(), "f")
		w, err := NewTrackWriter(path, mime, 0, 2, Options{MaxLate: uint16(maxLate % 32)})
		if err != nil {
			t.Fatal(err)
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1000, Timestamp: 0xFFFFF000}}
		at := arrival0
		for len(data) >= fuzzPacketHeader {
			flags := data[0]
			if flags&2 != 0 {
				p.SequenceNumber = uint16(data[1])<<8 | uint16(data[2])
			} else {
				p.SequenceNumber += uint16(int8(data[1]))
			}
			p.Timestamp += uint32(int32(int16(binary.BigEndian.Uint16(data[2:]))) * 64)
			p.Marker = flags&1 != 0
			n := min(int(binary.BigEndian.Uint16(data[4:])), len(data)-fuzzPacketHeader)
			p.Payload = data[fuzzPacketHeader : fuzzPacketHeader+n]
			data = data[fuzzPacketHeader+n:]
			at = at.Add(time.Millisecond)
			if err := w.WriteRTP(p, at); err != nil {
				t.Fatalf("WriteRTP: %v", err)
			}
			w.NeedKeyframe()
		}
		sum, err := w.Close()
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
		fi, err := os.Stat(path)
		switch {
		case sum.Frames == 0 && !errors.Is(err, fs.ErrNotExist):
			t.Errorf("no frames, but the file is there: %v", err)
		case sum.Frames > 0 && (err != nil || fi.Size() != sum.Bytes):
			t.Errorf("Summary.Bytes %d, stat: %v %v", sum.Bytes, fi, err)
		case sum.Duration < 0 || sum.Gaps < 0:
			t.Errorf("Summary %+v", sum)
		case sum.Frames > 0:
			readBack(t, sum)
		}
	}
}
