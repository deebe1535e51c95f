package bwe

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// feedbackFor builds a transport-wide feedback report for consecutive sequence numbers starting at base:
// arrivals[i] < 0 means lost; otherwise the arrival time in microseconds since the receiver's epoch.
func feedbackFor(base uint16, arrivals []int64) *rtcp.TransportLayerCC {
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: base, PacketStatusCount: uint16(len(arrivals))}
	ref := int64(-1)
	last := int64(0)
	var symbols []uint16
	for _, a := range arrivals {
		if a < 0 {
			symbols = append(symbols, rtcp.TypeTCCPacketNotReceived)
			continue
		}
		if ref < 0 {
			ref = a / 64000
			last = ref * 64000
		}
		d := (a - last) / 250 * 250
		last += d
		typ := rtcp.TypeTCCPacketReceivedSmallDelta
		if d < 0 || d > 63750 {
			typ = rtcp.TypeTCCPacketReceivedLargeDelta
		}
		symbols = append(symbols, typ)
		fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: typ, Delta: d})
	}
	if ref > 0 {
		fb.ReferenceTime = uint32(ref)
	}
	for len(symbols) > 0 {
		n := min(7, len(symbols))
		fb.PacketChunks = append(fb.PacketChunks, &rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: append([]uint16(nil), symbols[:n]...)})
		symbols = symbols[n:]
	}
	return fb
}

func TestForEachStatus(t *testing.T) {
	fb := &rtcp.TransportLayerCC{
		BaseSequenceNumber: 65534, PacketStatusCount: 5, ReferenceTime: 2,
		PacketChunks: []rtcp.PacketStatusChunk{
			&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2},
			&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit, SymbolList: []uint16{0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		},
		RecvDeltas: []*rtcp.RecvDelta{{Delta: 1000}, {Delta: 250}, {Delta: 500}, {Delta: 750}},
	}
	type status struct {
		seq      uint16
		received bool
		arrival  int64
	}
	var got []status
	forEachStatus(fb, func(seq uint16, received bool, arrival int64) { got = append(got, status{seq, received, arrival}) })
	base := int64(2 * 64 * time.Millisecond)
	want := []status{
		{65534, true, base + 1_000_000}, {65535, true, base + 1_250_000}, {0, false, base + 1_250_000},
		{1, true, base + 1_750_000}, {2, true, base + 2_500_000},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d statuses %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i].seq != want[i].seq || got[i].received != want[i].received || (want[i].received && got[i].arrival != want[i].arrival) {
			t.Errorf("status %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// A report claiming more packets than it has deltas for stops instead of panicking.
	fb.RecvDeltas = fb.RecvDeltas[:1]
	n := 0
	forEachStatus(fb, func(uint16, bool, int64) { n++ })
	if n != 1 {
		t.Errorf("walked %d statuses of a truncated report", n)
	}
}

// link simulates a bottleneck: capacity bits per second, a queue of at most maxQueue, base delay, and
// random loss.
type link struct {
	capacity  float64
	maxQueue  time.Duration
	base      time.Duration
	loss      float64
	busyUntil time.Duration
	rng       *rand.Rand
}

// deliver returns when a packet of size bytes sent at t arrives, or -1 if dropped.
func (l *link) deliver(t time.Duration, size int) time.Duration {
	if l.rng.Float64() < l.loss {
		return -1
	}
	start := max(t, l.busyUntil)
	if start-t > l.maxQueue {
		return -1
	}
	l.busyUntil = start + time.Duration(float64(size*8)/l.capacity*float64(time.Second))
	return l.busyUntil + l.base
}

// simulate sends at the estimator's target (capped at want bits per second) over the link for d, with
// feedback every 50 ms, and returns the target at the end. clock is simulated time since epoch.
func simulate(e *Estimator, l *link, want int, d time.Duration, clock *time.Duration) int {
	epoch := time.Unix(1_700_000_000, 0)
	const size = 1200
	type inflight struct {
		seq     uint16
		arrival time.Duration
	}
	var pending []inflight
	nextFeedback := *clock + 50*time.Millisecond
	end := *clock + d
	var debt float64
	for t := *clock; t < end; t += time.Millisecond {
		debt += float64(min(e.Target(), want)) / 8 / 1000
		for debt >= size {
			debt -= size
			seq := e.Sent(size, epoch.Add(t).UnixNano())
			pending = append(pending, inflight{seq, l.deliver(t, size)})
		}
		if t >= nextFeedback && len(pending) > 0 {
			// Report what has arrived (or was dropped) by now.
			n := 0
			for n < len(pending) && (pending[n].arrival < 0 || pending[n].arrival <= t) {
				n++
			}
			if n > 0 {
				arrivals := make([]int64, n)
				for i := 0; i < n; i++ {
					arrivals[i] = -1
					if pending[i].arrival >= 0 {
						arrivals[i] = int64(pending[i].arrival / time.Microsecond)
					}
				}
				e.OnFeedback(feedbackFor(pending[0].seq, arrivals), epoch.Add(t))
				pending = pending[n:]
			}
			nextFeedback = t + 50*time.Millisecond
		}
	}
	*clock = end
	return e.Target()
}

func TestEstimatorFindsTheBottleneck(t *testing.T) {
	e := New(Config{Initial: 2_500_000, Min: 50_000, Max: 30_000_000})
	l := &link{capacity: 1_000_000, maxQueue: 200 * time.Millisecond, base: 5 * time.Millisecond, rng: rand.New(rand.NewPCG(1, 2))}
	var clock time.Duration
	got := simulate(e, l, 5_000_000, 10*time.Second, &clock)
	t.Logf("1 Mbps bottleneck, starting at 2.5 Mbps: estimate %d bps after 10 s, %d decreases", got, e.Decreases())
	if got > 1_150_000 || got < 400_000 {
		t.Errorf("estimate %d bps for a 1 Mbps link", got)
	}
	if e.Decreases() == 0 {
		t.Error("no decrease on a congested link")
	}
}

func TestEstimatorHoldsOnACleanLink(t *testing.T) {
	e := New(Config{Initial: 2_500_000, Min: 50_000, Max: 30_000_000})
	l := &link{capacity: 100_000_000, maxQueue: time.Second, base: 5 * time.Millisecond, rng: rand.New(rand.NewPCG(3, 4))}
	var clock time.Duration
	got := simulate(e, l, 2_000_000, 10*time.Second, &clock)
	t.Logf("clean link, sending 2 Mbps: estimate %d bps, %d decreases", got, e.Decreases())
	if e.Decreases() != 0 || got < 2_500_000 {
		t.Errorf("a clean link lowered the estimate to %d (%d decreases)", got, e.Decreases())
	}
	if got > 3_100_000 {
		t.Errorf("estimate %d bps, far above the 2 Mbps the link was shown to carry", got)
	}
}

func TestEstimatorBacksOffOnLoss(t *testing.T) {
	e := New(Config{Initial: 2_000_000, Min: 50_000, Max: 30_000_000})
	l := &link{capacity: 100_000_000, maxQueue: time.Second, base: 5 * time.Millisecond, loss: 0.25, rng: rand.New(rand.NewPCG(5, 6))}
	var clock time.Duration
	got := simulate(e, l, 2_000_000, 3*time.Second, &clock)
	t.Logf("25 %% loss: estimate %d bps, loss %.2f", got, e.Loss())
	if got >= 1_000_000 || e.Loss() < 0.15 {
		t.Errorf("estimate %d with 25 %% loss (measured %.2f)", got, e.Loss())
	}
}

func TestEstimatorRecoversAfterCongestion(t *testing.T) {
	e := New(Config{Initial: 2_500_000, Min: 50_000, Max: 30_000_000})
	l := &link{capacity: 500_000, maxQueue: 200 * time.Millisecond, base: 5 * time.Millisecond, rng: rand.New(rand.NewPCG(7, 8))}
	var clock time.Duration
	low := simulate(e, l, 5_000_000, 8*time.Second, &clock)
	l.capacity = 50_000_000
	decreases := e.Decreases()
	high := simulate(e, l, 5_000_000, 20*time.Second, &clock)
	t.Logf("0.5 Mbps then 50 Mbps: %d then %d bps 20 s later", low, high)
	// Without probing the estimate may only grow multiplicatively (8 %/s) from what the link carries.
	if low > 600_000 || float64(high) < float64(low)*3.5 || e.Decreases() != decreases {
		t.Errorf("estimate %d at 0.5 Mbps, %d 20 s after the cap lifted (%d new decreases)", low, high, e.Decreases()-decreases)
	}
}

func BenchmarkSent(b *testing.B) {
	e := New(Config{Initial: 1_000_000})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e.Sent(1200, int64(i)*1000)
	}
}

func FuzzFeedback(f *testing.F) {
	fb := feedbackFor(10, []int64{1000, -1, 5000, 70000})
	raw, _ := fb.Marshal()
	f.Add(raw)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fb rtcp.TransportLayerCC
		if fb.Unmarshal(raw) != nil {
			return
		}
		e := New(Config{Initial: 1_000_000})
		for i := 0; i < 100; i++ {
			e.Sent(1000, int64(i)*int64(time.Millisecond))
		}
		e.OnFeedback(&fb, time.Unix(0, int64(time.Second)))
		if tgt := e.Target(); tgt < e.cfg.Min || tgt > e.cfg.Max {
			t.Fatalf("target %d out of bounds", tgt)
		}
	})
}
