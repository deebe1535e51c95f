package sfu

import "sort"

// Allocation policy constants.
const (
	// upgradeHeadroom: moving a track up (or resuming it) needs this much more budget than the layer
	// costs, so that an estimate hovering at a layer's bitrate does not flap between two layers.
	upgradeHeadroom = 1.2
	// keepFloor: a track already forwarding keeps its lowest layer while the budget covers this share of
	// its cost. The estimate drops to 0.85 of the acked rate at the first sign of queuing; for a track with
	// one layer, or already on its lowest, pausing would cut 100 % where 15 % was asked, and black video
	// until a probe succeeds is worse for the user than a little more than the estimate for a moment.
	keepFloor = 0.75
	// defaultAudioBitrate is what an audio track is assumed to cost before it is measured.
	defaultAudioBitrate = 48_000
)

// nominalLayerBitrate is assumed for a layer that neither declared its bitrate nor was measured (it may be
// paused by dynacast): q, h, f and a fourth layer.
var nominalLayerBitrate = [maxLayers]int{150_000, 500_000, 1_700_000, 3_000_000}

// allocTrack is what the allocator knows of one track a subscriber receives.
type allocTrack struct {
	video    bool
	screen   bool
	priority Priority
	area     int  // render area in pixels, 0 if unknown: larger tiles rank first among equals
	paused   bool // the subscriber asked to pause it
	maxLayer int  // highest layer allowed by the subscriber's settings and the track's layers
	costs    [maxLayers]int
	current  int  // the layer it targets now, or noLayer
	mayRaise bool // false while recently lowered: hold, do not go up yet
}

// allocation is the allocator's decision for one track.
type allocation struct {
	layer  int // noLayer when paused
	reason PauseReason
}

// allocate spends budget (bits per second) across a subscriber's tracks: every audio track first, then
// the lowest layer of each video track in rank order (screen share, high, normal, low priority, larger
// tiles first) while it fits, pausing the rest; then what remains raises tracks, in the same order, to the
// highest layer that fits. Going above a track's current layer needs upgradeHeadroom times its cost, and
// tracks lowered recently (mayRaise false) stay put, so allocations do not flap.
func allocate(budget int, tracks []allocTrack, out []allocation) {
	remaining := budget
	order := make([]int, 0, len(tracks))
	for i, t := range tracks {
		out[i] = allocation{layer: 0}
		if !t.video {
			remaining -= t.costs[0]
			continue
		}
		order = append(order, i)
	}
	sort.SliceStable(order, func(a, b int) bool {
		ta, tb := &tracks[order[a]], &tracks[order[b]]
		if ta.screen != tb.screen {
			return ta.screen
		}
		if ta.priority != tb.priority {
			return ta.priority > tb.priority
		}
		return ta.area > tb.area
	})

	// First every visible video track gets its lowest layer, in rank order, while it fits.
	for _, i := range order {
		t := &tracks[i]
		if t.paused {
			out[i] = allocation{layer: noLayer, reason: PausedBySubscriber}
			continue
		}
		need := int(float64(t.costs[0]) * keepFloor)
		if t.current == noLayer {
			need = int(float64(t.costs[0]) * upgradeHeadroom)
		}
		if remaining < need {
			out[i] = allocation{layer: noLayer, reason: PausedForBandwidth}
			continue
		}
		remaining -= t.costs[0]
	}
	// Then raise them, in the same order, as far as the rest allows.
	for _, i := range order {
		t := &tracks[i]
		if out[i].layer == noLayer {
			continue
		}
		for l := t.maxLayer; l > 0; l-- {
			extra := t.costs[l] - t.costs[0]
			need := extra
			if l > t.current {
				if !t.mayRaise {
					continue
				}
				need = int(float64(t.costs[l])*upgradeHeadroom) - t.costs[0]
			}
			if remaining >= need {
				out[i].layer = l
				remaining -= extra
				break
			}
		}
	}
}

// layerCosts fills costs for a track's layers: what the publisher declared (its encoder's cap, which it
// keeps to on average), else the measured bitrate where the layer flows, else the nominal rate. Declared
// rates come first because measurements swing with every keyframe, and an allocation that follows them
// would move subscribers up and down with the publisher's keyframes.
func layerCosts(costs *[maxLayers]int, video bool, measured []int, declared []LayerSpec) {
	for i := range costs {
		switch {
		case i < len(declared) && declared[i].MaxBitrate > 0:
			costs[i] = declared[i].MaxBitrate
		case i < len(measured) && measured[i] > 0:
			costs[i] = measured[i]
		case !video:
			costs[i] = defaultAudioBitrate
		default:
			costs[i] = nominalLayerBitrate[i]
		}
	}
	// A higher layer never costs less than a lower one, whatever a noisy measurement says.
	for i := 1; i < len(costs); i++ {
		costs[i] = max(costs[i], costs[i-1])
	}
}

// maxLayerFor is the highest layer a subscriber needs: no higher than maxRID (if set), and no larger than
// the smallest layer that covers its render size (if known and the layers declared their sizes).
func maxLayerFor(layers []LayerSpec, s SubscriptionSettings) int {
	top := max(len(layers)-1, 0)
	if s.MaxLayer != "" {
		if i := layerIndex(s.MaxLayer, layers); i >= 0 {
			top = i
		}
	}
	if s.Width <= 0 && s.Height <= 0 {
		return top
	}
	for i := 0; i < top; i++ {
		l := layers[i]
		if l.Width == 0 || l.Height == 0 {
			return top // sizes unknown: do not guess
		}
		// 15 % slack: a layer a little smaller than the tile still looks sharp scaled up that little.
		if float64(l.Width) >= 0.85*float64(s.Width) && float64(l.Height) >= 0.85*float64(s.Height) {
			return i
		}
	}
	return top
}
