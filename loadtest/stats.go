package loadtest

import (
	"math"
	"slices"
	"time"
)

// reservoir keeps a uniform sample of at most cap(samples) values out of all it was offered (Vitter's
// algorithm R), so memory stays bounded however long a run lasts. Until it is full it holds every value,
// and percentiles from it are exact. Not safe for concurrent use.
type reservoir struct {
	samples []int64
	seen    int64
	rng     uint64 // xorshift64 state; never 0
}

func newReservoir(capacity int, seed uint64) reservoir {
	return reservoir{samples: make([]int64, 0, capacity), rng: seed | 1}
}

func (r *reservoir) add(v int64) {
	r.seen++
	if len(r.samples) < cap(r.samples) {
		r.samples = append(r.samples, v)
		return
	}
	r.rng ^= r.rng << 13
	r.rng ^= r.rng >> 7
	r.rng ^= r.rng << 17
	if j := r.rng % uint64(r.seen); j < uint64(len(r.samples)) {
		r.samples[j] = v
	}
}

// drain appends the samples to dst and empties the reservoir (keeping its memory).
func (r *reservoir) drain(dst []int64) []int64 {
	dst = append(dst, r.samples...)
	r.samples, r.seen = r.samples[:0], 0
	return dst
}

// Dist summarizes a set of values: how many, and the 50th, 95th and 99th percentiles, minimum and
// maximum. Durations are in milliseconds, rates in the unit of the field that holds the Dist.
type Dist struct {
	N   int     `json:"n"`
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// distOf summarizes values, sorting them in place. Percentiles are nearest-rank.
func distOf(values []float64) Dist {
	if len(values) == 0 {
		return Dist{}
	}
	slices.Sort(values)
	return Dist{N: len(values), Min: values[0], Max: values[len(values)-1],
		P50: percentile(values, 50), P95: percentile(values, 95), P99: percentile(values, 99)}
}

// percentile is the nearest-rank percentile p (0-100] of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// durationsMs converts nanosecond samples to milliseconds.
func durationsMs(ns []int64) []float64 {
	out := make([]float64, len(ns))
	for i, v := range ns {
		out[i] = float64(v) / float64(time.Millisecond)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
