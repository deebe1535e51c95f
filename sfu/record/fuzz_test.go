package record

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
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

// FuzzTrackWriter feeds arbitrary packets (payloads, sequence numbers, timestamps) to each codec's writer:
// it must never panic, WriteRTP must not fail (no quota is set and the disk is fine) and neither must Close.
func FuzzTrackWriter(f *testing.F) {
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		for kind, mime := range fuzzMimes {
			s := loadStream(f, mime)
			f.Add(byte(kind), byte(0), encodeFuzzPackets(s.pkts[:min(12, len(s.pkts))]))
			f.Add(byte(kind), byte(3), encodeFuzzPackets(s.pkts[len(s.pkts)/2:len(s.pkts)/2+8]))
		}
	}
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
		}
	}
}
