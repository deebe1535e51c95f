package loadtest

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The server's metric names (cmd/server/node's Metric* constants; a test keeps the two in step). They
// are repeated here so that the load tester does not link the server.
const (
	metricPacketsIn     = "huddle_media_packets_in_total"
	metricPacketsOut    = "huddle_media_packets_out_total"
	metricBytesIn       = "huddle_media_bytes_in_total"
	metricBytesOut      = "huddle_media_bytes_out_total"
	metricRetransmitted = "huddle_media_retransmitted_packets_total"
	metricParticipants  = "huddle_participants"
	metricTracks        = "huddle_tracks"
	metricCPUSeconds    = "process_cpu_seconds_total"
)

// maxMetricsBytes bounds a scrape: the node's /metrics is a few kilobytes.
const maxMetricsBytes = 4 << 20

// ServerCounters is one reading of the server's /metrics.
type ServerCounters struct {
	At                      time.Time
	CPUSeconds              float64
	PacketsIn, PacketsOut   float64
	BytesIn, BytesOut       float64
	Retransmitted           float64
	Participants, Tracks    float64
	HaveCPU, HaveMediaStats bool
}

// sub returns the counters' growth from before to c.
func (c ServerCounters) sub(before ServerCounters) ServerCounters {
	return ServerCounters{At: c.At, CPUSeconds: c.CPUSeconds - before.CPUSeconds,
		PacketsIn: c.PacketsIn - before.PacketsIn, PacketsOut: c.PacketsOut - before.PacketsOut,
		BytesIn: c.BytesIn - before.BytesIn, BytesOut: c.BytesOut - before.BytesOut,
		Retransmitted: c.Retransmitted - before.Retransmitted,
		Participants:  c.Participants, Tracks: c.Tracks,
		HaveCPU: c.HaveCPU && before.HaveCPU, HaveMediaStats: c.HaveMediaStats && before.HaveMediaStats}
}

// sumCounters adds the nodes' counters up: a cluster's cost. It has a figure only if every node has it,
// and is read when the last node was.
func sumCounters(nodes []ServerCounters) ServerCounters {
	sum := ServerCounters{HaveCPU: len(nodes) > 0, HaveMediaStats: len(nodes) > 0}
	for _, n := range nodes {
		if n.At.After(sum.At) {
			sum.At = n.At
		}
		sum.CPUSeconds += n.CPUSeconds
		sum.PacketsIn += n.PacketsIn
		sum.PacketsOut += n.PacketsOut
		sum.BytesIn += n.BytesIn
		sum.BytesOut += n.BytesOut
		sum.Retransmitted += n.Retransmitted
		sum.Participants += n.Participants
		sum.Tracks += n.Tracks
		sum.HaveCPU = sum.HaveCPU && n.HaveCPU
		sum.HaveMediaStats = sum.HaveMediaStats && n.HaveMediaStats
	}
	return sum
}

// ParseMetrics reads the counters the load tester needs from the Prometheus text format. Metrics it
// does not know are ignored; a missing one is left zero and its Have flag false.
func ParseMetrics(r io.Reader) (ServerCounters, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return ServerCounters{}, fmt.Errorf("parse metrics: %w", err)
	}
	var c ServerCounters
	value := func(name string) (float64, bool) {
		mf := families[name]
		if mf == nil || len(mf.GetMetric()) == 0 {
			return 0, false
		}
		v := metricValue(mf.GetMetric()[0])
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false
		}
		return v, true
	}
	c.CPUSeconds, c.HaveCPU = value(metricCPUSeconds)
	var ok [5]bool
	c.PacketsIn, ok[0] = value(metricPacketsIn)
	c.PacketsOut, ok[1] = value(metricPacketsOut)
	c.BytesIn, ok[2] = value(metricBytesIn)
	c.BytesOut, ok[3] = value(metricBytesOut)
	c.Retransmitted, ok[4] = value(metricRetransmitted)
	c.HaveMediaStats = ok == [5]bool{true, true, true, true, true}
	c.Participants, _ = value(metricParticipants)
	c.Tracks, _ = value(metricTracks)
	return c, nil
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return math.NaN()
}

// scraper reads one server's /metrics. Safe for concurrent use (http.Client is).
type scraper struct {
	url    string
	client *http.Client
}

func newScraper(url string) *scraper {
	return &scraper{url: url, client: &http.Client{Timeout: scrapeTimeout}}
}

func (s *scraper) scrape(ctx context.Context) (ServerCounters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return ServerCounters{}, fmt.Errorf("metrics %s: %w", s.url, err)
	}
	// Ask for the text format: without an Accept header promhttp serves it, but say so.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.client.Do(req)
	if err != nil {
		return ServerCounters{}, fmt.Errorf("metrics %s: %w", s.url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return ServerCounters{}, fmt.Errorf("metrics %s: %s", s.url, resp.Status)
	}
	c, err := ParseMetrics(io.LimitReader(resp.Body, maxMetricsBytes))
	if err != nil {
		return ServerCounters{}, fmt.Errorf("metrics %s: %w", s.url, err)
	}
	c.At = time.Now()
	return c, nil
}
