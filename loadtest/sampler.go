package loadtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// sampleTail is how many of a track's newest sequence numbers the per-second loss leaves unjudged: a
// NACKed packet's retransmission may still fill them.
const sampleTail = 64

// Sample is one second of the run, over every receiver.
type Sample struct {
	T            float64 `json:"t"` // seconds since the run began
	Measuring    bool    `json:"measuring"`
	Joined       int     `json:"joined"`
	Failed       int     `json:"failed"`
	RxMbps       float64 `json:"rxMbps"`       // everything received, all receivers
	RxPps        float64 `json:"rxPps"`        // media packets a second, all receivers
	ReceiverKbps float64 `json:"receiverKbps"` // mean over receivers that got media this second
	LossPct      float64 `json:"lossPct"`      // sequence numbers judged this second that never arrived
	LatencyP50Ms float64 `json:"latencyP50Ms"`
	LatencyP99Ms float64 `json:"latencyP99Ms"`
	phase        string
}

// Phases of a run, as the progress line names them.
const (
	phaseJoining int32 = iota
	phaseSettling
	phaseMeasuring
	phaseStopping
)

func phaseName(p int32) string {
	switch p {
	case phaseJoining:
		return "joining"
	case phaseSettling:
		return "settling"
	case phaseMeasuring:
		return "measuring"
	}
	return "stopping"
}

// sampler takes a Sample every second and writes the progress line. Its loop goroutine owns prev and
// the timeline until loop returns; the phase is set by the runner.
type sampler struct {
	r     *runner
	start time.Time
	phase atomic.Int32

	mu      sync.Mutex // guards samples: the runner reads them once loop has returned
	samples []Sample

	prev   map[*trackMeter]meterSnapshot
	recent []int64
	lastAt time.Time
}

func newSampler(r *runner, start time.Time) *sampler {
	return &sampler{r: r, start: start, prev: make(map[*trackMeter]meterSnapshot), lastAt: start}
}

func (s *sampler) setPhase(p int32) { s.phase.Store(p) }

func (s *sampler) timeline() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples)
}

// loop samples once a second until ctx ends.
func (s *sampler) loop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			smp := s.sample(now)
			s.mu.Lock()
			s.samples = append(s.samples, smp)
			s.mu.Unlock()
			if s.r.opts.Progress != nil {
				s.progress(smp)
			}
		}
	}
}

func (s *sampler) sample(now time.Time) Sample {
	secs := now.Sub(s.lastAt).Seconds()
	s.lastAt = now
	phase := s.phase.Load()
	smp := Sample{T: now.Sub(s.start).Seconds(), Measuring: phase == phaseMeasuring, phase: phaseName(phase)}
	smp.Joined, smp.Failed = int(s.r.joined.Load()), int(s.r.failed.Load())
	s.recent = s.recent[:0]
	var bytes, packets, expected, missing int64
	perReceiver := make(map[*participant]int64)
	for _, e := range s.r.allMeters() {
		cur := e.m.snapshot(sampleTail, &s.recent)
		prev := s.prev[e.m]
		s.prev[e.m] = cur
		bytes += cur.bytes - prev.bytes
		packets += cur.packets - prev.packets
		expected += cur.expected - prev.expected
		missing += cur.missing - prev.missing
		perReceiver[e.p] += cur.bytes - prev.bytes
	}
	if secs > 0 {
		smp.RxMbps = float64(bytes) * 8 / secs / 1e6
		smp.RxPps = float64(packets) / secs
		var sum float64
		var n int
		for _, b := range perReceiver {
			if b > 0 {
				sum += float64(b) * 8 / secs / 1e3
				n++
			}
		}
		smp.ReceiverKbps = ratio(sum, float64(n))
	}
	smp.LossPct = 100 * ratio(float64(missing), float64(expected))
	if len(s.recent) > 0 {
		lat := durationsMs(s.recent)
		slices.Sort(lat)
		smp.LatencyP50Ms, smp.LatencyP99Ms = percentile(lat, 50), percentile(lat, 99)
	}
	return smp
}

func (s *sampler) progress(smp Sample) {
	_, _ = fmt.Fprintf(s.r.opts.Progress, "%s %4.0fs %-9s joined %d/%d failed %d | rx %.1f Mbit/s %.0f pkt/s, %.0f kbit/s per receiver | loss %.2f%% | latency p50 %.1f ms p99 %.1f ms\n",
		s.r.opts.Name, smp.T, smp.phase, smp.Joined, len(s.r.people), smp.Failed, smp.RxMbps, smp.RxPps, smp.ReceiverKbps,
		smp.LossPct, smp.LatencyP50Ms, smp.LatencyP99Ms)
}
