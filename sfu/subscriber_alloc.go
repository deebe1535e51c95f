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
)

// allocState is the allocation loop's memory of one subscription; only that loop touches it.
type allocState struct {
	holdUntil time.Time
	sent      StreamState
	sentValid bool
}

func newAllocState() allocState { return allocState{} }

// initialLayer is the layer a new subscription targets before its first allocation: the lowest, which
// every link carries and which starts fastest; the allocator raises it within one round.
func initialLayer(*Receiver) int { return 0 }

// allocationLoop owns the subscriber's bandwidth allocation and its sender reports. It is started by
// newSubscriber and ends when close closes done.
func (s *subscriber) allocationLoop() {
	tick := time.NewTicker(allocationInterval)
	defer tick.Stop()
	ticks := 0
	for {
		select {
		case <-s.done:
			return
		case <-s.kick:
		case <-tick.C:
			ticks++
			if ticks%senderReportEvery == 0 {
				s.sendReports()
			}
		}
		s.allocate()
	}
}

// estimate is the subscriber's current downlink bandwidth estimate in bits per second.
func (s *subscriber) estimate() int {
	if s.bwe == nil {
		return initialEstimate
	}
	return s.bwe.GetTargetBitrate()
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
		t.current = int(sub.downTrack.target.Load())
		t.mayRaise = !now.Before(sub.alloc.holdUntil)
	}
	allocate(s.estimate(), tracks, out)

	for i, sub := range subs {
		if !tracks[i].video {
			continue
		}
		if a := out[i]; a.layer != tracks[i].current {
			if a.layer < tracks[i].current {
				sub.alloc.holdUntil = now.Add(raiseHold)
			}
			sub.downTrack.setTarget(a.layer)
		}
		s.reportState(ids[i], sub, out[i])
	}
}

// reportState tells the subscriber when what it receives of a video track changed: paused (and why), or
// the layer now forwarded. A raise is reported once the new layer's keyframe went out, not when decided.
func (s *subscriber) reportState(trackID string, sub *subscription, a allocation) {
	var st StreamState
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
