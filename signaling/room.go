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

// room is the control plane's view of a room: who is in it under which name and role, its policy, its
// bans and the grants an admin set for identities in it.
type room struct {
	name string
	srv  *Server

	mu        sync.Mutex
	members   map[string]*Session // by participant id
	gone      bool                // dropped from the server's map; a joiner must look the room up again
	policy    auth.Policy
	hasPolicy bool // set by the config, an admin, or the first token that carried a policy
	// managed rooms (configured, created by an admin, or holding bans or grant changes) are kept when
	// empty, so that what an admin decided outlives the people in the room; CloseRoom forgets them.
	managed   bool
	bans      map[string]bool        // identities refused
	grants    map[string]auth.Grants // by identity: an admin's grants, replacing the token's
	startedAt time.Time              // when the first current member joined; zero while empty
}

// errRoomGone tells a joiner that raced with the room's last leaver to look the room up again.
var errRoomGone = errors.New("room was closed meanwhile")

// admit runs join under the room's lock: it checks the room's bans, lock and cap for the newcomer,
// settles its grants, and then join must register the newcomer with the media plane, given the current
// visible members. On success the newcomer becomes a member and everyone else hears of it (unless it is
// hidden), in the same order as every other change of this room. The error is errRoomGone, a
// *protocol.Error refusing the join, or join's.
func (r *room) admit(newcomer *Session, a auth.Admit, join func(others []protocol.Participant, policy auth.Policy) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return errRoomGone
	}
	policy := r.policy
	if !r.hasPolicy && a.Policy != nil {
		policy = *a.Policy
	}
	var grants auth.Grants
	if g, ok := r.grants[a.Identity]; ok {
		grants = auth.Effective(a.Role, &g, policy.Mode)
	} else {
		grants = auth.Effective(a.Role, a.Grants, policy.Mode)
	}
	if r.bans[a.Identity] {
		return protocol.Errorf(protocol.CodeBanned, "%q is banned from room %q", a.Identity, r.name)
	}
	if policy.Locked && !grants.Moderate {
		return protocol.Errorf(protocol.CodeRoomLocked, "room %q is locked", r.name)
	}
	if policy.MaxParticipants > 0 && !a.Role.Hidden() && r.visibleCountLocked() >= policy.MaxParticipants {
		return protocol.Errorf(protocol.CodeRoomFull, "room %q is full (%d participants)", r.name, policy.MaxParticipants)
	}
	newcomer.setGrants(grants)
	others := make([]protocol.Participant, 0, len(r.members))
	for _, m := range r.members {
		if !m.hidden {
			others = append(others, m.participant())
		}
	}
	if err := join(others, policy); err != nil {
		return err
	}
	if !r.hasPolicy && a.Policy != nil {
		r.policy, r.hasPolicy = policy, true
	}
	if len(r.members) == 0 {
		r.startedAt = time.Now()
		r.srv.notify(webhook.Event{Event: webhook.RoomStarted, Room: webhook.Room{Name: r.name}})
	}
	r.members[newcomer.participantID] = newcomer
	if !newcomer.hidden {
		msg := encodeOrLog(r.srv.log, protocol.TypeParticipantJoined, "", protocol.ParticipantJoined{Participant: newcomer.participant()})
		for id, m := range r.members {
			if id != newcomer.participantID {
				m.enqueue(msg)
			}
		}
	}
	r.srv.notify(webhook.Event{Event: webhook.ParticipantJoined, Room: webhook.Room{Name: r.name}, Participant: newcomer.hookParticipant()})
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
	r.mu.Unlock()
	r.srv.dropRoomIfEmpty(r)
}

// dropIfEmpty marks an empty, unmanaged room gone; Server.mu must be held.
func (r *room) dropIfEmpty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.members) == 0 && !r.managed {
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
	info := admin.RoomInfo{Name: r.name, Policy: r.policy, Managed: r.managed, Participants: len(members)}
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
