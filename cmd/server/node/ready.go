package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/huddlehq/huddle/signaling/admin"
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

// nodes lists the deployment's nodes for the admin API's status page: every registered node in cluster
// mode (their load as of their last heartbeat), else this one now.
func (n *Node) nodes(ctx context.Context) ([]admin.NodeStatus, error) {
	if n.cluster == nil {
		st := n.sfu.Stats()
		return []admin.NodeStatus{{ID: n.nodeID(), Rooms: st.Rooms, Participants: st.Participants, Tracks: st.Tracks,
			CPU: n.cpu.Share(), Draining: n.draining.Load(), UpdatedAt: time.Now().UTC()}}, nil
	}
	infos, err := n.cluster.registry.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("nodes: %w", err)
	}
	out := make([]admin.NodeStatus, 0, len(infos))
	for _, i := range infos {
		out = append(out, admin.NodeStatus{ID: i.ID, Region: i.Region, Rooms: i.Load.Rooms, Participants: i.Load.Participants,
			Tracks: i.Load.Tracks, CPU: i.Load.CPU, Draining: i.Draining, UpdatedAt: i.UpdatedAt})
	}
	return out, nil
}
