package media

import (
	"context"
	"testing"
	"time"
)

func TestPacerSpreadsAFrame(t *testing.T) {
	p := newPacer(BrowserPacing(), 2_000_000) // 3125 bytes per 5 ms: two 1112-byte packets
	if p.budget != 3125 {
		t.Fatalf("budget %d", p.budget)
	}
	defer p.stop()
	start := time.Now()
	for range 40 { // a 2 Mbps layer's keyframe
		if !p.wait(context.Background(), 1112) {
			t.Fatal("wait refused")
		}
	}
	// 20 periods of 5 ms: the first goes at once, so at least 95 ms. Timers on a busy machine run late,
	// so the upper bound only catches a pacer that stalls.
	if took := time.Since(start); took < 90*time.Millisecond || took > 10*time.Second {
		t.Errorf("40 packets took %v, want about 95 ms", took)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.wait(ctx, 1112) // may go in the current period
	p.wait(ctx, 1112)
	if p.wait(ctx, 3000) {
		t.Error("a wait past the budget went on after ctx ended")
	}
}

func TestNoPacing(t *testing.T) {
	for _, tt := range []struct {
		p       Pacing
		bitrate int
	}{{Pacing{}, 1_000_000}, {Pacing{Factor: 2.5}, 1_000_000}, {BrowserPacing(), 0}} {
		p := newPacer(tt.p, tt.bitrate)
		if p != nil {
			t.Errorf("%+v at %d bps: a pacer", tt.p, tt.bitrate)
		}
		if !p.wait(context.Background(), 1<<20) { // a nil pacer never waits
			t.Error("nil pacer refused")
		}
		p.stop()
	}
}

func TestFrameClock(t *testing.T) {
	c := frameClock{interval: 100 * time.Millisecond}
	t0 := time.Unix(100, 0)
	for i, tt := range []struct {
		at   time.Duration
		want int64
	}{{0, 0}, {100 * time.Millisecond, 0}, {210 * time.Millisecond, 0}, {520 * time.Millisecond, 2}, {600 * time.Millisecond, 0}, {650 * time.Millisecond, 0}} {
		if got := c.skipped(t0.Add(tt.at)); got != tt.want {
			t.Errorf("tick %d at %v: skipped %d, want %d", i, tt.at, got, tt.want)
		}
	}
}

// TestPacedSimulcastKeepsTheClock: paced layers still send every frame's packets in order, with the
// RTP clock on the wall clock.
func TestPacedSimulcastKeepsTheClock(t *testing.T) {
	s, err := NewSimulcast("video", "stream", []LayerSpec{{RID: "f", BitrateBps: 2_000_000, FPS: 30}}, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	s.SetPacing(BrowserPacing())
	c := bind(t, s.Tracks()[0], vp8Params)
	start := time.Now()
	runUntil(t, s.Run, func() bool { return c.count() >= 50 })
	sending := time.Since(start)
	pkts := c.packets()
	for i := 1; i < len(pkts); i++ {
		if pkts[i].SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Fatalf("sequence jumps %d -> %d", pkts[i-1].SequenceNumber, pkts[i].SequenceNumber)
		}
	}
	// The RTP clock never runs ahead of the time spent sending, and it keeps up with the wall time
	// between the first and the last packet's writes (measured on the same packets, so a source that
	// started late on a busy machine is not counted against it).
	ticks := pkts[len(pkts)-1].Timestamp - pkts[0].Timestamp
	wall := c.span()
	if got := time.Duration(ticks) * time.Second / 90000; got > sending || got < wall/2 {
		t.Errorf("RTP clock advanced %v between packets written %v apart (%v of sending)", got, wall, sending)
	}
}
