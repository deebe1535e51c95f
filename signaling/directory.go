package signaling

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// Server implements admin.Directory for the rooms of this node. None of its methods blocks on anything
// but short locks, so the contexts go unused; a cluster directory would need them.
var _ admin.Directory = (*Server)(nil)

// changeRoom runs fn on the named room with Server.mu and room.mu held (so the room cannot be dropped
// meanwhile); fn must only change the room's fields. create makes the room when it does not exist.
func (s *Server) changeRoom(name string, create bool, fn func(r *room)) (*room, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[name]
	created := false
	if r == nil {
		if !create {
			return nil, false, fmt.Errorf("room %q: %w", name, admin.ErrRoomNotFound)
		}
		r, created = s.newRoom(name), true
		s.rooms[name] = r
	}
	r.mu.Lock()
	fn(r)
	r.persistLocked() // bans, grants, policy: what an admin or a moderator decided
	r.mu.Unlock()
	return r, created, nil
}

// CreateRoom implements admin.Directory.
func (s *Server) CreateRoom(ctx context.Context, name string, policy auth.Policy) (admin.RoomInfo, bool, error) {
	if err := protocol.ValidateRoomName(name); err != nil {
		return admin.RoomInfo{}, false, fmt.Errorf("%w: %w", admin.ErrInvalid, err)
	}
	if err := policy.Validate(); err != nil {
		return admin.RoomInfo{}, false, fmt.Errorf("%w: %w", admin.ErrInvalid, err)
	}
	if err := s.roomElsewhere(ctx, name); err != nil {
		return admin.RoomInfo{}, false, err
	}
	r, created, err := s.changeRoom(name, true, func(r *room) {
		r.policy, r.hasPolicy, r.managed = policy, true, true
		r.broadcastStateLocked() // the mode or the lock may have changed (enqueue never blocks)
	})
	if err != nil {
		return admin.RoomInfo{}, false, err
	}
	return r.info(), created, nil
}

// Rooms implements admin.Directory.
func (s *Server) Rooms(ctx context.Context) ([]admin.RoomInfo, error) {
	rooms := s.roomList()
	out := make([]admin.RoomInfo, 0, len(rooms))
	for _, r := range rooms {
		out = append(out, r.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return s.withClusterRooms(ctx, out)
}

// Room implements admin.Directory.
func (s *Server) Room(ctx context.Context, name string) (admin.RoomInfo, error) {
	if err := s.roomElsewhere(ctx, name); err != nil {
		return admin.RoomInfo{}, err
	}
	r := s.lookup(name)
	if r == nil {
		return admin.RoomInfo{}, fmt.Errorf("room %q: %w", name, admin.ErrRoomNotFound)
	}
	return r.info(), nil
}

// CloseRoom implements admin.Directory: the room forgets its policy, bans and grants, everyone in it or
// in its lobby is told (room_closed) and disconnected, and the room goes when the last of them has left.
func (s *Server) CloseRoom(ctx context.Context, name string) error {
	if err := s.roomElsewhere(ctx, name); err != nil {
		return err
	}
	var members []*Session
	var waiters []*waiter
	r, _, err := s.changeRoom(name, false, func(r *room) {
		r.managed, r.hasPolicy, r.lockSet, r.policy = false, false, false, auth.Policy{}
		clear(r.bans)
		clear(r.grants)
		members, waiters = r.emptyLocked()
	})
	if err != nil {
		return err
	}
	const why = "the room was closed by an admin"
	kickWaiters(waiters, protocol.CodeRoomClosed, why)
	for _, m := range members {
		m.kick(protocol.CodeRoomClosed, "%s", why)
	}
	s.dropRoomIfEmpty(r)
	s.log.Info("room closed by admin", "room", name, "participants", len(members), "waiting", len(waiters))
	return nil
}

// Participants implements admin.Directory.
func (s *Server) Participants(ctx context.Context, name string) ([]admin.ParticipantInfo, error) {
	r := s.lookup(name)
	if r == nil {
		if remote, found, err := s.remoteParticipants(ctx, name); found || err != nil {
			return remote, err
		}
		return nil, fmt.Errorf("room %q: %w", name, admin.ErrRoomNotFound)
	}
	r.mu.Lock()
	members := r.membersLocked()
	r.mu.Unlock()
	out := make([]admin.ParticipantInfo, 0, len(members))
	for _, m := range members {
		out = append(out, m.info())
	}
	return out, nil
}

// RemoveParticipant implements admin.Directory.
func (s *Server) RemoveParticipant(ctx context.Context, room, identity string, ban bool) error {
	if err := s.roomElsewhere(ctx, room); err != nil {
		return err
	}
	return s.removeIdentity(room, identity, ban, "an admin")
}

// removeIdentity disconnects every session of identity in room and, with ban, refuses its later joins;
// a ban needs nobody present.
func (s *Server) removeIdentity(name, identity string, ban bool, by string) error {
	if ban {
		if err := auth.ValidateIdentity(identity); err != nil {
			return fmt.Errorf("%w: %w", admin.ErrInvalid, err)
		}
		if err := protocol.ValidateRoomName(name); err != nil {
			return fmt.Errorf("%w: %w", admin.ErrInvalid, err)
		}
		// A ban may come before the identity ever joins, even before the room exists.
		if _, _, err := s.changeRoom(name, true, func(r *room) { r.bans[identity], r.managed = true, true }); err != nil {
			return err
		}
	}
	r := s.lookup(name)
	if r == nil {
		return fmt.Errorf("room %q: %w", name, admin.ErrRoomNotFound)
	}
	targets := r.sessionsOf(identity)
	waiters := r.takeWaiters(func(w *waiter) bool { return w.s.identity == identity })
	if len(targets) == 0 && len(waiters) == 0 && !ban {
		return fmt.Errorf("%q in room %q: %w", identity, name, admin.ErrParticipantNotFound)
	}
	msg := "you were removed from the room by " + by
	if ban {
		msg += " and may not rejoin"
	}
	kickWaiters(waiters, protocol.CodeRemoved, msg)
	for _, t := range targets {
		t.kick(protocol.CodeRemoved, "%s", msg)
	}
	s.log.Info("participant removed", "room", name, "identity", identity, "sessions", len(targets), "waiting", len(waiters), "ban", ban, "by", by)
	return nil
}

// Unban implements admin.Directory.
func (s *Server) Unban(ctx context.Context, name, identity string) error {
	if err := s.roomElsewhere(ctx, name); err != nil {
		return err
	}
	found := false
	_, _, err := s.changeRoom(name, false, func(r *room) {
		found = r.bans[identity]
		delete(r.bans, identity)
	})
	if err == nil && !found {
		err = fmt.Errorf("%q is not banned from room %q: %w", identity, name, admin.ErrParticipantNotFound)
	}
	return err
}

// MuteTracks implements admin.Directory.
func (s *Server) MuteTracks(ctx context.Context, name, identity string, req admin.MuteRequest) ([]string, error) {
	if err := s.roomElsewhere(ctx, name); err != nil {
		return nil, err
	}
	r := s.lookup(name)
	if r == nil {
		return nil, fmt.Errorf("room %q: %w", name, admin.ErrRoomNotFound)
	}
	targets := r.sessionsOf(identity)
	if len(targets) == 0 {
		return nil, fmt.Errorf("%q in room %q: %w", identity, name, admin.ErrParticipantNotFound)
	}
	ids := []string{}
	for _, t := range targets {
		m := t.sharedMedia()
		if m == nil {
			continue
		}
		for _, track := range m.Published() {
			if (req.TrackID != "" && track.ID != req.TrackID) || (req.Source != "" && string(track.Source) != req.Source) {
				continue
			}
			if err := t.moderatorMute(track.ID, req.Muted); err != nil {
				if errors.Is(err, sfu.ErrUnknownTrack) {
					continue // unpublished meanwhile
				}
				return ids, fmt.Errorf("mute %s: %w", track.ID, err)
			}
			ids = append(ids, track.ID)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no such track of %q in room %q: %w", identity, name, admin.ErrTrackNotFound)
	}
	return ids, nil
}

// UpdateGrants implements admin.Directory. The grants are kept for the identity in this room, so that
// rejoining with the same token does not restore what an admin took away.
func (s *Server) UpdateGrants(ctx context.Context, name, identity string, g auth.Grants) ([]admin.ParticipantInfo, error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", admin.ErrInvalid, err)
	}
	if err := auth.ValidateIdentity(identity); err != nil {
		return nil, fmt.Errorf("%w: %w", admin.ErrInvalid, err)
	}
	if err := s.roomElsewhere(ctx, name); err != nil {
		return nil, err
	}
	sessions, err := s.setIdentityGrants(name, identity, g, true)
	if err != nil {
		return nil, err
	}
	out := []admin.ParticipantInfo{}
	for _, t := range sessions {
		out = append(out, t.info())
	}
	s.log.Info("grants updated", "room", name, "identity", identity, "grants", g.String(), "sessions", len(out))
	return out, nil
}

// setIdentityGrants keeps g for identity in the room, for its rejoins, and gives them to its sessions
// now (Session.updateGrants). An admin's change makes the room managed, so that it outlives the people
// in it; a moderator's (set_grants) lasts as long as the room. It returns the sessions changed.
func (s *Server) setIdentityGrants(name, identity string, g auth.Grants, manage bool) ([]*Session, error) {
	var mode string
	r, _, err := s.changeRoom(name, false, func(r *room) {
		r.grants[identity] = g
		r.managed = r.managed || manage
		mode = r.policy.Mode
	})
	if err != nil {
		return nil, err
	}
	sessions := r.sessionsOf(identity)
	for _, t := range sessions {
		t.updateGrants(auth.Effective(t.role, &g, mode))
	}
	return sessions, nil
}
