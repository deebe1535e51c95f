package sfu

import (
	"time"

	"github.com/pion/rtcp"
)

const (
	// allocationInterval is how often a subscriber's allocation is recomputed without a trigger
	// (measured layer bitrates drift); changes of the estimate, settings or tracks trigger it at once.
	allocationInterval = 500 * time.Millisecond
	// raiseHold keeps a track that was just lowered from going up again for a while, so an estimate
	// oscillating around a layer's cost does not make the picture flap.
	raiseHold = 3 * time.Second
	// senderReportEvery is how many allocation ticks pass between sender reports (about once a second).
	senderReportEvery = 2
	// minAllocationGap coalesces triggers: the estimate changes with every feedback report.
	minAllocationGap = 100 * time.Millisecond
	// pauseAfter: a track that is forwarding is paused for bandwidth only once the shortfall has lasted
	// this long. Black video is the harshest answer to congestion; a stall of the server or of the
	// client's feedback makes the estimate dip for a moment, and a real bottleneck keeps it down.
	pauseAfter = 1500 * time.Millisecond
)

// allocState is the allocation loop's memory of one subscription; only that loop touches it.
type allocState struct {
	holdUntil  time.Time
	shortSince time.Time // when the allocation first wanted to pause it for bandwidth; zero otherwise
	sent       StreamState
	sentValid  bool
}

// initialLayer is the layer a new subscription targets before its first allocation: the lowest, which
// every link carries and which starts fastest; the allocator raises it within one round.
const initialLayer = 0

// allocationLoop owns the subscriber's bandwidth allocation, its probes and its sender reports. It is
// started by newSubscriber and ends when close closes done. Triggers (kick) are coalesced to one
// allocation per minAllocationGap, and the padding ticker runs only while a probe does: with hundreds of
// subscribers on a node, idle wake-ups would cost more than the allocations.
func (s *subscriber) allocationLoop() {
	tick := time.NewTicker(allocationInterval)
	defer tick.Stop()
	var (
		pad      *time.Ticker
		padC     <-chan time.Time
		deferred <-chan time.Time // a coalesced kick
		lastRun  time.Time
		lastPad  time.Time
		ticks    int
	)
	defer func() {
		if pad != nil {
			pad.Stop()
		}
	}()
	s.probe = newProber(time.Now())
	for {
		select {
		case <-s.done:
			return
		case <-s.kick:
			if wait := minAllocationGap - time.Since(lastRun); wait > 0 {
				if deferred == nil {
					deferred = time.After(wait)
				}
				continue
			}
		case <-deferred:
			deferred = nil
		case <-tick.C:
			ticks++
			if ticks%senderReportEvery == 0 {
				s.sendReports()
			}
		case now := <-padC:
			if s.probe.probing(now) {
				s.probe.pad(now.Sub(lastPad))
			}
			lastPad = now
			if s.probe.judgeAt.IsZero() || now.Before(s.probe.judgeAt) {
				continue
			}
		}
		lastRun = time.Now()
		s.allocate()
		switch busy := !s.probe.judgeAt.IsZero(); {
		case busy && pad == nil:
			pad, lastPad = time.NewTicker(probeTick), lastRun
			padC = pad.C
		case !busy && pad != nil:
			pad.Stop()
			pad, padC = nil, nil
		}
	}
}

// allocate spends the subscriber's estimated bandwidth across its tracks and tells it what changed.
func (s *subscriber) allocate() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	ids := make([]string, 0, len(s.tracks))
	subs := make([]*subscription, 0, len(s.tracks))
	sets := make([]SubscriptionSettings, 0, len(s.tracks))
	for id, sub := range s.tracks {
		ids = append(ids, id)
		subs = append(subs, sub)
		sets = append(sets, s.settings[id])
	}
	s.mu.Unlock()

	now := time.Now()
	tracks := make([]allocTrack, len(subs))
	out := make([]allocation, len(subs))
	var measured [maxLayers]int
	flowing := make([]int, len(subs)) // per track, the highest layer that flows, or noLayer
	for i, sub := range subs {
		rcv := sub.downTrack.receiver
		n := rcv.layerCount()
		rcv.layerBitrates(measured[:n])
		t := &tracks[i]
		t.video = rcv.isVideo()
		t.screen = rcv.info.Source == SourceScreen
		t.priority = sets[i].Priority
		if rcv.speaker.Load() && t.priority < PriorityHigh {
			t.priority = PriorityHigh
		}
		t.area = sets[i].Width * sets[i].Height
		t.paused = sets[i].Paused
		t.maxLayer = min(maxLayerFor(rcv.info.Layers, sets[i]), n-1)
		layerCosts(&t.costs, t.video, measured[:n], rcv.info.Layers)
		flowing[i] = noLayer
		for j := n - 1; j >= 0; j-- {
			if measured[j] > 0 {
				flowing[i] = j
				break
			}
		}
		t.current = int(sub.downTrack.want.Load())
		t.mayRaise = !now.Before(sub.alloc.holdUntil)
	}
	decreases := s.bwe.Decreases()
	if decreases != s.lastDecreases {
		s.lastDecreases = decreases
		s.probe.congestion(now)
	}
	if judged, ok, carried := s.probe.judgeDue(now, decreases, s.bwe.Loss()); judged {
		if ok {
			s.bwe.RaiseTo(carried)
		}
		s.p.log.Debug("bandwidth probe", "success", ok, "carried", carried, "estimate", s.bwe.Target())
	}
	estimate := s.bwe.Target()
	allocate(estimate, tracks, out)
	if extra, carrier := probeWanted(subs, tracks, out); s.probe.maybeStart(now, estimate, extra, carrier, decreases) {
		s.p.log.Debug("bandwidth probe", "extra", extra, "estimate", estimate)
	}

	for i, sub := range subs {
		if !tracks[i].video {
			continue
		}
		a := out[i]
		if a.layer == noLayer && a.reason == PausedForBandwidth && tracks[i].current != noLayer {
			if sub.alloc.shortSince.IsZero() {
				sub.alloc.shortSince = now
			}
			if now.Sub(sub.alloc.shortSince) < pauseAfter {
				a = allocation{layer: 0} // keep the lowest layer while the shortfall may be a blip
				out[i] = a
			}
		} else {
			sub.alloc.shortSince = time.Time{}
		}
		if a.layer != tracks[i].current {
			if a.layer < tracks[i].current && a.layer < tracks[i].maxLayer && !tracks[i].paused {
				sub.alloc.holdUntil = now.Add(raiseHold) // lowered for bandwidth, not on request
			}
			s.p.log.Debug("allocation", "track", ids[i], "estimate", estimate, "from", tracks[i].current, "to", a.layer,
				"reason", a.reason, "costs", tracks[i].costs[:tracks[i].maxLayer+1])
			sub.downTrack.setWant(a.layer)
		}
		target := forwardable(a.layer, flowing[i])
		sub.downTrack.setTarget(target)
		s.reportState(ids[i], sub, out[i], limitOf(a.layer, target, tracks[i]))
	}
}

// forwardable is the layer to forward when the allocation chose want: want itself once it flows, else
// the best layer below it that does (the publisher starts a layer dynacast asks for within a moment, but
// an encoder short of bandwidth may not send it at all), else want (nothing flows yet).
func forwardable(want, flowing int) int {
	if want > flowing && flowing != noLayer {
		return flowing
	}
	return want
}

// limitOf says what holds a forwarded track below the best layer its subscriber wants: the publisher
// when the allotted layer does not arrive, else the budget when the allocation gave less than the size
// asked for; "" when nothing does (or the track is paused, which has its own reason).
func limitOf(allotted, forwarded int, t allocTrack) PauseReason {
	switch {
	case allotted == noLayer || t.paused:
		return ""
	case forwarded < allotted:
		return LimitedByPublisher
	case allotted < t.maxLayer:
		return LimitedByBandwidth
	}
	return ""
}

// probeWanted returns the extra bitrate that would raise the most important track held back by bandwidth
// one step, and a DownTrack forwarding video that can carry padding; 0 when nothing is held back.
func probeWanted(subs []*subscription, tracks []allocTrack, out []allocation) (extra int, carrier *DownTrack) {
	best := -1
	for i, t := range tracks {
		if !t.video || t.paused || !t.mayRaise || out[i].layer >= t.maxLayer {
			continue
		}
		if best < 0 || t.screen && !tracks[best].screen || t.priority > tracks[best].priority {
			best = i
		}
	}
	if best < 0 {
		return 0, nil
	}
	t := tracks[best]
	next, cur := out[best].layer+1, 0
	if out[best].layer >= 0 {
		cur = t.costs[out[best].layer]
	}
	extra = int(float64(t.costs[next])*upgradeHeadroom) - cur
	for i, sub := range subs {
		if tracks[i].video && sub.downTrack.canCarryPadding() {
			carrier = sub.downTrack
			if i == best {
				break
			}
		}
	}
	return extra, carrier
}

// reportState tells the subscriber when what it receives of a video track changed: paused (and why), or
// the layer now forwarded. A raise is reported once the new layer's keyframe went out, not when decided.
func (s *subscriber) reportState(trackID string, sub *subscription, a allocation, limit PauseReason) {
	st := StreamState{Limit: limit}
	if a.layer == noLayer {
		st = StreamState{Paused: true, Reason: a.reason}
	} else {
		cur := int(sub.downTrack.current.Load())
		if cur == noLayer {
			return // not forwarding yet; the first keyframe wakes the loop again
		}
		rcv := sub.downTrack.receiver
		if len(rcv.info.Layers) > 1 && cur < len(rcv.info.Layers) {
			st.Layer = rcv.info.Layers[cur].RID
		}
	}
	if sub.alloc.sentValid && sub.alloc.sent == st {
		return
	}
	if st.Paused && !(sub.alloc.sentValid && sub.alloc.sent.Paused) {
		sub.downTrack.receiver.counters.pauses.Add(1)
	}
	sub.alloc.sent, sub.alloc.sentValid = st, true
	s.p.events.StreamStateChanged(trackID, st)
}

// sendReports sends an RTCP sender report for every track forwarding, carrying its publisher's clock.
func (s *subscriber) sendReports() {
	s.mu.Lock()
	dts := make([]*DownTrack, 0, len(s.tracks))
	for _, sub := range s.tracks {
		dts = append(dts, sub.downTrack)
	}
	s.mu.Unlock()
	now := time.Now()
	pkts := make([]rtcp.Packet, 0, len(dts))
	for _, dt := range dts {
		if sr := dt.senderReport(now); sr != nil {
			pkts = append(pkts, sr)
		}
	}
	if len(pkts) == 0 {
		return
	}
	if err := s.pc.WriteRTCP(pkts); err != nil {
		s.p.log.Debug("sender reports", "err", err)
	}
}

// setSettings records how the subscriber wants one track; the track must be published in the room.
func (s *subscriber) setSettings(trackID string, set SubscriptionSettings) error {
	if !s.p.room.hasTrack(trackID) {
		return ErrUnknownTrack
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.settings[trackID] = set
	s.mu.Unlock()
	s.wake()
	return nil
}
