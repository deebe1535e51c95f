package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
)

const sampleMetrics = `# HELP huddle_media_packets_out_total RTP packets forwarded to subscribers (retransmissions not included).
# TYPE huddle_media_packets_out_total counter
huddle_media_packets_out_total 12345
# TYPE huddle_media_packets_in_total counter
huddle_media_packets_in_total 2000
# TYPE huddle_media_bytes_in_total counter
huddle_media_bytes_in_total 2.2e+06
# TYPE huddle_media_bytes_out_total counter
huddle_media_bytes_out_total 1.3e+07
# TYPE huddle_media_retransmitted_packets_total counter
huddle_media_retransmitted_packets_total 7
# TYPE huddle_participants gauge
huddle_participants 31
# TYPE huddle_tracks gauge
huddle_tracks 2
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 4.25
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 1e-05
go_gc_duration_seconds_sum 0.001
go_gc_duration_seconds_count 12
`

func TestParseMetrics(t *testing.T) {
	c, err := ParseMetrics(strings.NewReader(sampleMetrics))
	if err != nil {
		t.Fatal(err)
	}
	want := ServerCounters{CPUSeconds: 4.25, PacketsIn: 2000, PacketsOut: 12345, BytesIn: 2.2e6, BytesOut: 1.3e7, Retransmitted: 7,
		Participants: 31, Tracks: 2, HaveCPU: true, HaveMediaStats: true}
	if c != want {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	partial, err := ParseMetrics(strings.NewReader("process_cpu_seconds_total 1\n"))
	if err != nil || !partial.HaveCPU || partial.HaveMediaStats {
		t.Errorf("partial: %+v, %v", partial, err)
	}
	if _, err := ParseMetrics(strings.NewReader("huddle_media_packets_out_total{ 1\n")); err == nil {
		t.Error("no error for a broken line")
	}
	d := want.sub(ServerCounters{CPUSeconds: 1.25, PacketsOut: 345, HaveCPU: true, HaveMediaStats: true})
	if d.CPUSeconds != 3 || d.PacketsOut != 12000 || !d.HaveCPU {
		t.Errorf("sub: %+v", d)
	}
}

// TestMetricNames: the names the load tester reads are the ones the node serves.
func TestMetricNames(t *testing.T) {
	pairs := [][2]string{
		{metricPacketsIn, node.MetricPacketsIn}, {metricPacketsOut, node.MetricPacketsOut}, {metricBytesIn, node.MetricBytesIn},
		{metricBytesOut, node.MetricBytesOut}, {metricRetransmitted, node.MetricRetransmitted}, {metricParticipants, node.MetricParticipants},
		{metricTracks, node.MetricTracks}, {metricCPUSeconds, node.MetricCPUSeconds},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("load tester reads %q, node serves %q", p[0], p[1])
		}
	}
}

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(sampleMetrics))
	}))
	defer srv.Close()
	c, err := newScraper(srv.URL + "/metrics").scrape(context.Background())
	if err != nil || c.PacketsOut != 12345 || c.At.IsZero() {
		t.Fatalf("%+v, %v", c, err)
	}
	if _, err := newScraper(srv.URL + "/nope").scrape(context.Background()); err == nil {
		t.Error("no error for a 404")
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte(sampleMetrics))
	f.Add([]byte("process_cpu_seconds_total NaN\nhuddle_media_packets_out_total +Inf\n"))
	f.Add([]byte("# TYPE x histogram\nx_bucket{le=\"1\"} 1\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseMetrics(strings.NewReader(string(raw)))
		if err != nil {
			return
		}
		for _, v := range []float64{c.CPUSeconds, c.PacketsOut, c.PacketsIn, c.BytesIn, c.BytesOut, c.Retransmitted} {
			if v != v { // NaN must never come out
				t.Fatalf("NaN in %+v", c)
			}
		}
	})
}

func TestSumCounters(t *testing.T) {
	t0 := time.Unix(100, 0)
	a := ServerCounters{At: t0, CPUSeconds: 1, PacketsOut: 10, PacketsIn: 2, BytesOut: 100, Retransmitted: 1, Participants: 3, HaveCPU: true, HaveMediaStats: true}
	b := ServerCounters{At: t0.Add(time.Second), CPUSeconds: 2, PacketsOut: 30, PacketsIn: 1, BytesOut: 300, Participants: 1, HaveCPU: true, HaveMediaStats: true}
	tests := []struct {
		name  string
		nodes []ServerCounters
		want  ServerCounters
	}{
		{"none", nil, ServerCounters{}},
		{"one", []ServerCounters{a}, a},
		{"two add up, read when the later was", []ServerCounters{a, b}, ServerCounters{At: b.At, CPUSeconds: 3, PacketsOut: 40, PacketsIn: 3,
			BytesOut: 400, Retransmitted: 1, Participants: 4, HaveCPU: true, HaveMediaStats: true}},
		{"a node without CPU leaves the sum without it", []ServerCounters{a, {At: t0, HaveMediaStats: true}}, ServerCounters{At: t0, CPUSeconds: 1,
			PacketsOut: 10, PacketsIn: 2, BytesOut: 100, Retransmitted: 1, Participants: 3, HaveMediaStats: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sumCounters(tt.nodes); got != tt.want {
				t.Errorf("sumCounters = %+v, want %+v", got, tt.want)
			}
		})
	}
}
