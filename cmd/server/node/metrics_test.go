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
