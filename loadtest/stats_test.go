package loadtest

import (
	"math"
	"testing"
)

func TestDist(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Dist
	}{
		{"empty", nil, Dist{}},
		{"one", []float64{7}, Dist{N: 1, Min: 7, P50: 7, P95: 7, P99: 7, Max: 7}},
		{"1 to 100, unsorted", func() []float64 {
			v := make([]float64, 100)
			for i := range v {
				v[i] = float64(100 - i)
			}
			return v
		}(), Dist{N: 100, Min: 1, P50: 50, P95: 95, P99: 99, Max: 100}},
		{"two", []float64{2, 1}, Dist{N: 2, Min: 1, P50: 1, P95: 2, P99: 2, Max: 2}},
	}
	for _, tt := range tests {
		if got := distOf(tt.in); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// TestReservoir: it keeps everything until full, then stays at its size with a fair sample.
func TestReservoir(t *testing.T) {
	r := newReservoir(100, 1)
	for i := range 50 {
		r.add(int64(i))
	}
	if len(r.samples) != 50 || r.seen != 50 {
		t.Fatalf("%d samples of %d", len(r.samples), r.seen)
	}
	for i := 50; i < 100_000; i++ {
		r.add(int64(i))
	}
	if len(r.samples) != 100 || r.seen != 100_000 {
		t.Fatalf("%d samples of %d", len(r.samples), r.seen)
	}
	var sum float64
	for _, v := range r.samples {
		sum += float64(v)
	}
	if mean := sum / 100; math.Abs(mean-50_000) > 10_000 { // a uniform sample's mean, within ~3.5 sigma
		t.Errorf("sample mean %.0f, want about 50000", mean)
	}
	out := r.drain(nil)
	if len(out) != 100 || len(r.samples) != 0 || r.seen != 0 {
		t.Errorf("drain: %d out, %d left", len(out), len(r.samples))
	}
}

func TestRatio(t *testing.T) {
	if ratio(1, 0) != 0 || ratio(1, 4) != 0.25 {
		t.Error("ratio")
	}
}
