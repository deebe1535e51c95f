package signaling

import (
	"errors"
	"sort"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// The lobby: in a room whose policy has one (auth.Policy.LobbyOn), a joiner without the moderate grant
// whose identity has not been in the room yet waits until a moderator admits or declines it. A waiter is
// not a member: it is not in the media plane, not listed, not announced, and gets none of the room's
// messages; its socket answers only leave and ping (anything else is `in_lobby`).
//
// The lobby lives in the room under room.mu. A moderator's admit runs on the moderator's reader: under
// room.mu it registers the waiter with the media plane (which sends the waiter its `joined`) and makes
// it a member, exactly as its own join would have. The waiter's reader owns its media handle, so it adopts
// the handle (Session.state.media, set by the admission) under room.mu on its next message or when it
// leaves; until then nothing of the reader's state is touched by the moderator.

// lobbyMessage is what a waiter is told.
const lobbyMessage = "Please wait: the host will let you in."

// waiter is one session waiting in a lobby.
type waiter struct {
	s      *Session
	admit  auth.Admit // who it joined as: its grants are settled again at admission
	joinID string     // the id of its join, carried by its `joined` or by the error that ends its wait
	since  time.Time
}

// waitLocked puts s in the lobby, answers its join with `lobby` and tells the moderators; r.mu must be
// held.
func (r *room) waitLocked(s *Session, a auth.Admit, joinID string) error {
	if len(r.lobby) >= protocol.MaxLobbyWaiters {
		return protocol.Errorf(protocol.CodeLobbyFull, "%d people already wait to enter room %q; try again later", len(r.lobby), r.name)
	}
	if r.lobby == nil {
		r.lobby = make(map[string]*waiter)
	}
	r.lobby[s.participantID] = &waiter{s: s, admit: a, joinID: joinID, since: time.Now()}
	// The reply goes out before the moderators hear of the waiter, so it precedes the waiter's `joined`.
	s.reply(protocol.TypeLobby, joinID, protocol.Lobby{Room: r.name, Message: lobbyMessage})
	r.sendLobbyUpdateLocked()
	return nil
}

// lobbyUpdateLocked encodes who waits, longest first.
func (r *room) lobbyUpdateLocked() []byte {
	waiters := r.waitersLocked()
	update := protocol.LobbyUpdate{Waiting: make([]protocol.Waiter, len(waiters))}
	for i, w := range waiters {
		update.Waiting[i] = protocol.Waiter{ParticipantID: w.s.participantID, Name: w.s.name, Identity: w.s.identity,
			Since: w.since.UTC().Format(time.RFC3339)}
	}
	return encodeOrLog(r.srv.log, protocol.TypeLobbyUpdate, "", update)
}

// waitersLocked returns the waiters, longest first.
func (r *room) waitersLocked() []*waiter {
	out := make([]*waiter, 0, len(r.lobby))
	for _, w := range r.lobby {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].since.Before(out[j].since) })
	return out
}

// sendLobbyUpdateLocked tells every moderator in the room who waits, spaced as room_state is
// (coalesceLocked).
func (r *room) sendLobbyUpdateLocked() {
	r.coalesceLocked(&r.lobbySend, func() {
		msg := r.lobbyUpdateLocked()
		for _, m := range r.members {
			if m.grants().Moderate {
				m.enqueue(msg)
			}
		}
	})
}

// admitWaiter makes a waiter a member (see the top of this file). The waiter stays in the lobby when the
// room is full or the media plane refuses it.
func (r *room) admitWaiter(participantID string) (*Session, *protocol.Error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.lobby[participantID]
	if w == nil {
		return nil, protocol.Errorf(protocol.CodeUnknownParticipant, "nobody waits in the lobby as %s", participantID)
	}
	// Grants may have changed for the identity while it waited.
	w.s.setGrants(r.grantsLocked(w.admit, r.policy))
	err := r.enterLocked(w.s, r.policy, func(v roomView) error {
		_, err := w.s.joinMedia(w.joinID, v)
		return err
	})
	var refused *protocol.Error
	if errors.As(err, &refused) {
		return nil, refused
	}
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "could not admit %s: %v", participantID, err)
	}
	delete(r.lobby, participantID)
	r.sendLobbyUpdateLocked()
	return w.s, nil
}

// takeWaiters removes from the lobby the waiters match selects and tells the moderators.
func (r *room) takeWaiters(match func(*waiter) bool) []*waiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.takeWaitersLocked(match)
}

func (r *room) takeWaitersLocked(match func(*waiter) bool) []*waiter {
	var out []*waiter
	for _, w := range r.waitersLocked() {
		if match(w) {
			delete(r.lobby, w.s.participantID)
			out = append(out, w)
		}
	}
	if len(out) > 0 {
		r.sendLobbyUpdateLocked()
	}
	return out
}

// admittedMember reports whether s, which waited in r's lobby, is a member now; leaving also takes it out
// of the lobby when it still waits there. Both under one lock, so that an admission cannot slip in between.
func (r *room) admittedMember(s *Session, leaving bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members[s.participantID] == s {
		return true
	}
	if w := r.lobby[s.participantID]; leaving && w != nil && w.s == s {
		delete(r.lobby, s.participantID)
		r.sendLobbyUpdateLocked()
		r.resetIfIdleLocked()
	}
	return false
}

// settleLobby runs on the reader of a session that entered a room's lobby and has no media yet: when a
// moderator has admitted it meanwhile, the reader adopts the media handle the admission set and the
// session is joined (true). Otherwise it still waits, or was declined or removed while waiting (false);
// with leaving it is taken out of the lobby.
func (s *Session) settleLobby(leaving bool) bool {
	if !s.room.admittedMember(s, leaving) {
		if leaving {
			s.srv.dropRoomIfEmpty(s.room)
		}
		return false
	}
	s.media = s.sharedMedia()
	return s.media != nil
}

// kickWaiters ends the waits of waiters with code, answering each one's join.
func kickWaiters(waiters []*waiter, code, message string) {
	for _, w := range waiters {
		w.s.kickWithID(w.joinID, code, "%s", message)
	}
}

// handleAdmit lets a waiter in, as a moderator.
func (s *Session) handleAdmit(env protocol.Envelope) *protocol.Error {
	req, perr := moderatorRequest[protocol.ParticipantRef](s, env, "admitting people")
	if perr != nil {
		return perr
	}
	admitted, perr := s.room.admitWaiter(req.ParticipantID)
	if perr != nil {
		return perr
	}
	admitted.log.Info("session admitted from the lobby", "by", s.participantID, "identity", admitted.identity, "grants", admitted.grants().String())
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}

// handleDecline turns a waiter away, as a moderator: it is told (lobby_declined) and its socket closes.
func (s *Session) handleDecline(env protocol.Envelope) *protocol.Error {
	req, perr := moderatorRequest[protocol.ParticipantRef](s, env, "declining people")
	if perr != nil {
		return perr
	}
	declined := s.room.takeWaiters(func(w *waiter) bool { return w.s.participantID == req.ParticipantID })
	if len(declined) == 0 {
		return protocol.Errorf(protocol.CodeUnknownParticipant, "nobody waits in the lobby as %s", req.ParticipantID)
	}
	kickWaiters(declined, protocol.CodeLobbyDeclined, "the host did not let you in")
	s.log.Info("moderator declined a waiter", "target", req.ParticipantID, "identity", declined[0].s.identity)
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}
