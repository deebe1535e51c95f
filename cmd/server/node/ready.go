package node

import (
	"encoding/json"
	"net/http"
)

// Readiness (GET /readyz) is what a load balancer asks before sending the node new rooms: not
// draining, the media port bound, and in cluster mode Redis reachable (the last heartbeat landed).
// GET /healthz stays "the process is alive". Both are read-only and safe for concurrent use.

// readiness returns why the node should not take new rooms now; none when it may.
func (n *Node) readiness() []string {
	var why []string
	if n.draining.Load() {
		why = append(why, "draining")
	}
	if n.sfu.UDPAddr() == nil {
		why = append(why, "media port not bound")
	}
	if n.cluster != nil && !n.cluster.registry.Healthy() {
		why = append(why, "redis unreachable")
	}
	return why
}

func (n *Node) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	why := n.readiness()
	if len(why) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "unready", "reasons": why})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "ready"})
}
