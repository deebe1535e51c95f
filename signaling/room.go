package signaling

import (
	"errors"
	"sync"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// room is the control plane's view of a room: who is in it, under which name.
type room struct {
	name string
	srv  *Server

	mu      sync.Mutex
	members map[string]*Session // by participant id
	gone    bool                // dropped from the server's map; a joiner must look the room up again
}

// errRoomGone tells a joiner that raced with the room's last leaver to look the room up again.
var errRoomGone = errors.New("room was closed meanwhile")

// admit runs join under the room's lock: it receives the current members (without the newcomer) and
// must register the newcomer with the media plane. On success the newcomer becomes a member and everyone
// else hears of it, in the same order as every other change of this room.
func (r *room) admit(newcomer *Session, join func(others []protocol.Participant) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return errRoomGone
	}
	others := make([]protocol.Participant, 0, len(r.members))
	for _, m := range r.members {
		others = append(others, m.participant())
	}
	if err := join(others); err != nil {
		return err
	}
	r.members[newcomer.participantID] = newcomer
	msg := encodeOrLog(r.srv.log, protocol.TypeParticipantJoined, "", protocol.ParticipantJoined{Participant: newcomer.participant()})
	for id, m := range r.members {
		if id != newcomer.participantID {
			m.enqueue(msg)
		}
	}
	return nil
}

// remove takes a member out and tells the others.
func (r *room) remove(s *Session) {
	r.mu.Lock()
	if r.members[s.participantID] != s {
		r.mu.Unlock()
		return
	}
	delete(r.members, s.participantID)
	msg := encodeOrLog(r.srv.log, protocol.TypeParticipantLeft, "", protocol.ParticipantLeft{ParticipantID: s.participantID})
	for _, m := range r.members {
		m.enqueue(msg)
	}
	r.mu.Unlock()
	r.srv.dropRoomIfEmpty(r)
}

// dropIfEmpty marks an empty room gone; Server.mu must be held.
func (r *room) dropIfEmpty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.members) == 0 {
		r.gone = true
	}
	return r.gone
}
