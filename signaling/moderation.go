package signaling

import (
	"fmt"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// Moderation: what a moderator (over its socket) or an admin (over the admin API) does to a session. The
// Session methods here run on the moderator's or the admin's goroutine, never the target's reader; they
// touch the target only through its sessionState, its media handle (whose Block, Unpublish and Published
// may be called concurrently with the target's own calls) and enqueue.

// moderatorRequest decodes a moderator's message and checks the moderate grant; what names the action
// in the refusal ("muting others").
func moderatorRequest[T any](s *Session, env protocol.Envelope, what string) (T, *protocol.Error) {
	var req T
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return req, perr
	}
	if !s.grants().Moderate {
		return req, insufficient("%s needs the moderate grant", what)
	}
	return req, nil
}

// roomMember returns the member of the session's room with a participant id, or unknown_participant.
func (s *Session) roomMember(participantID string) (*Session, *protocol.Error) {
	if m := s.room.member(participantID); m != nil {
		return m, nil
	}
	return nil, protocol.Errorf(protocol.CodeUnknownParticipant, "no participant %s in this room", participantID)
}

// handleRemoveParticipant removes one participant of the moderator's room; with ban, its identity cannot
// come back.
func (s *Session) handleRemoveParticipant(env protocol.Envelope) *protocol.Error {
	req, perr := moderatorRequest[protocol.RemoveParticipant](s, env, "removing participants")
	if perr != nil {
		return perr
	}
	if req.ParticipantID == s.participantID {
		return protocol.Errorf(protocol.CodeBadRequest, "to remove yourself, send leave")
	}
	target, perr := s.roomMember(req.ParticipantID)
	if perr != nil {
		return perr
	}
	by := "a moderator (" + s.name + ")"
	if req.Ban {
		if err := s.srv.removeIdentity(s.room.name, target.identity, true, by); err != nil {
			return protocol.Errorf(protocol.CodeInternal, "ban: %v", err)
		}
	} else {
		// Removed is not admitted: in a locked room or behind its lobby, coming back needs a moderator.
		s.room.unadmit(target.identity)
		target.kick(protocol.CodeRemoved, "you were removed from the room by %s", by)
	}
	s.log.Info("moderator removed a participant", "target", target.participantID, "identity", target.identity, "ban", req.Ban)
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}

// handleMuteParticipant mutes (or unmutes) any track of the room as a moderator.
func (s *Session) handleMuteParticipant(env protocol.Envelope) *protocol.Error {
	req, perr := moderatorRequest[protocol.Mute](s, env, "muting others")
	if perr != nil {
		return perr
	}
	owner := s.room.trackOwner(req.TrackID)
	if owner == nil {
		return protocol.Errorf(protocol.CodeUnknownTrack, "no track %s in this room", req.TrackID)
	}
	if err := owner.moderatorMute(req.TrackID, req.Muted); err != nil {
		return mediaError(err)
	}
	s.log.Info("moderator muted a track", "track", req.TrackID, "owner", owner.participantID, "muted", req.Muted)
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}

// trackOwner returns the member publishing trackID, or nil.
func (r *room) trackOwner(trackID string) *Session {
	r.mu.Lock()
	members := r.membersLocked()
	r.mu.Unlock()
	for _, m := range members {
		if m.ownsTrack(trackID) {
			return m
		}
	}
	return nil
}

// kick tells the client why and ends its session; its reader then leaves the room. Safe from any
// goroutine and never blocks.
func (s *Session) kick(code, format string, args ...any) {
	s.kickWithID("", code, format, args...)
}

// kickWithID is kick whose error answers the client's message id (a lobby waiter's join).
func (s *Session) kickWithID(id, code, format string, args ...any) {
	s.sendError(id, protocol.Errorf(code, format, args...))
	s.closeWith(websocket.ClosePolicyViolation, code)
}

// moderatorMute blocks (or unblocks) one of the session's tracks and tells its client.
func (s *Session) moderatorMute(trackID string, muted bool) error {
	m := s.sharedMedia()
	if m == nil {
		return fmt.Errorf("participant %s: %w", s.participantID, admin.ErrParticipantNotFound)
	}
	s.state.mu.Lock()
	if muted {
		s.state.blocked[trackID] = true
	} else {
		delete(s.state.blocked, trackID)
	}
	s.state.mu.Unlock()
	// Block runs without the state lock (it may send the publisher a keyframe request). Should two
	// moderators race on one track, the map holds the last word and Block is replayed until they agree.
	want := muted
	for range 3 {
		if err := m.Block(trackID, want); err != nil {
			s.state.mu.Lock()
			delete(s.state.blocked, trackID) // not a track of ours: forget it
			s.state.mu.Unlock()
			return err
		}
		now := s.isBlocked(trackID)
		if now == want {
			break
		}
		want = now
	}
	s.reply(protocol.TypeMutedByModerator, "", protocol.Mute{TrackID: trackID, Muted: want})
	return nil
}

// updateGrants gives a joined session new grants: tracks whose source is no longer allowed are
// unpublished, the client hears of it, and a subscribe offer held back is delivered once subscribe is
// granted. Revoking subscribe ends the session: its subscribe connection is up and only a rejoin (which
// gets the new grants) tears it down.
func (s *Session) updateGrants(g auth.Grants) []string {
	s.state.mu.Lock()
	old := s.state.grants
	s.state.grants = g
	m := s.state.media
	var held *protocol.SubscribeOffer
	if g.Subscribe {
		held, s.state.heldOffer = s.state.heldOffer, nil
	}
	s.state.mu.Unlock()
	if m == nil {
		return nil
	}
	s.log.Info("grants changed", "grants", g.String())
	if old.Subscribe && !g.Subscribe {
		s.kick(protocol.CodeInsufficientGrant, "your subscribe grant was revoked; rejoin to stay in the room without receiving media")
		return nil
	}
	unpublished := []string{}
	for _, t := range m.Published() {
		if g.CanPublish(string(t.Source)) {
			continue
		}
		if err := m.Unpublish(t.ID); err != nil {
			s.log.Debug("unpublish a track no longer granted", "track", t.ID, "err", err)
			continue
		}
		unpublished = append(unpublished, t.ID)
	}
	s.reply(protocol.TypeGrantsChanged, "", protocol.GrantsChanged{Grants: protocolGrants(g), Unpublished: unpublished})
	if held != nil {
		s.reply(protocol.TypeSubscribeOffer, "", *held)
	}
	return unpublished
}
