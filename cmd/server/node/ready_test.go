package node_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/signaling/cluster/redistest"
)

// readyState is what GET /readyz answers: the status code and the reasons for being unready.
func readyState(t *testing.T, n *node.Node) (int, []string) {
	t.Helper()
	resp, err := http.Get(n.URL() + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status  string   `json:"status"`
		Reasons []string `json:"reasons"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("/readyz body: %v", err)
	}
	if (resp.StatusCode == http.StatusOK) != (body.Status == "ready") {
		t.Fatalf("/readyz: status %d with %q", resp.StatusCode, body.Status)
	}
	return resp.StatusCode, body.Reasons
}

// TestReadyz: a cluster node is ready while Redis answers, unready (503, "redis unreachable") while it
// is down and ready again when it returns, and unready ("draining") from the moment it drains, while
// /healthz still says the process is alive.
func TestReadyz(t *testing.T) {
	srv := redistest.Start(t)
	n := startClusterNode(t, srv, "ready-a")
	eventually(t, 10*time.Second, "ready with Redis up", func() bool { code, _ := readyState(t, n); return code == http.StatusOK })

	srv.Stop()
	eventually(t, 15*time.Second, "unready while Redis is down", func() bool {
		code, why := readyState(t, n)
		return code == http.StatusServiceUnavailable && slices.Contains(why, "redis unreachable")
	})
	if resp, err := http.Get(n.URL() + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz while Redis is down: %v %v, want 200: the process is alive", resp, err)
	} else {
		resp.Body.Close()
	}
	srv.Restart()
	eventually(t, 15*time.Second, "ready again once Redis returns", func() bool { code, _ := readyState(t, n); return code == http.StatusOK })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if code, why := readyState(t, n); code != http.StatusServiceUnavailable || !slices.Contains(why, "draining") {
		t.Errorf("/readyz after Drain: %d %v, want 503 draining", code, why)
	}
}

// TestReadyzSingleNode: without a cluster, ready once started; draining makes it unready.
func TestReadyzSingleNode(t *testing.T) {
	n := startNode(t)
	if code, why := readyState(t, n); code != http.StatusOK {
		t.Fatalf("/readyz of a fresh node: %d %v", code, why)
	}
	if err := n.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, why := readyState(t, n); code != http.StatusServiceUnavailable || !slices.Equal(why, []string{"draining"}) {
		t.Errorf("/readyz after Drain: %d %v, want 503 [draining]", code, why)
	}
}
