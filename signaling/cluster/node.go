package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Errors the package returns, wrapped with context; test them with errors.Is.
var (
	ErrInvalidName    = errors.New("invalid name")
	ErrTooLarge       = errors.New("too large")
	ErrInvalidConfig  = errors.New("invalid configuration")
	ErrLeft           = errors.New("node has left the cluster")
	ErrNoNode         = errors.New("no live node can take the room")
	ErrNotOwner       = errors.New("room is not owned by this node")
	ErrBadData        = errors.New("malformed data in redis")
	ErrRelayClosed    = errors.New("relay closed")
	ErrPeerGone       = errors.New("relay peer node is gone")
	ErrSessionLost    = errors.New("relay session lost in redis")
	ErrRelayGap       = errors.New("relay lost messages")
	ErrRelayBroken    = errors.New("relay send failed with an unknown outcome")
	ErrConcurrentSend = errors.New("concurrent Send on one RelayConn")
	ErrSessionExists  = errors.New("relay session id already in use")
	ErrAcceptOverflow = errors.New("too many relay sessions waiting for Accept")
)

// Load is what a node reports about its own load; placement prefers the least loaded.
type Load struct {
	Rooms        int     `json:"rooms"`
	Participants int     `json:"participants"`
	Tracks       int     `json:"tracks"`
	CPU          float64 `json:"cpu"` // share of the node's CPU in use, 0..1
}

// NodeInfo describes a live node as it registered itself.
type NodeInfo struct {
	ID        string `json:"id"`
	Region    string `json:"region,omitempty"`
	SignalURL string `json:"signalUrl,omitempty"` // where clients reach its signalling (ws://…/ws)
	MediaAddr string `json:"mediaAddr,omitempty"` // its media host:port
	Load      Load   `json:"load"`
	Draining  bool   `json:"draining"`
	// Claimed is how many rooms the node owned at its last heartbeat.
	Claimed   int       `json:"claimed"`
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"` // the node's clock at its last heartbeat
}

// maxInfoSize bounds a NodeInfo or Participant as stored, so a corrupt value cannot make us allocate
// without bound.
const maxInfoSize = 64 << 10

func decodeNodeInfo(b []byte) (NodeInfo, error) {
	var n NodeInfo
	if len(b) > maxInfoSize {
		return n, fmt.Errorf("cluster: node info of %d bytes: %w", len(b), ErrBadData)
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return n, fmt.Errorf("cluster: node info: %w: %w", ErrBadData, err)
	}
	if err := checkName("node id", n.ID); err != nil {
		return n, fmt.Errorf("cluster: node info: %w: %w", ErrBadData, err)
	}
	if math.IsNaN(n.Load.CPU) || math.IsInf(n.Load.CPU, 0) {
		n.Load.CPU = 1
	}
	return n, nil
}

// cpuBucket rounds the CPU share to 10 % steps so measurement noise does not decide placement.
func cpuBucket(cpu float64) int {
	switch {
	case cpu <= 0 || math.IsNaN(cpu):
		return 0
	case cpu >= 1:
		return 10
	}
	return int(cpu * 10)
}

// lessLoaded orders nodes for placement: CPU share (in 10 % steps), then participants, then rooms
// (the larger of the reported rooms and the rooms claimed), then tracks, then id.
func lessLoaded(a, b NodeInfo) bool {
	if ca, cb := cpuBucket(a.Load.CPU), cpuBucket(b.Load.CPU); ca != cb {
		return ca < cb
	}
	if a.Load.Participants != b.Load.Participants {
		return a.Load.Participants < b.Load.Participants
	}
	if ra, rb := max(a.Load.Rooms, a.Claimed), max(b.Load.Rooms, b.Claimed); ra != rb {
		return ra < rb
	}
	if a.Load.Tracks != b.Load.Tracks {
		return a.Load.Tracks < b.Load.Tracks
	}
	return a.ID < b.ID
}

// pickNode returns the least-loaded non-draining node, from region if any node there qualifies.
func pickNode(nodes []NodeInfo, region string) (NodeInfo, bool) {
	var best NodeInfo
	found, inRegion := false, false
	for _, n := range nodes {
		if n.Draining {
			continue
		}
		here := region != "" && n.Region == region
		switch {
		case !found, here && !inRegion, here == inRegion && lessLoaded(n, best):
			best, found, inRegion = n, true, here
		}
	}
	return best, found
}

// Participant is one entry of a room's participant list, kept by the room's owner.
type Participant struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Identity string    `json:"identity,omitempty"`
	Node     string    `json:"node,omitempty"` // the edge node holding the participant's WebSocket
	JoinedAt time.Time `json:"joinedAt"`
	// Meta carries whatever else the signalling server wants an admin API to show.
	Meta json.RawMessage `json:"meta,omitempty"`
}

func decodeParticipant(b []byte) (Participant, error) {
	var p Participant
	if len(b) > maxInfoSize {
		return p, fmt.Errorf("cluster: participant of %d bytes: %w", len(b), ErrBadData)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("cluster: participant: %w: %w", ErrBadData, err)
	}
	if err := checkName("participant id", p.ID); err != nil {
		return p, fmt.Errorf("cluster: participant: %w: %w", ErrBadData, err)
	}
	return p, nil
}

func sortParticipants(ps []Participant) {
	sort.Slice(ps, func(i, j int) bool {
		if !ps[i].JoinedAt.Equal(ps[j].JoinedAt) {
			return ps[i].JoinedAt.Before(ps[j].JoinedAt)
		}
		return ps[i].ID < ps[j].ID
	})
}

// RoomInfo is one room in the cluster-wide listing.
type RoomInfo struct {
	Name         string   `json:"name"`
	Owner        NodeInfo `json:"owner"`
	Participants int      `json:"participants"`
}
