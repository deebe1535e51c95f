// Package bwe estimates how much one subscriber's downlink carries, from the transport-wide congestion
// control feedback its browser sends (draft-holmer-rmcat-transport-wide-cc-extensions-01). It follows
// Google Congestion Control: packets are grouped by send time, the growth of one-way delay between groups
// is fitted with a trendline and compared with an adaptive threshold (overuse / normal / underuse), loss
// is averaged, and an AIMD controller turns both into a target bitrate: down to 85 % of what was acked on
// overuse or heavy loss, up by at most 8 % a second otherwise, never far above what the link has shown
// it carries (the SFU probes with padding to show it more).
//
// The SFU uses this instead of pion's gcc because that one keeps a map entry and several allocations per
// packet sent; here a packet sent is one slot of a fixed ring, and nothing is allocated per packet.
//
// Locking: an Estimator is safe for concurrent use. One mutex guards it, held for a few field updates per
// packet sent and for one pass over a feedback report; the change callback is called without it.
package bwe

import (
	"math"
	"sync"
	"time"

	"github.com/pion/rtcp"
)

const (
	historySize   = 4096 // packets remembered for feedback: 2 s at 2000 packets a second; reports come every 50–100 ms
	groupSpan     = 5 * time.Millisecond
	trendWindow   = 20
	smoothing     = 0.9
	trendGain     = 4.0
	maxDeltas     = 60
	thresholdInit = 12.5 // ms
	thresholdMin  = 6.0
	thresholdMax  = 600.0
	kUp           = 0.0087
	kDown         = 0.039
	overuseTime   = 10 * time.Millisecond
	beta          = 0.85
	increasePerS  = 1.08
	lossHigh      = 0.10
	lossLow       = 0.02
	rateWindow    = 500 * time.Millisecond
	decreaseGap   = 200 * time.Millisecond // at most one decrease per this, however many reports say so
	ackSlots      = 64
)

// Usage is the delay detector's verdict.
type Usage int8

// Usages.
const (
	Normal Usage = iota
	Overuse
	Underuse
)

// Config bounds the estimate, in bits per second.
type Config struct {
	Initial, Min, Max int
}

type sentPacket struct {
	sentAt int64
	size   int32
	seq    uint16
	valid  bool
}

type point struct{ x, y float64 }

type ackedBytes struct {
	at    int64
	bytes int
}

// Estimator is one PeerConnection's send-side bandwidth estimate.
type Estimator struct {
	cfg Config

	mu       sync.Mutex
	nextSeq  uint16
	sent     [historySize]sentPacket
	target   int
	onChange func(int)
	notified int // target at the last onChange: small rises are not worth waking anyone for

	// delay-gradient detector
	groupOpen                           bool
	groupFirstSent, groupLastSent       int64
	groupLastArrival                    int64
	havePrev                            bool
	prevLastSent, prevLastArrival       int64
	accDelay, smoothDelay               float64
	firstArrival                        int64
	points                              [trendWindow]point
	nPoints, nextPoint, numDeltas       int
	threshold, prevTrend                float64
	lastThresholdAt, overuseSince       int64
	usage                               Usage
	lastUpdate, lastDecrease, startedAt int64

	// loss and acked rate
	loss      float64
	acks      [ackSlots]ackedBytes
	nextAck   int
	decreases uint64
}

// New returns an estimator starting at cfg.Initial.
func New(cfg Config) *Estimator {
	if cfg.Min <= 0 {
		cfg.Min = 30_000
	}
	if cfg.Max < cfg.Min {
		cfg.Max = 50_000_000
	}
	cfg.Initial = min(max(cfg.Initial, cfg.Min), cfg.Max)
	return &Estimator{cfg: cfg, target: cfg.Initial, notified: cfg.Initial, threshold: thresholdInit}
}

// OnChange sets a callback for changes of the target that matter: every decrease, and rises of 5 % or
// more since the last call. It runs on the goroutine that delivered the feedback and must not block.
func (e *Estimator) OnChange(f func(bitrate int)) {
	e.mu.Lock()
	e.onChange = f
	e.mu.Unlock()
}

// Sent records a packet of size bytes sent now (unix nanos) and returns the transport-wide sequence
// number to stamp on it.
func (e *Estimator) Sent(size int, now int64) uint16 {
	e.mu.Lock()
	seq := e.nextSeq
	e.nextSeq++
	e.sent[int(seq)%historySize] = sentPacket{sentAt: now, size: int32(size), seq: seq, valid: true}
	if e.startedAt == 0 {
		e.startedAt = now
	}
	e.mu.Unlock()
	return seq
}

// Target is the current estimate in bits per second.
func (e *Estimator) Target() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.target
}

// Loss is the averaged share of packets the receiver reported lost.
func (e *Estimator) Loss() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.loss
}

// Decreases counts the estimate's congestion decreases so far: a prober compares it before and after.
func (e *Estimator) Decreases() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.decreases
}

// Usage is the delay detector's current verdict.
func (e *Estimator) Usage() Usage {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.usage
}

// RaiseTo lifts the estimate to at least bitrate: the link was just shown to carry it (a probe).
func (e *Estimator) RaiseTo(bitrate int) {
	e.mu.Lock()
	changed := bitrate > e.target
	if changed {
		e.target = min(bitrate, e.cfg.Max)
	}
	target, cb := e.target, e.onChange
	if changed {
		e.notified = target
	}
	e.mu.Unlock()
	if changed && cb != nil {
		cb(target)
	}
}

// OnFeedback takes one transport-wide feedback report received at now.
func (e *Estimator) OnFeedback(fb *rtcp.TransportLayerCC, now time.Time) {
	nowNs := now.UnixNano()
	e.mu.Lock()
	lost, total, bytes := 0, 0, 0
	forEachStatus(fb, func(seq uint16, received bool, arrival int64) {
		s := &e.sent[int(seq)%historySize]
		if !s.valid || s.seq != seq {
			return // older than the history, or never sent
		}
		total++
		if !received {
			lost++
			return
		}
		bytes += int(s.size)
		e.onArrival(s.sentAt, arrival)
	})
	if total > 0 {
		ratio := float64(lost) / float64(total)
		e.loss = 0.7*e.loss + 0.3*ratio
	}
	e.acks[e.nextAck%ackSlots] = ackedBytes{at: nowNs, bytes: bytes}
	e.nextAck++
	e.control(nowNs)
	target, cb := e.target, e.onChange
	notify := target < e.notified || float64(target) >= 1.05*float64(e.notified)
	if notify {
		e.notified = target
	}
	e.mu.Unlock()
	if notify && cb != nil {
		cb(target)
	}
}

// onArrival groups packets sent within groupSpan and feeds the delay variation between consecutive
// groups to the trendline.
func (e *Estimator) onArrival(sentAt, arrival int64) {
	switch {
	case !e.groupOpen:
		e.groupOpen, e.groupFirstSent, e.groupLastSent, e.groupLastArrival = true, sentAt, sentAt, arrival
	case sentAt < e.groupFirstSent:
		return // reordered; ignore for delay
	case sentAt-e.groupFirstSent <= int64(groupSpan):
		e.groupLastSent = max(e.groupLastSent, sentAt)
		e.groupLastArrival = max(e.groupLastArrival, arrival)
	default:
		if e.havePrev {
			sendDelta := e.groupLastSent - e.prevLastSent
			arrivalDelta := e.groupLastArrival - e.prevLastArrival
			e.addDelta(float64(arrivalDelta-sendDelta)/1e6, e.groupLastArrival)
		}
		e.havePrev, e.prevLastSent, e.prevLastArrival = true, e.groupLastSent, e.groupLastArrival
		e.groupFirstSent, e.groupLastSent, e.groupLastArrival = sentAt, sentAt, arrival
	}
}

// addDelta adds one inter-group delay variation (ms) at arrival time arrival and re-evaluates usage.
func (e *Estimator) addDelta(deltaMs float64, arrival int64) {
	e.numDeltas = min(e.numDeltas+1, 1000)
	e.accDelay += deltaMs
	e.smoothDelay = smoothing*e.smoothDelay + (1-smoothing)*e.accDelay
	if e.nPoints == 0 && e.firstArrival == 0 {
		e.firstArrival = arrival
	}
	e.points[e.nextPoint] = point{x: float64(arrival-e.firstArrival) / 1e6, y: e.smoothDelay}
	e.nextPoint = (e.nextPoint + 1) % trendWindow
	e.nPoints = min(e.nPoints+1, trendWindow)
	if e.nPoints < trendWindow {
		return
	}
	trend := slope(e.points[:]) * float64(min(e.numDeltas, maxDeltas)) * trendGain
	e.detect(trend, arrival)
}

// slope is the least-squares slope of y over x.
func slope(pts []point) float64 {
	var sx, sy float64
	for _, p := range pts {
		sx += p.x
		sy += p.y
	}
	mx, my := sx/float64(len(pts)), sy/float64(len(pts))
	var num, den float64
	for _, p := range pts {
		num += (p.x - mx) * (p.y - my)
		den += (p.x - mx) * (p.x - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// detect compares the trend with the adaptive threshold.
func (e *Estimator) detect(trend float64, now int64) {
	switch {
	case trend > e.threshold:
		if e.overuseSince == 0 {
			e.overuseSince = now
		}
		if now-e.overuseSince >= int64(overuseTime) && trend >= e.prevTrend {
			e.usage = Overuse
		}
	case trend < -e.threshold:
		e.usage, e.overuseSince = Underuse, 0
	default:
		e.usage, e.overuseSince = Normal, 0
	}
	e.prevTrend = trend
	// The threshold follows the trend slowly, so that competing flows and noise do not starve us.
	abs := math.Abs(trend)
	if e.lastThresholdAt != 0 && abs <= e.threshold+15 {
		k := kUp
		if abs < e.threshold {
			k = kDown
		}
		dt := math.Min(float64(now-e.lastThresholdAt)/1e6, 100)
		e.threshold = math.Min(math.Max(e.threshold+k*(abs-e.threshold)*dt, thresholdMin), thresholdMax)
	}
	e.lastThresholdAt = now
}

// ackedRate is the bitrate the receiver acknowledged over the last rateWindow; 0 until the estimator
// has run that long.
func (e *Estimator) ackedRate(now int64) int {
	if e.startedAt == 0 || now-e.startedAt < int64(rateWindow) {
		return 0
	}
	bytes := 0
	for _, a := range e.acks {
		if a.at > now-int64(rateWindow) {
			bytes += a.bytes
		}
	}
	return int(float64(bytes) * 8 / rateWindow.Seconds())
}

// control is the AIMD rate controller, run after every report.
func (e *Estimator) control(now int64) {
	acked := e.ackedRate(now)
	dt := 0.0
	if e.lastUpdate != 0 {
		dt = math.Min(float64(now-e.lastUpdate)/1e9, 1)
	}
	e.lastUpdate = now
	congested := e.usage == Overuse || e.loss > lossHigh
	switch {
	case congested:
		if now-e.lastDecrease < int64(decreaseGap) {
			return
		}
		next := e.target
		if e.usage == Overuse && acked > 0 {
			// One decrease at most halves the estimate: the acked rate over a short window can catch a
			// lull (feedback arriving late, the gap after a keyframe burst), and a real bottleneck keeps
			// signalling overuse, so further decreases follow every decreaseGap.
			next = min(next, max(int(beta*float64(acked)), e.target/2))
		}
		if e.loss > lossHigh {
			next = min(next, int(float64(e.target)*(1-0.5*e.loss)))
		}
		if next < e.target {
			e.target = max(next, e.cfg.Min)
			e.decreases++
			e.lastDecrease = now
		}
	case e.usage == Normal && e.loss < lossLow:
		next := int(float64(e.target) * math.Pow(increasePerS, dt))
		// Never far above what the link has shown it carries: more needs a probe.
		if acked > 0 {
			if limit := int(1.5*float64(acked)) + 50_000; next > limit {
				next = max(e.target, limit)
			}
		}
		e.target = min(max(next, e.target), e.cfg.Max)
	}
}
