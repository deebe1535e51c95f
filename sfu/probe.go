package sfu

import (
	"time"
)

// Bandwidth probing. pion's GCC only learns about capacity the subscriber's link shows it: once a
// subscriber has been moved down, its estimate climbs back slowly (near a previous congestion point GCC
// grows additively, a few kbps a second), so a link that recovered would stay on a low layer for minutes.
// When the allocator would like to give a subscriber more than its estimate allows, the prober sends
// padding-only packets for a second at the extra rate needed; if the estimate does not fall and GCC sees
// no loss meanwhile, the link carried it, and the probed rate becomes a floor under the estimate until
// the next sign of congestion. A failed probe doubles the wait before the next one.
const (
	probeDuration   = time.Second
	probeSettle     = 500 * time.Millisecond // feedback for the last padding arrives
	probeTick       = 50 * time.Millisecond
	probeWaitMin    = 2 * time.Second
	probeWaitMax    = 30 * time.Second
	probeLossMax    = 0.02
	paddingSize     = 255 // the most one RTP padding-length byte can describe
	congestionDrop  = 0.9 // an estimate falling below this share of the last one signals congestion
	maxProbePackets = 40  // per tick: about 2 Mbps of padding
)

// prober is the probing state of one subscriber. It belongs to the allocation loop, but for congested,
// which the estimator's callback sets (an atomic in subscriber).
type prober struct {
	wait    time.Duration
	nextAt  time.Time // no probe before this
	endsAt  time.Time // probing until this (zero: not probing)
	judgeAt time.Time // the probe's result is read at this time
	extra   int       // padding rate, bits per second
	target  int       // the rate the link carries if the probe succeeds
	carrier *DownTrack
	owed    float64 // padding bytes due but not yet sent
	floor   int     // a rate the link was shown to carry; 0 when none
	buf     [paddingSize]byte
}

func newProber(now time.Time) prober {
	return prober{wait: probeWaitMin, nextAt: now.Add(probeWaitMin)}
}

// budget is what the allocator may spend: the estimate, or the floor a probe established if higher.
func (p *prober) budget(estimate int) int { return max(estimate, p.floor) }

// congestion forgets the floor and pushes the next probe out: the link is full.
func (p *prober) congestion(now time.Time) {
	p.floor = 0
	p.endsAt, p.judgeAt, p.carrier = time.Time{}, time.Time{}, nil
	p.nextAt = now.Add(p.wait)
}

// maybeStart begins a probe of extra bits per second carried by dt, if it is time to.
func (p *prober) maybeStart(now time.Time, estimate, extra int, dt *DownTrack) bool {
	if !p.endsAt.IsZero() || !p.judgeAt.IsZero() || now.Before(p.nextAt) || extra <= 0 || dt == nil {
		return false
	}
	p.extra, p.target, p.carrier, p.owed = extra, p.budget(estimate)+extra, dt, 0
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

// judge settles a finished probe: success raises the floor and resets the wait, failure doubles it.
// It returns true when a probe was judged.
func (p *prober) judge(now time.Time, congested bool, loss float64) (judged, success bool) {
	if p.judgeAt.IsZero() || now.Before(p.judgeAt) {
		return false, false
	}
	success = !congested && loss <= probeLossMax
	if success {
		p.floor = max(p.floor, p.target)
		p.wait = probeWaitMin
	} else {
		p.wait = min(2*p.wait, probeWaitMax)
	}
	p.endsAt, p.judgeAt, p.carrier = time.Time{}, time.Time{}, nil
	p.nextAt = now.Add(p.wait)
	return true, success
}
