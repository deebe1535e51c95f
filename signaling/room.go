package signaling

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
	"github.com/huddlehq/huddle/signaling/webhook"
)

// room is the control plane's view of a room: who is in it under which name and role, who waits in its
// lobby, its policy, its bans, the grants an admin or a moderator set for identities in it, and the shared
// state every member sees (roomstate.go).
type room struct {
	name string
	srv  *Server

	mu        sync.Mutex
	members   map[string]*Session // by participant id
	gone      bool                // dropped from the server's map; a joiner must look the room up again
	policy    auth.Policy
	hasPolicy bool // set by the config, an admin, or the first token that carried a policy (policy.go)
	// lockSet: a moderator locked or unlocked the room (room_settings) before it had a policy; a token
	// policy adopted later keeps that lock.
	lockSet bool
	// managed rooms (configured, created by an admin, or holding bans or grant changes) are kept when
	// empty, so that what an admin decided outlives the people in the room; CloseRoom forgets them.
	managed   bool
	bans      map[string]bool        // identities refused
	grants    map[string]auth.Grants // by identity: an admin's or a moderator's grants, replacing the token's
	startedAt time.Time              // when the first current member joined; zero while empty

	// Lobby (lobby.go). Waiters are not members: no media, no participant list, no room events.
	lobby    map[string]*waiter // by participant id; nil until someone waits
	admitted map[string]bool    // identities that got in: they skip the lobby until the room is idle

	// Shared state (roomstate.go), reset when the room is idle.
	chatOff   bool     // only moderators may chat
	spotlight string   // participant id, or ""
	hands     []string // participant ids, oldest first

	// The call's recording (recordroom.go).
	rec roomRecording

	// Broadcasts spaced by Limits.StateInterval (roomstate.go).
	stateSend, lobbySend coalescer

	// Persistence in cluster mode (roompersist.go): the version and bytes last handed to RoomStates,
	// and what a restored snapshot still has to give back to rejoining identities.
	stateVersion uint64
	savedState   []byte
	restored     restoredRoles
}

// roomView is what a newcomer learns of the room in `joined`, taken under room.mu.
type roomView struct {
	others []protocol.Participant // the visible members
	policy auth.Policy
	state  protocol.RoomState
}

// errRoomGone tells a joiner that raced with the room's last leaver to look the room up again.
var errRoomGone = errors.New("room was closed meanwhile")

// admit runs join under the room's lock: it checks the room's bans and lock for the newcomer and settles
// its grants. When the room has a lobby the newcomer must wait in, it becomes a waiter instead (waiting
// is true, join is not called; see lobby.go). Otherwise join must register the newcomer with the media
// plane, and on success the newcomer becomes a member and everyone else hears of it (unless it is
// hidden), in the same order as every other change of this room. joinID is the id of the client's join,
// which the `joined` of a waiter admitted later carries. A room without a policy takes the newcomer's
// token's, once the newcomer waits or is in (policy.go). The error is errRoomGone, a *protocol.Error
// refusing the join, or join's.
func (r *room) admit(newcomer *Session, a auth.Admit, joinID string, join func(roomView) error) (waiting bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.persistLocked() // an adopted policy, an admission (runs before the unlock)
	if r.gone {
		return false, errRoomGone
	}
	policy, adopt := r.joinPolicyLocked(a)
	grants := r.grantsLocked(a, policy)
	if r.bans[a.Identity] {
		return false, protocol.Errorf(protocol.CodeBanned, "%q is banned from room %q", a.Identity, r.name)
	}
	// A lock keeps new people out, not those already in the call: a reconnect (a dropped network, a
	// re-homed room) of an admitted identity gets back in.
	if policy.Locked && !grants.Moderate && !r.admitted[a.Identity] {
		return false, protocol.Errorf(protocol.CodeRoomLocked, "room %q is locked", r.name)
	}
	newcomer.setGrants(grants)
	if policy.LobbyOn() && !grants.Moderate && !r.admitted[a.Identity] {
		if adopt {
			// Before the wait, so that the members see the room's new mode before its first waiter.
			// waitLocked cannot then refuse: a room without a policy has nobody in its lobby.
			r.adoptPolicyLocked(policy, newcomer)
		}
		if err := r.waitLocked(newcomer, a, joinID); err != nil {
			return false, err
		}
		return true, nil
	}
	if err := r.enterLocked(newcomer, policy, join); err != nil {
		return false, err // the cap or the media plane refused: the token's policy is not the room's
	}
	if adopt {
		r.adoptPolicyLocked(policy, newcomer)
	}
	return false, nil
}

// grantsLocked returns what a joiner may do: what an admin or a moderator set for its identity, else its
// token's grants or its role's defaults in the room's mode.
func (r *room) grantsLocked(a auth.Admit, policy auth.Policy) auth.Grants {
	if g, ok := r.grants[a.Identity]; ok {
		return auth.Effective(a.Role, &g, policy.Mode)
	}
	return auth.Effective(a.Role, a.Grants, policy.Mode)
}

// enterLocked makes newcomer (whose grants are set) a member: it checks the cap, runs join with what
// the newcomer learns of the room, and tells the others and the webhooks. r.mu must be held.
func (r *room) enterLocked(newcomer *Session, policy auth.Policy, join func(roomView) error) error {
	if policy.MaxParticipants > 0 && !newcomer.hidden && r.visibleCountLocked() >= policy.MaxParticipants {
		return protocol.Errorf(protocol.CodeRoomFull, "room %q is full (%d participants)", r.name, policy.MaxParticipants)
	}
	view := roomView{others: make([]protocol.Participant, 0, len(r.members)), policy: policy, state: r.stateLocked(policy)}
	for _, m := range r.members {
		if !m.hidden {
			view.others = append(view.others, m.participant())
		}
	}
	if err := join(view); err != nil {
		return err
	}
	if len(r.members) == 0 {
		r.startedAt = time.Now()
		r.srv.notify(webhook.Event{Event: webhook.RoomStarted, Room: webhook.Room{Name: r.name}})
	}
	r.members[newcomer.participantID] = newcomer
	if r.admitted == nil {
		r.admitted = make(map[string]bool)
	}
	r.admitted[newcomer.identity] = true
	if len(r.restored.hands) > 0 || r.restored.spotlight != "" {
		if r.reclaimLocked(newcomer) {
			defer r.broadcastStateLocked() // after the newcomer is announced: it is a member by then
		}
	}
	if !newcomer.hidden {
		msg := encodeOrLog(r.srv.log, protocol.TypeParticipantJoined, "", protocol.ParticipantJoined{Participant: newcomer.participant()})
		for id, m := range r.members {
			if id != newcomer.participantID {
				m.enqueue(msg)
			}
		}
	}
	r.srv.notify(webhook.Event{Event: webhook.ParticipantJoined, Room: webhook.Room{Name: r.name}, Participant: newcomer.hookParticipant()})
	if r.recordNewcomerLocked(newcomer) {
		defer r.broadcastStateLocked() // the newcomer is asked for consent, after its `joined`
	}
	if len(r.lobby) > 0 && newcomer.grants().Moderate {
		// After its `joined` (sent by join): a moderator learns at once who waits.
		newcomer.enqueue(r.lobbyUpdateLocked())
	}
	r.persistLocked() // the admission (also of a waiter a moderator let in)
	return nil
}

func (r *room) visibleCountLocked() int {
	n := 0
	for _, m := range r.members {
		if !m.hidden {
			n++
		}
	}
	return n
}

// remove takes a member out and tells the others.
func (r *room) remove(s *Session) {
	r.mu.Lock()
	if r.members[s.participantID] != s {
		r.mu.Unlock()
		return
	}
	delete(r.members, s.participantID)
	if !s.hidden {
		msg := encodeOrLog(r.srv.log, protocol.TypeParticipantLeft, "", protocol.ParticipantLeft{ParticipantID: s.participantID})
		for _, m := range r.members {
			m.enqueue(msg)
		}
	}
	r.srv.notify(webhook.Event{Event: webhook.ParticipantLeft, Room: webhook.Room{Name: r.name}, Participant: s.hookParticipant()})
	if len(r.members) == 0 {
		r.startedAt = time.Time{}
		r.srv.notify(webhook.Event{Event: webhook.RoomFinished, Room: webhook.Room{Name: r.name}})
	}
	if forgot, asked := r.forgetLocked(s.participantID), r.recordLeaverLocked(s.participantID); forgot || asked {
		r.broadcastStateLocked()
	}
	r.resetIfIdleLocked()
	r.mu.Unlock()
	r.srv.dropRoomIfEmpty(r)
}

// dropIfEmpty marks a room gone that is unmanaged and empty (no members, nobody waiting); Server.mu must
// be held.
func (r *room) dropIfEmpty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.members) == 0 && len(r.lobby) == 0 && !r.managed {
		r.gone = true
	}
	return r.gone
}

// membersLocked returns the members in a stable order (by join time); r.mu must be held.
func (r *room) membersLocked() []*Session {
	out := make([]*Session, 0, len(r.members))
	for _, m := range r.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].joinedAt.Before(out[j].joinedAt) })
	return out
}

// sessionsOf returns the members with identity.
func (r *room) sessionsOf(identity string) []*Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Session
	for _, m := range r.membersLocked() {
		if m.identity == identity {
			out = append(out, m)
		}
	}
	return out
}

// member returns the member with a participant id, or nil.
func (r *room) member(participantID string) *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.members[participantID]
}

// info describes the room for the admin API.
func (r *room) info() admin.RoomInfo {
	r.mu.Lock()
	members := r.membersLocked()
	info := admin.RoomInfo{Name: r.name, Policy: r.policy, Managed: r.managed, Participants: len(members), Waiting: len(r.lobby)}
	if !r.startedAt.IsZero() {
		t := r.startedAt.UTC()
		info.StartedAt = &t
	}
	for id := range r.bans {
		info.Bans = append(info.Bans, id)
	}
	r.mu.Unlock()
	sort.Strings(info.Bans)
	for _, m := range members { // outside r.mu: each reads its own session state
		info.Tracks += len(m.ownTracks())
	}
	return info
}
