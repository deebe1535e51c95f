package signaling

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/huddlehq/huddle/signaling/cluster"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// ClusterConfig turns on cluster mode: rooms are placed on nodes through Redis and a session whose room
// lives on another node is relayed there. The registry must be started; the relay must be this node's.
type ClusterConfig struct {
	Registry  *cluster.Registry
	Placement *cluster.Placement
	Relay     *cluster.Relay
	// States keeps each room's rules (bans, lock, grants, lobby admissions, hands, spotlight, chat) in
	// Redis: the owner writes them on every change, and a node that takes a room over restores them
	// before it admits anyone (roompersist.go). nil: rules live in memory only.
	States *cluster.RoomStates
	// Region is this node's region: a join that names none asks for a node here.
	Region string
	// SyncInterval is how often the node publishes its rooms' participant lists and its load (1 s).
	SyncInterval time.Duration
	// Load, when set, is read at every sync for the load figures the control plane does not know
	// (tracks, CPU); rooms and participants are counted here.
	Load func() cluster.Load
}

// claimTable counts, per room, this node's sessions that hold the room's claim: the members of a room
// it owns and the joins under way. When the last hold goes, the claim is released; joins of that room
// wait until the release is done, so that a release never deletes a claim a newer join relies on.
//
// Locking: claimTable.mu guards the map; it is a leaf, never held across Redis I/O.
type claimTable struct {
	mu   sync.Mutex
	held map[string]*claimHold
}

type claimHold struct {
	n         int           // sessions holding
	owned     bool          // a claim returned this node
	releasing chan struct{} // non-nil while the claim is being given up; closed when done
}

// errClusterUnavailable is a join that needs Redis while Redis cannot be reached.
var errClusterUnavailable = errors.New("cluster state unreachable")

// holdRoom takes a hold on room for a join and makes sure of its owner: this node (local true; the
// caller must call unholdRoom once the session leaves or its join fails) or another node (local
// false, no hold kept). A room this node already serves needs no Redis round trip.
func (s *Server) holdRoom(ctx context.Context, room, region string) (owner cluster.NodeInfo, local bool, err error) {
	c, t := s.cfg.Cluster, &s.claims
	for {
		t.mu.Lock()
		h := t.held[room]
		if h != nil && h.releasing != nil {
			wait := h.releasing
			t.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return owner, false, fmt.Errorf("waiting for room %s's claim to be released: %w", room, ctx.Err())
			}
		}
		if h != nil && h.owned && h.n > 0 && c.Placement.Owns(room) {
			h.n++
			t.mu.Unlock()
			return c.Registry.Self(), true, nil
		}
		if h == nil {
			h = &claimHold{}
			t.held[room] = h
		}
		h.n++ // a release cannot start under a claim in flight
		t.mu.Unlock()
		break
	}
	if region == "" {
		region = c.Region
	}
	owner, err = c.Placement.Claim(ctx, room, region)
	if err == nil && owner.ID == c.Registry.ID() {
		// Before anyone is admitted: a room re-homed here keeps the rules it had on its last owner.
		if rerr := s.restoreRoom(ctx, room); rerr != nil {
			s.unholdRoom(room)
			return owner, false, fmt.Errorf("restore room %s: %w: %w", room, errClusterUnavailable, rerr)
		}
		t.mu.Lock()
		t.held[room].owned = true
		t.mu.Unlock()
		return owner, true, nil
	}
	s.unholdRoom(room)
	if err != nil {
		return owner, false, fmt.Errorf("claim room %s: %w: %w", room, errClusterUnavailable, err)
	}
	return owner, false, nil
}

// unholdRoom gives back one hold; the last one releases an owned claim in the background.
func (s *Server) unholdRoom(room string) {
	t := &s.claims
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.held[room]
	if h == nil || h.n == 0 {
		return
	}
	if h.n--; h.n > 0 {
		return
	}
	if !h.owned {
		delete(t.held, room)
		return
	}
	h.releasing = make(chan struct{})
	s.bg.Add(1)
	go s.releaseClaim(room, h.releasing)
}

// releaseClaim gives the room's claim up (its goroutine ends when Redis answers or in 3 s; if Redis
// cannot be reached the claim expires by itself, as the heartbeat no longer refreshes it).
func (s *Server) releaseClaim(room string, done chan struct{}) {
	defer s.bg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err := s.cfg.Cluster.Placement.Release(ctx, room)
	cancel()
	if err != nil && !errors.Is(err, cluster.ErrNotOwner) {
		s.log.Warn("releasing a room's claim failed; it expires by itself", "room", room, "err", err)
	}
	t := &s.claims
	t.mu.Lock()
	if t.held[room] != nil && t.held[room].releasing == done {
		delete(t.held, room)
	}
	t.mu.Unlock()
	close(done)
}

// disown forgets the claims of rooms another node took over (after this node lost Redis for longer
// than the claims' TTL): their members are told to reconnect, which brings them to the new owner.
func (s *Server) disown(rooms []string) {
	for _, name := range rooms {
		s.claims.mu.Lock()
		if h := s.claims.held[name]; h != nil {
			h.owned = false
		}
		s.claims.mu.Unlock()
		r := s.lookup(name)
		if r == nil {
			continue
		}
		r.mu.Lock()
		members := r.membersLocked()
		r.mu.Unlock()
		waiters := r.takeWaiters(func(*waiter) bool { return true })
		s.log.Warn("room taken over by another node while Redis was unreachable; moving its members", "room", name,
			"members", len(members), "waiting", len(waiters))
		for _, m := range members {
			m.moveAway("the room moved to another server; reconnect to continue")
		}
		kickWaiters(waiters, protocol.CodeRoomMoved, "the room moved to another server; reconnect to continue")
	}
}

// clusterError turns a failed placement into what the client is told.
func clusterError(err error) *protocol.Error {
	if errors.Is(err, cluster.ErrNoNode) {
		return protocol.Errorf(protocol.CodeClusterUnavailable, "no server can take this room now (all are draining or gone); try again shortly")
	}
	return protocol.Errorf(protocol.CodeClusterUnavailable, "the cluster's shared state (Redis) cannot be reached, so this room cannot be opened now; try again shortly")
}
