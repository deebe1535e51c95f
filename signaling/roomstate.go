package signaling

import (
	"slices"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// The room's shared state: whether chat is on, the lock, the spotlight and the raised hands. It lives
// in the room under room.mu; every change is sent, whole, to every member as `room_state` while the lock
// is held, so that all members see the changes in the same order as joins and leaves.

// stateLocked is the room's shared state under policy (the room's, or the one a first joiner brings).
func (r *room) stateLocked(policy auth.Policy) protocol.RoomState {
	return protocol.RoomState{ChatEnabled: !r.chatOff, Locked: policy.Locked, Spotlight: r.spotlight,
		Hands: append([]string{}, r.hands...), Mode: policy.Mode, Recording: r.recordingViewLocked()}
}

// broadcastStateLocked sends the room's state to every member: now, or, when one went out less than
// Limits.StateInterval ago, once at the end of that interval with the state as it is then, however many
// changes came in between (a hand toggled a thousand times a second costs a room of sixty a handful of
// messages, not sixty thousand). Every change is persisted at once.
func (r *room) broadcastStateLocked() {
	r.persistLocked()
	r.coalesceLocked(&r.stateSend, func() {
		msg := encodeOrLog(r.srv.log, protocol.TypeRoomState, "", r.stateLocked(r.policy))
		for _, m := range r.members {
			m.enqueue(msg)
		}
	})
}

// coalescer spaces one kind of room broadcast; room.mu guards it.
type coalescer struct {
	last  time.Time   // when one last went out
	timer *time.Timer // a send due at the end of the interval; nil when none is
}

// coalesceLocked runs send now if none ran within Limits.StateInterval, else once at the end of it
// (under room.mu, so send reads the state as it is then). r.mu must be held.
func (r *room) coalesceLocked(c *coalescer, send func()) {
	if c.timer != nil {
		return // the due send will carry this change too
	}
	now := time.Now()
	if wait := r.srv.cfg.Limits.StateInterval - now.Sub(c.last); wait > 0 {
		c.timer = time.AfterFunc(wait, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			c.timer = nil
			if !r.gone {
				c.last = time.Now()
				send()
			}
		})
		return
	}
	c.last = now
	send()
}

// forgetLocked drops a participant who left from the hands and the spotlight; true when that changed
// the state.
func (r *room) forgetLocked(participantID string) bool {
	changed := r.lowerLocked(participantID)
	if r.spotlight == participantID {
		r.spotlight, changed = "", true
	}
	return changed
}

// lowerLocked lowers one participant's hand; true when it was raised.
func (r *room) lowerLocked(participantID string) bool {
	i := slices.Index(r.hands, participantID)
	if i < 0 {
		return false
	}
	r.hands = slices.Delete(r.hands, i, i+1)
	return true
}

// resetIfIdleLocked starts the room afresh once nobody is in it or waits for it: chat on, no spotlight,
// no hands, and everyone goes through the lobby again. A managed room keeps its policy, bans and grants.
func (r *room) resetIfIdleLocked() {
	if len(r.members) > 0 || len(r.lobby) > 0 {
		return
	}
	r.endRecordingLocked(protocol.RecordingEndedRoom)
	r.rec = roomRecording{}
	r.chatOff, r.spotlight, r.hands, r.admitted = false, "", nil, nil
	r.restored = restoredRoles{}
	r.persistLocked()
}

// changeState runs fn on the room with its lock held and, when fn reports a change, tells every member.
func (r *room) changeState(fn func() bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if fn() {
		r.broadcastStateLocked()
	}
}

// handleRaiseHand raises or lowers the sender's own hand. Observers are hidden and cannot.
func (s *Session) handleRaiseHand(env protocol.Envelope) *protocol.Error {
	var req protocol.RaiseHand
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	if s.hidden {
		return insufficient("observers cannot raise a hand")
	}
	s.room.changeState(func() bool {
		if !*req.Raised {
			return s.room.lowerLocked(s.participantID)
		}
		if slices.Contains(s.room.hands, s.participantID) {
			return false
		}
		s.room.hands = append(s.room.hands, s.participantID)
		return true
	})
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}

// handleLowerHand lowers someone's hand, as a moderator.
func (s *Session) handleLowerHand(env protocol.Envelope) *protocol.Error {
	req, perr := moderatorRequest[protocol.ParticipantRef](s, env, "lowering others' hands")
	if perr != nil {
		return perr
	}
	if _, perr := s.roomMember(req.ParticipantID); perr != nil {
		return perr
	}
	s.room.changeState(func() bool { return s.room.lowerLocked(req.ParticipantID) })
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}

// handleSpotlight shows one participant large on every client, or nobody.
func (s *Session) handleSpotlight(env protocol.Envelope) *protocol.Error {
	req, perr := moderatorRequest[protocol.Spotlight](s, env, "the spotlight")
	if perr != nil {
		return perr
	}
	id := *req.ParticipantID
	if id != "" {
		if target := s.room.member(id); target == nil || target.hidden {
			return protocol.Errorf(protocol.CodeUnknownParticipant, "no participant %s in this room", id)
		}
	}
	s.room.changeState(func() bool { // perr is nil here; set when the target left meanwhile
		// The target may have left since it was looked up: a spotlight on nobody would never be cleared.
		if id != "" && s.room.members[id] == nil {
			perr = protocol.Errorf(protocol.CodeUnknownParticipant, "participant %s left", id)
			return false
		}
		changed := s.room.spotlight != id
		s.room.spotlight = id
		return changed
	})
	if perr != nil {
		return perr
	}
	s.log.Info("moderator set the spotlight", "target", id)
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}

// handleRoomSettings turns the chat on or off and locks or unlocks the room. The lock is the room's
// policy (it outlives the people in the room when the room is managed); chat is state.
func (s *Session) handleRoomSettings(env protocol.Envelope) *protocol.Error {
	var req protocol.RoomSettings
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	if !s.grants().Moderate {
		return insufficient("room settings need the moderate grant")
	}
	r := s.room
	var chatOn, locked bool
	r.changeState(func() bool {
		changed := false
		if req.ChatEnabled != nil && r.chatOff == *req.ChatEnabled {
			r.chatOff, changed = !*req.ChatEnabled, true
		}
		if req.Locked != nil && r.policy.Locked != *req.Locked {
			// lockSet keeps the lock when a later joiner's token policy becomes the room's (policy.go);
			// the lock alone does not make the room's policy, so such a token still sets the mode.
			r.policy.Locked, r.lockSet, changed = *req.Locked, true, true
		}
		chatOn, locked = !r.chatOff, r.policy.Locked
		return changed
	})
	s.log.Info("moderator changed the room's settings", "chatEnabled", chatOn, "locked", locked)
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}
