package sfu

import (
	"fmt"
	"testing"
)

func videoTrack(priority Priority, current int, costs ...int) allocTrack {
	t := allocTrack{video: true, priority: priority, current: current, maxLayer: len(costs) - 1, mayRaise: true}
	copy(t.costs[:], costs)
	return t
}

func audioTrack() allocTrack {
	t := allocTrack{}
	t.costs[0] = 40_000
	return t
}

func TestAllocate(t *testing.T) {
	cam := func(p Priority, cur int) allocTrack { return videoTrack(p, cur, 150_000, 500_000, 1_700_000) }
	screen := videoTrack(PriorityNormal, 0, 2_000_000)
	screen.screen = true
	paused := cam(PriorityNormal, 0)
	paused.paused = true
	capped := cam(PriorityNormal, 0)
	capped.maxLayer = 1
	held := cam(PriorityNormal, 1)
	held.mayRaise = false

	tests := []struct {
		name   string
		budget int
		tracks []allocTrack
		want   []int // layer per track (audio: 0)
		why    []PauseReason
	}{
		{"one camera, plenty", 5_000_000, []allocTrack{audioTrack(), cam(PriorityNormal, 0)}, []int{0, 2}, nil},
		{"one camera, 1 Mbps: h", 1_000_000, []allocTrack{audioTrack(), cam(PriorityNormal, 0)}, []int{0, 1}, nil},
		{"audio first, then not even q: paused", 150_000, []allocTrack{audioTrack(), cam(PriorityNormal, 0)}, []int{0, noLayer},
			[]PauseReason{"", PausedForBandwidth}},
		{"high priority gets f, thumbnails q", 2_400_000,
			[]allocTrack{cam(PriorityLow, 0), cam(PriorityHigh, 0), cam(PriorityNormal, 0)}, []int{0, 2, 0}, nil},
		{"screen share before the speaker", 2_800_000,
			[]allocTrack{cam(PriorityHigh, 0), screen}, []int{1, 0}, nil},
		{"paused by subscriber costs nothing", 700_000,
			[]allocTrack{paused, cam(PriorityNormal, 0)}, []int{noLayer, 1}, []PauseReason{PausedBySubscriber, ""}},
		{"max layer respected", 10_000_000, []allocTrack{capped}, []int{1}, nil},
		{"staying at f needs no headroom", 1_750_000, []allocTrack{cam(PriorityNormal, 2)}, []int{2}, nil},
		{"going up to f needs headroom", 1_750_000, []allocTrack{cam(PriorityNormal, 1)}, []int{1}, nil},
		{"held after a drop: no raise", 10_000_000, []allocTrack{held}, []int{1}, nil},
		{"held may still go down", 300_000, []allocTrack{held}, []int{0}, nil},
		{"resuming needs headroom", 160_000, []allocTrack{cam(PriorityNormal, noLayer)}, []int{noLayer}, []PauseReason{PausedForBandwidth}},
		{"second camera paused when only one q fits", 220_000,
			[]allocTrack{cam(PriorityHigh, 0), cam(PriorityLow, 0)}, []int{0, noLayer}, []PauseReason{"", PausedForBandwidth}},
		{"a forwarded lowest layer survives a small shortfall", 120_000, []allocTrack{cam(PriorityNormal, 0)}, []int{0}, nil},
		{"but not a large one", 100_000, []allocTrack{cam(PriorityNormal, 0)}, []int{noLayer}, []PauseReason{PausedForBandwidth}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := make([]allocation, len(tt.tracks))
			allocate(tt.budget, tt.tracks, out)
			for i := range out {
				if out[i].layer != tt.want[i] {
					t.Errorf("track %d: layer %d, want %d (all: %v)", i, out[i].layer, tt.want[i], out)
				}
				if tt.why != nil && out[i].reason != tt.why[i] {
					t.Errorf("track %d: reason %q, want %q", i, out[i].reason, tt.why[i])
				}
			}
		})
	}
}

func TestMaxLayerFor(t *testing.T) {
	tests := []struct {
		s    SubscriptionSettings
		want int
	}{
		{SubscriptionSettings{}, 2},
		{SubscriptionSettings{MaxLayer: "q"}, 0},
		{SubscriptionSettings{MaxLayer: "nope"}, 2},
		{SubscriptionSettings{Width: 320, Height: 180}, 0},
		{SubscriptionSettings{Width: 360, Height: 200}, 0}, // within 15 %
		{SubscriptionSettings{Width: 480, Height: 270}, 1},
		{SubscriptionSettings{Width: 1920, Height: 1080}, 2},
		{SubscriptionSettings{Width: 1920, Height: 1080, MaxLayer: "h"}, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.s), func(t *testing.T) {
			if got := maxLayerFor(qhf, tt.s); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
	if got := maxLayerFor([]LayerSpec{{RID: "q"}, {RID: "h"}}, SubscriptionSettings{Width: 100, Height: 100}); got != 1 {
		t.Errorf("sizes unknown: got %d, want the top layer 1", got)
	}
}

func TestLayerCosts(t *testing.T) {
	var costs [maxLayers]int
	layerCosts(&costs, true, []int{120_000, 700_000, 900_000}, []LayerSpec{{RID: "q"}, {RID: "h", MaxBitrate: 600_000}, {RID: "f"}})
	if costs[0] != 120_000 || costs[1] != 600_000 || costs[2] != 900_000 {
		t.Errorf("costs %v: want measured q, declared h (over measured), measured f", costs[:3])
	}
	layerCosts(&costs, true, []int{400_000, 300_000}, nil)
	if costs[1] < costs[0] {
		t.Errorf("costs %v: a higher layer cheaper than a lower one", costs[:2])
	}
}

func TestForwardable(t *testing.T) {
	tests := []struct{ want, flowing, got int }{
		{want: 2, flowing: 2, got: 2},             // the wanted layer flows
		{want: 2, flowing: 1, got: 1},             // f asked for, not sent yet: forward h meanwhile
		{want: 1, flowing: 2, got: 1},             // never above what was wanted
		{want: 2, flowing: noLayer, got: 2},       // nothing measured yet: keep the wanted layer
		{want: noLayer, flowing: 1, got: noLayer}, // paused stays paused
	}
	for _, tc := range tests {
		if got := forwardable(tc.want, tc.flowing); got != tc.got {
			t.Errorf("forwardable(%d, %d) = %d, want %d", tc.want, tc.flowing, got, tc.got)
		}
	}
}

// TestLimitOf: what a subscriber is told holds a forwarded track below the layer it asked for.
func TestLimitOf(t *testing.T) {
	three := allocTrack{video: true, maxLayer: 2}
	small := allocTrack{video: true, maxLayer: 0} // the subscriber renders it small: q is all it asked for
	cases := []struct {
		name               string
		allotted, forwards int
		track              allocTrack
		want               PauseReason
	}{
		{"best layer, flowing", 2, 2, three, ""},
		{"budget gave h of f", 1, 1, three, LimitedByBandwidth},
		{"f allotted, publisher sends only h", 2, 1, three, LimitedByPublisher},
		{"h allotted, publisher sends only q: the publisher first", 1, 0, three, LimitedByPublisher},
		{"q is all it asked for", 0, 0, small, ""},
		{"paused for bandwidth: the pause says why", noLayer, noLayer, three, ""},
		{"paused by the subscriber", noLayer, noLayer, allocTrack{video: true, maxLayer: 2, paused: true}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := limitOf(tc.allotted, tc.forwards, tc.track); got != tc.want {
				t.Errorf("limitOf(%d, %d) = %q, want %q", tc.allotted, tc.forwards, got, tc.want)
			}
		})
	}
}
