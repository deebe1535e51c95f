package signaling

import (
	"slices"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// A room's policy (mode, lobby, cap) belongs to the room, not to whoever joined first. It is set once
// per room life by, in order: the node's config or the admin API (a managed room, newRoom and
// CreateRoom), else the first token that carries a policy, whenever it arrives — also after others have
// joined with plain tokens (a clinician with a plain host token, then the patient's consultation link).
// Later tokens' policies give way to the room's. A moderator's lock (room_settings) is not a policy: a
// token's policy adopted after it keeps the lock the moderator chose.
//
// All of it runs under room.mu, on the joiner's reader, inside room.admit. In cluster mode the room's
// owner node runs every join of its rooms (relayed sessions join through the same room.admit), so the
// policy is resolved in one place whichever node a client reached.

// joinPolicyLocked returns the policy a joiner is admitted under: the room's, or, while the room has
// none, the one its token carries, which adopt says the room takes once the join succeeds. r.mu must be
// held.
func (r *room) joinPolicyLocked(a auth.Admit) (policy auth.Policy, adopt bool) {
	if a.Policy == nil {
		return r.policy, false
	}
	if r.hasPolicy {
		if *a.Policy != r.policy {
			r.srv.log.Debug("token policy ignored: the room has its own", "room", r.name, "identity", a.Identity,
				"token_mode", a.Policy.Mode, "room_mode", r.policy.Mode)
		}
		return r.policy, false
	}
	p := *a.Policy
	if r.lockSet {
		p.Locked = r.policy.Locked
	}
	return p, true
}

// adoptPolicyLocked makes p, the policy newcomer's token carried, the room's. The members already in
// the room (not newcomer: its `joined` carries the state, and a waiter gets none) are told the new
// state, and those whose grants were their role's defaults in the old mode get the new mode's
// (grants_changed, and their tracks no longer allowed are unpublished), in that order. r.mu must be
// held: the messages keep their order with the room's other changes, and Session.updateGrants only
// enqueues and calls the media plane, which the lock order allows.
func (r *room) adoptPolicyLocked(p auth.Policy, newcomer *Session) {
	old := r.policy
	r.policy, r.hasPolicy = p, true
	state := encodeOrLog(r.srv.log, protocol.TypeRoomState, "", r.stateLocked(p))
	told := 0
	for _, m := range r.membersLocked() {
		if m == newcomer {
			continue
		}
		m.enqueue(state)
		told++
		if old.Mode != p.Mode {
			r.regrantLocked(m, old, p)
		}
	}
	r.srv.log.Info("room policy taken from a token", "room", r.name, "mode", p.Mode, "lobby", p.LobbyOn(),
		"max_participants", p.MaxParticipants, "identity", newcomer.identity, "members_told", told)
}

// regrantLocked gives member m the grants of the room's new policy when the mode changes them: only
// grants that are a role's defaults depend on the mode (an attendee publishes nothing in a classroom);
// a token's explicit grants and an admin's or a moderator's change stay as they are.
func (r *room) regrantLocked(m *Session, old, now auth.Policy) {
	a := auth.Admit{Identity: m.identity, Role: m.role, Grants: m.tokenGrants}
	before, after := r.grantsLocked(a, old), r.grantsLocked(a, now)
	if grantsEqual(before, after) {
		return
	}
	m.updateGrants(after)
}

func grantsEqual(a, b auth.Grants) bool {
	return slices.Equal(a.Publish, b.Publish) && a.Subscribe == b.Subscribe && a.Chat == b.Chat &&
		a.Moderate == b.Moderate && a.Admin == b.Admin
}
