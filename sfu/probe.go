package sfu

import (
	"time"
)

// Bandwidth probing. The estimator only learns about capacity the subscriber's link shows it: it never
// rises far above what was acked, so a subscriber moved down (or one whose tracks are all small) would
// stay there although its link recovered. When the allocator would like to give a subscriber more than
// its estimate allows, the prober sends padding-only packets for a second at the extra rate needed; if
// the estimator made no congestion decrease meanwhile and saw no loss, the link carried it, and the
// estimate is raised to the probed rate. A failed probe doubles the wait before the next one.
const (
	probeDuration   = time.Second
	probeSettle     = 500 * time.Millisecond // feedback for the last padding arrives
	probeTick       = 50 * time.Millisecond
	probeWaitMin    = 2 * time.Second
	probeWaitMax    = 30 * time.Second
	probeLossMax    = 0.02
	paddingSize     = 255 // the most one RTP padding-length byte can describe
	maxProbePackets = 40  // per tick: about 2 Mbps of padding
)

// prober is the probing state of one subscriber. It belongs to the allocation loop.
type prober struct {
	wait           time.Duration
	nextAt         time.Time // no probe before this
	endsAt         time.Time // probing until this (zero: not probing)
	judgeAt        time.Time // the probe's result is read at this time
	extra          int       // padding rate, bits per second
	target         int       // the rate the link carries if the probe succeeds
	carrier        *DownTrack
	owed           float64 // padding bytes due but not yet sent
	startDecreases uint64  // the estimator's decrease count when the probe began
	buf            [paddingSize]byte
}

func newProber(now time.Time) prober {
	return prober{wait: probeWaitMin, nextAt: now.Add(probeWaitMin)}
}

// congestion ends a running probe as failed and pushes the next one out: the link is full.
func (p *prober) congestion(now time.Time) {
	if !p.judgeAt.IsZero() {
		p.wait = min(2*p.wait, probeWaitMax)
	}
	p.endsAt, p.judgeAt, p.carrier = time.Time{}, time.Time{}, nil
	p.nextAt = now.Add(p.wait)
}

// maybeStart begins a probe of extra bits per second carried by dt, if it is time to.
func (p *prober) maybeStart(now time.Time, estimate, extra int, dt *DownTrack, decreases uint64) bool {
	if !p.endsAt.IsZero() || !p.judgeAt.IsZero() || now.Before(p.nextAt) || extra <= 0 || dt == nil {
		return false
	}
	p.extra, p.target, p.carrier, p.owed, p.startDecreases = extra, estimate+extra, dt, 0, decreases
	p.endsAt = now.Add(probeDuration)
	p.judgeAt = p.endsAt.Add(probeSettle)
	return true
}

// probing reports whether padding is due.
func (p *prober) probing(now time.Time) bool { return !p.endsAt.IsZero() && now.Before(p.endsAt) }

// pad sends the padding due since the last tick.
func (p *prober) pad(elapsed time.Duration) {
	if p.carrier == nil {
		return
	}
	p.owed += float64(p.extra) / 8 * elapsed.Seconds()
	n := min(int(p.owed/paddingSize), maxProbePackets)
	if n == 0 {
		return
	}
	sent := p.carrier.sendPadding(n, paddingSize, p.buf[:])
	p.owed -= float64(sent * paddingSize)
	if sent == 0 && p.owed > 4*paddingSize*maxProbePackets {
		p.owed = 0 // the carrier is mid-frame or gone; do not burst later
	}
}

// judgeDue settles a finished probe: success (no congestion decrease since it began, little loss) resets
// the wait and returns the rate the link carried; failure doubles the wait.
func (p *prober) judgeDue(now time.Time, decreases uint64, loss float64) (judged, success bool, carried int) {
	if p.judgeAt.IsZero() || now.Before(p.judgeAt) {
		return false, false, 0
	}
	success = decreases == p.startDecreases && loss <= probeLossMax
	if success {
		carried = p.target
		p.wait = probeWaitMin
	} else {
		p.wait = min(2*p.wait, probeWaitMax)
	}
	p.endsAt, p.judgeAt, p.carrier = time.Time{}, time.Time{}, nil
	p.nextAt = now.Add(p.wait)
	return true, success, carried
}
