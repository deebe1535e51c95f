package record

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkWriteRTP writes the VP8 test stream (500 kbit/s, 640x360) over and over, one packet per op,
// with sequence numbers and timestamps continuing across the loops. The packet is rewritten in place, so
// allocations are the writer's (and samplebuilder's and ebml-go's, per frame).
func BenchmarkWriteRTP(b *testing.B) {
	s := loadStream(b, "video/VP8")
	w, err := NewTrackWriter(filepath.Join(b.TempDir(), "bench.webm"), "video/VP8", 90000, 0, Options{})
	if err != nil {
		b.Fatal(err)
	}
	n := len(s.pkts)
	loopTicks := uint32(s.frames()) * s.ticks
	var p rtp.Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(s.pkts[0].Payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, loop := s.pkts[i%n], i/n
		p.Header = src.Header
		p.SequenceNumber += uint16(loop * n)
		p.Timestamp += uint32(loop) * loopTicks
		p.Payload = src.Payload
		if err := w.WriteRTP(&p, arrival0.Add(time.Duration(i)*time.Millisecond)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sum, err := w.Close()
	if err != nil {
		b.Fatal(err)
	}
	if b.N > 2*n && sum.Frames < b.N/n*s.frames()-s.frames() {
		b.Fatalf("%d frames written from %d packets", sum.Frames, b.N)
	}
}
