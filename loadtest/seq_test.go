package loadtest

import "testing"

func TestSeqWindow(t *testing.T) {
	seqs := func(from, to uint16) []uint16 { // inclusive, wrapping
		var out []uint16
		for s := from; ; s++ {
			out = append(out, s)
			if s == to {
				return out
			}
		}
	}
	join := func(parts ...[]uint16) []uint16 {
		var out []uint16
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name                string
		in                  []uint16
		tail                int64
		expected, missing   int64
		dups, late, lostNow int64
	}{
		{"in order", seqs(100, 199), 0, 100, 0, 0, 0, 0},
		{"one hole", join(seqs(100, 149), seqs(151, 199)), 0, 100, 1, 0, 0, 0},
		{"hole filled by a retransmission", join(seqs(100, 149), seqs(151, 199), []uint16{150}), 0, 100, 0, 0, 0, 0},
		{"duplicate", join(seqs(100, 149), []uint16{120}), 0, 50, 0, 1, 0, 0},
		{"wraps around 65535", seqs(65500, 99), 0, 136, 0, 0, 0, 0},
		{"hole across the wrap", join(seqs(65530, 65535), seqs(2, 10)), 0, 17, 2, 0, 0, 0},
		{"reordered before the first packet", join(seqs(10, 20), []uint16{8}), 0, 13, 1, 0, 0, 0},
		{"tail not judged", join(seqs(100, 149), seqs(151, 199)), 60, 40, 0, 0, 0, 0},
		{"holes leave the ring as lost", join(seqs(0, 9), seqs(11, 3000)), 0, 3001, 1, 0, 0, 1},
		{"a packet older than the ring is late", join(seqs(0, 9), seqs(11, 3000), []uint16{10}), 0, 3001, 1, 0, 1, 1},
		{"a jump beyond the ring", join(seqs(0, 9), seqs(5000, 5009)), 0, 5010, 4990, 0, 0, 3976},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w seqWindow
			for _, s := range tt.in {
				w.add(s)
			}
			expected, missing := w.counts(tt.tail)
			if expected != tt.expected || missing != tt.missing || w.dups != tt.dups || w.late != tt.late || w.lost != tt.lostNow {
				t.Errorf("expected %d missing %d dups %d late %d lost %d; want %d %d %d %d %d",
					expected, missing, w.dups, w.late, w.lost, tt.expected, tt.missing, tt.dups, tt.late, tt.lostNow)
			}
		})
	}
	var empty seqWindow
	if e, m := empty.counts(0); e != 0 || m != 0 {
		t.Errorf("empty window: %d expected, %d missing", e, m)
	}
}

// FuzzSeqWindow: whatever arrives, missing never exceeds expected, and a stream without holes loses
// nothing.
func FuzzSeqWindow(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 3}, uint16(0))
	f.Add([]byte{0xff, 0xff, 0, 0, 0x80, 0}, uint16(65000))
	f.Fuzz(func(t *testing.T, raw []byte, start uint16) {
		var w seqWindow
		for i := 0; i+1 < len(raw); i += 2 {
			w.add(uint16(raw[i])<<8 | uint16(raw[i+1]))
		}
		if e, m := w.counts(0); m < 0 || m > e {
			t.Fatalf("missing %d of %d", m, e)
		}
		var clean seqWindow
		for i := range 3000 {
			clean.add(start + uint16(i))
		}
		if e, m := clean.counts(0); e != 3000 || m != 0 {
			t.Fatalf("clean stream from %d: missing %d of %d", start, m, e)
		}
	})
}

func BenchmarkSeqWindow(b *testing.B) {
	var w seqWindow
	b.ReportAllocs()
	var s uint16
	for b.Loop() {
		w.add(s)
		s++
	}
}
