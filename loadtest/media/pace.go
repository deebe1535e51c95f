package media

import (
	"context"
	"time"
)

// Pacing spreads a video frame's packets over time as a browser's pacer does, instead of writing the
// whole frame at once: a keyframe of a 2 Mbps layer is about 40 packets, and a screen share's over a
// hundred, which a real sender never puts on the wire back to back. The zero Pacing sends frames in one
// burst (the sources' behaviour when SetPacing is not called).
type Pacing struct {
	// Factor is the multiple of the stream's bitrate the pacer sends at (libwebrtc: 2.5).
	Factor float64
	// Burst is the pacer's period: it sends up to Factor × bitrate × Burst bytes, then waits (5 ms).
	Burst time.Duration
}

// BrowserPacing is libwebrtc's default: 2.5 times the target bitrate, in 5 ms bursts.
func BrowserPacing() Pacing { return Pacing{Factor: 2.5, Burst: 5 * time.Millisecond} }

// pacer enforces a Pacing for one stream. It belongs to the goroutine sending that stream.
type pacer struct {
	budget    int // bytes per period; 0: no pacing
	period    time.Duration
	used      int
	slotStart time.Time
	timer     *time.Timer
}

func newPacer(p Pacing, bitrateBps int) *pacer {
	if p.Factor <= 0 || p.Burst <= 0 || bitrateBps <= 0 {
		return nil
	}
	budget := int(p.Factor * float64(bitrateBps) / 8 * p.Burst.Seconds())
	return &pacer{budget: max(budget, 1), period: p.Burst}
}

// wait returns when a packet of n bytes may go: at once while the current period has room (the first
// packet of a period always goes), else at the next period. It reports false if ctx ended meanwhile.
// A nil pacer never waits.
func (p *pacer) wait(ctx context.Context, n int) bool {
	if p == nil {
		return true
	}
	now := time.Now()
	if now.Sub(p.slotStart) >= p.period {
		p.slotStart, p.used = now, 0
	}
	if p.used > 0 && p.used+n > p.budget {
		next := p.slotStart.Add(p.period)
		if p.timer == nil {
			p.timer = time.NewTimer(time.Until(next))
		} else {
			p.timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			p.timer.Stop()
			return false
		case <-p.timer.C:
		}
		p.slotStart, p.used = time.Now(), 0
	}
	p.used += n
	return true
}

func (p *pacer) stop() {
	if p != nil && p.timer != nil {
		p.timer.Stop()
	}
}

// frameClock keeps a paced stream's RTP clock on the wall clock: a frame paced past the next frame's
// time makes the ticker drop ticks, and the frames those ticks stood for are skipped (as an encoder
// skips frames behind a full pacer) rather than played late.
type frameClock struct {
	start    time.Time
	interval time.Duration
	frames   int64 // frames accounted for, sent or skipped
}

// skipped returns how many frames were due before the one being sent now.
func (c *frameClock) skipped(now time.Time) int64 {
	if c.start.IsZero() {
		c.start = now
	}
	due := int64(now.Sub(c.start) / c.interval)
	skip := max(due-c.frames, 0)
	c.frames += skip + 1
	return skip
}
