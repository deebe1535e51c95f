package signaling

import (
	"errors"
	"slices"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// A host's controls over a room, from its socket: who may publish what (set_grants), muting everyone
// (mute_all) and ending the call (end_room). Like the rest of moderation they run on the moderator's
// reader and reach the others through their sessionState, media handles and enqueue.

// handleSetGrants replaces the sources a participant may publish, keeping its other grants. It takes the
// admin API's path (Server.setIdentityGrants): the grants hold for every session of the identity and its
// rejoins while the room lives, tracks no longer allowed are unpublished and the target hears
// grants_changed. Granting anything lowers the target's hand: it was heard.
func (s *Session) handleSetGrants(env protocol.Envelope) *protocol.Error {
	req, perr := moderatorRequest[protocol.SetGrants](s, env, "changing grants")
	if perr != nil {
		return perr
	}
	target, perr := s.roomMember(req.ParticipantID)
	if perr != nil {
		return perr
	}
	g := target.grants()
	g.Publish = slices.Clone(req.Publish)
	sessions, err := s.srv.setIdentityGrants(s.room.name, target.identity, g, false)
	if err != nil {
		return protocol.Errorf(protocol.CodeInternal, "set grants: %v", err)
	}
	if len(g.Publish) > 0 {
		s.room.changeState(func() bool {
			changed := false
			for _, t := range sessions {
				changed = s.room.lowerLocked(t.participantID) || changed
			}
			return changed
		})
	}
	s.log.Info("moderator changed grants", "target", target.participantID, "identity", target.identity, "publish", g.Publish)
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}

// handleMuteAll mutes, as a moderator, every track of the given kinds that a participant without the
// moderate grant publishes: each publisher gets muted_by_moderator, everyone track_muted.
func (s *Session) handleMuteAll(env protocol.Envelope) *protocol.Error {
	req, perr := moderatorRequest[protocol.MuteAll](s, env, "muting everyone")
	if perr != nil {
		return perr
	}
	s.room.mu.Lock()
	members := s.room.membersLocked()
	s.room.mu.Unlock()
	muted := 0
	for _, m := range members {
		if m.grants().Moderate {
			continue
		}
		for _, t := range m.ownTracks() {
			if !slices.Contains(req.Kinds, t.Kind) || m.isBlocked(t.ID) {
				continue
			}
			if err := m.moderatorMute(t.ID, true); err != nil {
				if !errors.Is(err, sfu.ErrUnknownTrack) { // unpublished meanwhile: nothing to mute
					s.log.Warn("mute all: could not mute a track", "track", t.ID, "owner", m.participantID, "err", err)
				}
				continue
			}
			muted++
		}
	}
	s.log.Info("moderator muted everyone", "kinds", req.Kinds, "tracks", muted)
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}

// handleEndRoom ends the call for everyone, the lobby included: each gets room_closed and is
// disconnected. The room starts afresh (chat, spotlight, hands, admissions); a managed room keeps its
// policy, bans and grants, any other room is forgotten once the last socket is gone. The ack goes out
// before the moderator's own room_closed, though the socket closes right after.
func (s *Session) handleEndRoom(env protocol.Envelope) *protocol.Error {
	if !s.grants().Moderate {
		return insufficient("ending the call needs the moderate grant")
	}
	r := s.room
	r.mu.Lock()
	members, waiters := r.emptyLocked()
	r.mu.Unlock()
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	const why = "the host ended the call"
	kickWaiters(waiters, protocol.CodeRoomClosed, why)
	for _, m := range members {
		m.kick(protocol.CodeRoomClosed, "%s", why)
	}
	s.log.Info("moderator ended the call", "participants", len(members), "waiting", len(waiters))
	return nil
}

// emptyLocked returns everyone in the room and takes everyone out of the lobby, and resets the room's
// shared state, for ending or closing it; the caller disconnects them. r.mu must be held.
func (r *room) emptyLocked() ([]*Session, []*waiter) {
	members := r.membersLocked()
	waiters := r.takeWaitersLocked(func(*waiter) bool { return true })
	r.chatOff, r.spotlight, r.hands, r.admitted = false, "", nil, nil
	r.restored = restoredRoles{}
	r.endRecordingLocked(protocol.RecordingEndedRoom)
	r.persistLocked()
	return members, waiters
}
