package node_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/cluster/redistest"
)

// seriesRE finds the metric names in a PromQL expression (the node's and the process collector's).
var seriesRE = regexp.MustCompile(`\b(?:huddle|process)_[a-z0-9_]+`)

// TestDashboardReadsExportedSeries: every series the Grafana dashboard (configs/grafana-dashboard.json)
// queries is one a cluster node exports after a short call, so no panel stays empty for a typo or a
// metric that does not exist.
func TestDashboardReadsExportedSeries(t *testing.T) {
	raw, err := os.ReadFile("../../../configs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("the dashboard has no panels")
	}

	srv := redistest.Start(t)
	n := startClusterNode(t, srv, "dash-a")
	pub := join(t, n, "dash", "pub", true)
	sub := join(t, n, "dash", "sub", true)
	ids := pub.publish()
	eventually(t, 10*time.Second, "media at the subscriber", func() bool { return sub.packets(ids[1]) > 20 })
	if err := sub.c.Spotlight(context.Background(), "Pnobody"); err == nil {
		t.Fatal("spotlight on nobody was accepted") // an error, so the errors-by-code series exists
	}
	exported := map[string]bool{}
	for name, f := range scrapeFamilies(t, n) {
		exported[name] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				exported[name+suffix] = true
			}
		}
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, target := range p.Targets {
			names := seriesRE.FindAllString(target.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: %q reads no huddle series", p.Title, target.Expr)
			}
			for _, name := range names {
				if !exported[name] {
					t.Errorf("panel %q reads %s, which the node does not export (exported: %s)", p.Title, name,
						strings.Join(slices.Sorted(func(yield func(string) bool) {
							for k := range exported {
								if strings.HasPrefix(k, "huddle_") && !yield(k) {
									return
								}
							}
						}), ", "))
				}
			}
		}
	}
}
