package node_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/huddlehq/huddle/cmd/server/node"
)

// scrape returns the value of one metric without labels from /metrics.
func scrape(t *testing.T, n *node.Node, name string) float64 {
	t.Helper()
	resp, err := http.Get(n.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not served", name)
	return 0
}

// TestMetrics: /metrics counts what the node forwards, and serves the process's CPU time.
func TestMetrics(t *testing.T) {
	n := startNode(t)
	pub := join(t, n, "m", "pub", true)
	sub := join(t, n, "m", "sub", true)
	ids := pub.publish()
	eventually(t, 10*time.Second, "media at the subscriber", func() bool { return sub.packets(ids[1]) > 20 })
	if got := scrape(t, n, node.MetricParticipants); got != 2 {
		t.Errorf("%s = %v, want 2", node.MetricParticipants, got)
	}
	if got := scrape(t, n, node.MetricTracks); got != 2 {
		t.Errorf("%s = %v, want 2", node.MetricTracks, got)
	}
	out := scrape(t, n, node.MetricPacketsOut)
	st := n.SFU().Stats()
	if out <= 20 || out > float64(st.PacketsOut) {
		t.Errorf("%s = %v; the SFU counted %d afterwards", node.MetricPacketsOut, out, st.PacketsOut)
	}
	if cpu := scrape(t, n, node.MetricCPUSeconds); cpu <= 0 {
		t.Errorf("%s = %v", node.MetricCPUSeconds, cpu)
	}
}

// TestPprofOptIn: the profiler is served only when asked for.
func TestPprofOptIn(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := node.DefaultConfig()
		cfg.UseFreePorts()
		cfg.Debug.Pprof = on
		n, err := node.New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(n.URL() + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		served := resp.StatusCode == http.StatusOK && strings.Contains(string(body), "goroutine profile")
		if served != on {
			t.Errorf("pprof %v: /debug/pprof/goroutine status %d (served %v)", on, resp.StatusCode, served)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = n.Close(ctx)
		cancel()
	}
}

// scrapeFamilies reads /metrics as Prometheus text: it must parse.
func scrapeFamilies(t *testing.T, n *node.Node) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(n.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return families
}

// TestOpsMetrics: after a short call with a refused request, /metrics parses as Prometheus text, the
// join histogram counted both joins, the refused request's code is counted, the keyframe requests
// moved, the media event counters are served and the build is described.
func TestOpsMetrics(t *testing.T) {
	n := startNode(t)
	pub := join(t, n, "ops", "pub", true)
	sub := join(t, n, "ops", "sub", true)
	ids := pub.publish()
	eventually(t, 10*time.Second, "media at the subscriber", func() bool { return sub.packets(ids[1]) > 20 })
	// A request the server refuses (nobody has that id): its error code is counted.
	if err := sub.c.Spotlight(context.Background(), "Pnobody"); err == nil {
		t.Fatal("spotlight on nobody was accepted")
	}

	f := scrapeFamilies(t, n)
	if h := f[node.MetricJoinSeconds].GetMetric(); len(h) != 1 || h[0].GetHistogram().GetSampleCount() != 2 {
		t.Errorf("%s: %v, want 2 joins observed", node.MetricJoinSeconds, h)
	}
	var errs float64
	for _, m := range f[node.MetricSignalingErrors].GetMetric() {
		errs += m.GetCounter().GetValue()
		if code := m.GetLabel()[0].GetValue(); code == "" {
			t.Errorf("%s with an empty code", node.MetricSignalingErrors)
		}
	}
	if errs < 1 {
		t.Errorf("%s counted no error after a refused request", node.MetricSignalingErrors)
	}
	if v := f[node.MetricKeyframeRequests].GetMetric(); len(v) != 1 || v[0].GetCounter().GetValue() < 1 {
		t.Errorf("%s = %v, want at least the subscriber's first keyframe request", node.MetricKeyframeRequests, v)
	}
	info := f[node.MetricBuildInfo].GetMetric()
	if len(info) != 1 || info[0].GetGauge().GetValue() != 1 || len(info[0].GetLabel()) != 2 {
		t.Errorf("%s = %v, want one series with version and goversion", node.MetricBuildInfo, info)
	}
	if h := f[node.MetricDownlinkEstimate].GetMetric(); len(h) != 1 || h[0].GetHistogram().GetSampleCount() != 2 || h[0].GetHistogram().GetSampleSum() <= 0 {
		t.Errorf("%s = %v, want both participants' downlink estimates", node.MetricDownlinkEstimate, h)
	}
	// Round trips come from receiver reports answering our sender reports (each a second or so apart):
	// within a few of those the participant receiving media is measured (the other receives nothing).
	eventually(t, 15*time.Second, "the receiving participant's round trip measured", func() bool {
		h := scrapeFamilies(t, n)[node.MetricDownlinkRTT].GetMetric()
		return len(h) == 1 && h[0].GetHistogram().GetSampleCount() == 1 && h[0].GetHistogram().GetSampleSum() > 0
	})
	for _, name := range []string{node.MetricNACKed, node.MetricLayerSwitches, node.MetricPauses, node.MetricDownlinkLoss, node.MetricDownlinkRTT} {
		if _, ok := f[name]; !ok {
			t.Errorf("%s not served", name)
		}
	}
}
