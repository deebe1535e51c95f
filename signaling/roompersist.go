package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/huddlehq/huddle/signaling/auth"
)

// Room rules that survive their node (cluster mode). The owner writes a room's snapshot to Redis
// (cluster.RoomStates) whenever it changes; the node that claims the room after its owner died restores
// it before admitting anyone, so a banned identity stays out, a locked class stays locked and a granted
// student keeps the microphone. Participant ids do not survive a failover (everyone rejoins with a new
// one), so the hands queue and the spotlight are kept by identity and given back to the new participant
// ids as their identities rejoin.

// roomSnapshot is what is kept of a room.
type roomSnapshot struct {
	Policy    *auth.Policy           `json:"policy,omitempty"` // nil: no policy set yet
	LockSet   bool                   `json:"lockSet,omitempty"`
	Managed   bool                   `json:"managed,omitempty"`
	Bans      []string               `json:"bans,omitempty"`
	Grants    map[string]auth.Grants `json:"grants,omitempty"`
	Admitted  []string               `json:"admitted,omitempty"`
	ChatOff   bool                   `json:"chatOff,omitempty"`
	Spotlight string                 `json:"spotlight,omitempty"` // identity
	Hands     []string               `json:"hands,omitempty"`     // identities, oldest first
}

// restoredRoles is what a restored snapshot still waits to give back to rejoining identities.
type restoredRoles struct {
	hands     []string       // identities whose hands were raised, oldest first; "" once back
	spotlight string         // identity, not yet back
	rank      map[string]int // participant id -> its identity's place in hands, for those back
}

// snapshotLocked captures the room's rules; r.mu must be held.
func (r *room) snapshotLocked() roomSnapshot {
	snap := roomSnapshot{LockSet: r.lockSet, Managed: r.managed, ChatOff: r.chatOff}
	if r.hasPolicy {
		p := r.policy
		snap.Policy = &p
	}
	for id, banned := range r.bans {
		if banned {
			snap.Bans = append(snap.Bans, id)
		}
	}
	slices.Sort(snap.Bans)
	if len(r.grants) > 0 {
		snap.Grants = make(map[string]auth.Grants, len(r.grants))
		for id, g := range r.grants {
			snap.Grants[id] = g
		}
	}
	for id, ok := range r.admitted {
		if ok {
			snap.Admitted = append(snap.Admitted, id)
		}
	}
	slices.Sort(snap.Admitted)
	identityOf := func(pid string) string {
		if m := r.members[pid]; m != nil {
			return m.identity
		}
		return ""
	}
	for _, pid := range r.hands {
		if id := identityOf(pid); id != "" {
			snap.Hands = append(snap.Hands, id)
		}
	}
	for _, id := range r.restored.hands {
		if id != "" {
			snap.Hands = append(snap.Hands, id)
		}
	}
	snap.Spotlight = identityOf(r.spotlight)
	if snap.Spotlight == "" {
		snap.Spotlight = r.restored.spotlight
	}
	return snap
}

// persistLocked writes the room's rules when they changed since the last write (cluster mode only).
// It never blocks: RoomStates queues the write. r.mu must be held, which orders the versions.
func (r *room) persistLocked() {
	states := r.srv.roomStates()
	if states == nil {
		return
	}
	data, err := json.Marshal(r.snapshotLocked())
	if err != nil {
		r.srv.log.Error("room state not encoded", "room", r.name, "err", err)
		return
	}
	if bytes.Equal(data, r.savedState) {
		return
	}
	r.stateVersion++
	r.savedState = data
	if err := states.Save(r.name, r.stateVersion, data); err != nil {
		r.srv.log.Warn("room state not saved", "room", r.name, "err", err)
	}
}

// droppedVersion is the version of the room's last write, read when the room is dropped.
func (r *room) droppedVersion() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stateVersion
}

// forgetPersisted deletes the room's rules from Redis: the room ended and nothing of it is kept.
func (r *room) forgetPersisted(version uint64) {
	if states := r.srv.roomStates(); states != nil {
		if err := states.Delete(r.name, version); err != nil {
			r.srv.log.Warn("room state not deleted", "room", r.name, "err", err)
		}
	}
}

func (s *Server) roomStates() interface {
	Save(room string, version uint64, data []byte) error
	Delete(room string, version uint64) error
} {
	if s.cfg.Cluster == nil || s.cfg.Cluster.States == nil {
		return nil
	}
	return s.cfg.Cluster.States
}

// restoreRoom loads a room's rules from Redis into the room when this node has just claimed it and
// nobody is in it yet. No lock is held across the read.
func (s *Server) restoreRoom(ctx context.Context, name string) error {
	if s.cfg.Cluster == nil || s.cfg.Cluster.States == nil {
		return nil
	}
	version, data, found, err := s.cfg.Cluster.States.Load(ctx, name)
	if err != nil || !found {
		return err
	}
	var snap roomSnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("room %s: saved state v%d: %w", name, version, err)
	}
	r := s.room(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.members) > 0 || len(r.lobby) > 0 || r.stateVersion >= version {
		return nil // already live here, or already as new
	}
	r.applyLocked(snap)
	r.stateVersion, r.savedState = version, data
	s.log.Info("room rules restored", "room", name, "version", version, "bans", len(snap.Bans),
		"grants", len(snap.Grants), "hands", len(snap.Hands), "locked", snap.Policy != nil && snap.Policy.Locked)
	return nil
}

// applyLocked replaces the room's rules with snap's; r.mu must be held and the room empty.
func (r *room) applyLocked(snap roomSnapshot) {
	r.hasPolicy, r.policy = snap.Policy != nil, auth.Policy{}
	if snap.Policy != nil {
		r.policy = *snap.Policy
	}
	r.lockSet, r.managed, r.chatOff = snap.LockSet, snap.Managed, snap.ChatOff
	r.bans = make(map[string]bool, len(snap.Bans))
	for _, id := range snap.Bans {
		r.bans[id] = true
	}
	r.grants = make(map[string]auth.Grants, len(snap.Grants))
	for id, g := range snap.Grants {
		r.grants[id] = g
	}
	r.admitted = make(map[string]bool, len(snap.Admitted))
	for _, id := range snap.Admitted {
		r.admitted[id] = true
	}
	r.hands, r.spotlight = nil, ""
	r.restored = restoredRoles{hands: slices.Clone(snap.Hands), spotlight: snap.Spotlight, rank: make(map[string]int)}
}

// reclaimLocked gives a rejoining identity back its raised hand (in its old place) and the spotlight;
// true when the shared state changed. r.mu must be held; newcomer is already a member.
func (r *room) reclaimLocked(newcomer *Session) bool {
	changed := false
	if i := slices.Index(r.restored.hands, newcomer.identity); i >= 0 {
		// Restored hands were raised before any raised since: they go first, in their old order.
		pos := 0
		for _, pid := range r.hands {
			if rank, ok := r.restored.rank[pid]; ok && rank < i {
				pos++
			}
		}
		r.restored.rank[newcomer.participantID] = i
		r.hands = slices.Insert(r.hands, pos, newcomer.participantID)
		r.restored.hands[i] = "" // keep the ranks of the others
		changed = true
	}
	if r.restored.spotlight != "" && r.restored.spotlight == newcomer.identity {
		r.spotlight, r.restored.spotlight = newcomer.participantID, ""
		changed = true
	}
	if !slices.ContainsFunc(r.restored.hands, func(id string) bool { return id != "" }) {
		r.restored.hands, r.restored.rank = nil, nil
	}
	return changed
}

// unadmit forgets that identity got in (a moderator removed it), and saves that.
func (r *room) unadmit(identity string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.admitted, identity)
	r.persistLocked()
}
