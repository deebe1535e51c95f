package loadtest

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	base := Report{Participants: ParticipantCounts{Planned: 10, Joined: 10}, Tracks: TrackCounts{Expected: 20, Received: 20},
		Loss: LossSummary{Expected: 10000, Missing: 50, Rate: 0.005}}
	tests := []struct {
		name   string
		change func(*Report)
		th     Thresholds
		want   int // failures
	}{
		{"passes", func(*Report) {}, Thresholds{MaxLoss: 0.01}, 0},
		{"too much loss", func(*Report) {}, Thresholds{MaxLoss: 0.001}, 1},
		{"loss check off", func(*Report) {}, Thresholds{MaxLoss: -1}, 0},
		{"a failure", func(r *Report) { r.Participants.Failed = 1 }, Thresholds{MaxLoss: 0.01}, 1},
		{"skipped count as failed", func(r *Report) { r.Participants.Skipped = 2 }, Thresholds{MaxLoss: 0.01, MaxFailures: 1}, 1},
		{"failures allowed", func(r *Report) { r.Participants.Failed = 1 }, Thresholds{MaxLoss: 0.01, MaxFailures: 1}, 0},
		{"a missing track", func(r *Report) { r.Tracks.Received = 19 }, Thresholds{MaxLoss: 0.01}, 1},
		{"everything", func(r *Report) { r.Tracks.Received, r.Participants.Failed = 0, 3 }, Thresholds{}, 3},
	}
	for _, tt := range tests {
		r := base
		tt.change(&r)
		if got := r.Check(tt.th); len(got) != tt.want || len(r.Failures) != tt.want {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
}

func sampleReport() *Report {
	r := &Report{Scenario: "meeting", Started: time.Unix(1_800_000_000, 0), JoinSeconds: 3, MeasuredSeconds: 5,
		Options:      OptionsSummary{Rooms: 1, Publishers: 2, Subscribers: 3, Simulcast: true, Layout: LayoutGrid},
		Participants: ParticipantCounts{Planned: 5, Joined: 4, Failed: 1, Errors: []string{"1× join: <boom>"}},
		Tracks:       TrackCounts{Published: 4, Expected: 14, Received: 13, Missing: []string{"r/sub3 <- TR_x (P1 camera)"}},
		LatencyMs:    Dist{N: 10, P50: 0.4, P95: 1, P99: 2, Max: 3},
		Layers:       map[string]int{"h": 6, "q": 2},
		Server:       ServerCost{Scraped: true, CPUSeconds: 1.5, PacketsOut: 150000, PacketsPerCPUS: 100000},
		Receivers: []ReceiverReport{{Room: "r", Name: "sub1", Role: RoleSubscriber, Kbps: 1200,
			Tracks: []TrackReport{{TrackID: "TR_x", Kind: "video", Layer: "h"}}}},
	}
	for i := range 8 {
		r.Timeline = append(r.Timeline, Sample{T: float64(i + 1), Measuring: i >= 3, RxMbps: float64(i), ReceiverKbps: 100 * float64(i),
			LossPct: 0.1, LatencyP50Ms: 0.4, LatencyP99Ms: 2})
	}
	r.Check(Thresholds{MaxLoss: 0.01})
	return r
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== meeting", "joined 4", "failed 1", "missing 1", "100000 forwarded packets per CPU-second",
		"h×6 q×2", "r/sub1", "FAILED", "1 participants failed"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}

// TestWriteHTML: one self-contained page, charts as inline SVG, nothing fetched, text escaped.
func TestWriteHTML(t *testing.T) {
	for _, r := range []*Report{sampleReport(), {Scenario: "empty"}} {
		var b bytes.Buffer
		if err := r.WriteHTML(&b); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		if strings.Count(page, "<svg") != 4 || !strings.Contains(page, "<polyline") {
			t.Errorf("%s: %d charts", r.Scenario, strings.Count(page, "<svg"))
		}
		for _, banned := range []string{"<script", "src=", "href=", "<boom>", "@import"} {
			if strings.Contains(page, banned) {
				t.Errorf("%s: page contains %q", r.Scenario, banned)
			}
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{{0, 1}, {-3, 1}, {0.7, 1}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {180, 200}, {0.0001, 0.001}} {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
