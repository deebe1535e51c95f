package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

var errRoomClosing = errors.New("room is closing")

// Room is a set of participants who receive each other's tracks.
type Room struct {
	name string
	sfu  *SFU
	log  *slog.Logger

	mu           sync.Mutex
	participants map[string]*Participant
	tracks       map[string]*Receiver // published tracks by id
	closing      bool                 // the last participant left; SFU.Join makes a new room
	speakers     []Speaker            // last announced
}

func newRoom(s *SFU, name string) *Room {
	return &Room{
		name: name, sfu: s, log: s.log.With("room", name),
		participants: make(map[string]*Participant), tracks: make(map[string]*Receiver),
	}
}

func (r *Room) join(p *Participant, onJoined func([]TrackInfo)) error {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return errRoomClosing
	}
	if _, dup := r.participants[p.id]; dup {
		r.mu.Unlock()
		return fmt.Errorf("join %s: %w", p.id, ErrDuplicateID)
	}
	p.room = r
	r.participants[p.id] = p
	existing := make([]*Receiver, 0, len(r.tracks))
	infos := make([]TrackInfo, 0, len(r.tracks))
	for _, rcv := range r.tracks {
		existing = append(existing, rcv)
		infos = append(infos, rcv.Info())
	}
	if onJoined != nil {
		onJoined(infos)
	}
	r.mu.Unlock()

	r.log.Info("participant joined", "participant", p.id, "tracks", len(existing))
	for _, rcv := range existing {
		p.sub.add(rcv)
	}
	return nil
}

// publish makes a receiver's track visible to the room and subscribes everyone else to it.
func (r *Room) publish(rcv *Receiver) {
	r.mu.Lock()
	if _, present := r.participants[rcv.info.ParticipantID]; !present {
		r.mu.Unlock()
		rcv.close() // the publisher left while its first packet was in flight
		return
	}
	r.tracks[rcv.info.ID] = rcv
	info := rcv.Info()
	subs := make([]*subscriber, 0, len(r.participants))
	for _, p := range r.participants {
		p.events.TrackPublished(info)
		if p.id != info.ParticipantID {
			subs = append(subs, p.sub)
		}
	}
	r.mu.Unlock()

	r.log.Debug("track published", "track", info.ID, "participant", info.ParticipantID, "kind", info.Kind,
		"source", info.Source, "codec", info.Codec)
	for _, s := range subs {
		s.add(rcv)
	}
}

// unpublish removes one track from the room and from every subscriber.
func (r *Room) unpublish(rcv *Receiver) {
	r.mu.Lock()
	if r.tracks[rcv.info.ID] != rcv {
		r.mu.Unlock()
		rcv.close()
		return
	}
	delete(r.tracks, rcv.info.ID)
	subs := r.announceUnpublishedLocked([]*Receiver{rcv})
	r.mu.Unlock()
	r.detach([]*Receiver{rcv}, subs)
}

// announceUnpublishedLocked tells every participant about the removed tracks and returns the
// subscribers to detach them from. r.mu must be held.
func (r *Room) announceUnpublishedLocked(gone []*Receiver) []*subscriber {
	subs := make([]*subscriber, 0, len(r.participants))
	for _, p := range r.participants {
		for _, rcv := range gone {
			p.events.TrackUnpublished(rcv.Info())
		}
		subs = append(subs, p.sub)
	}
	return subs
}

// detach closes receivers (their readers stop forwarding) and then removes them from subscribers, in that
// order, so that a concurrent subscriber.add either sees a closed receiver or is undone here.
func (r *Room) detach(gone []*Receiver, subs []*subscriber) {
	for _, rcv := range gone {
		rcv.close()
		r.log.Info("track unpublished", "track", rcv.info.ID, "participant", rcv.info.ParticipantID)
	}
	for _, s := range subs {
		for _, rcv := range gone {
			s.remove(rcv.info.ID)
		}
	}
}

// leave removes a participant and its tracks. It does not close the participant's PeerConnections.
func (r *Room) leave(p *Participant) {
	r.mu.Lock()
	if r.participants[p.id] != p {
		r.mu.Unlock()
		return
	}
	delete(r.participants, p.id)
	var gone []*Receiver
	for id, rcv := range r.tracks {
		if rcv.info.ParticipantID == p.id {
			gone = append(gone, rcv)
			delete(r.tracks, id)
		}
	}
	subs := r.announceUnpublishedLocked(gone)
	empty := len(r.participants) == 0
	if empty {
		r.closing = true
	}
	r.mu.Unlock()

	r.detach(gone, subs)
	r.log.Info("participant left", "participant", p.id)
	if empty {
		r.sfu.removeRoom(r)
	}
}

// muted tells the room that a track's mute state changed.
func (r *Room) muted(rcv *Receiver) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tracks[rcv.info.ID] != rcv {
		return
	}
	info := rcv.Info()
	for _, p := range r.participants {
		p.events.TrackMuted(info)
	}
}

func (r *Room) participantList() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		out = append(out, p)
	}
	return out
}

func (r *Room) addStats(st *Stats) {
	r.mu.Lock()
	st.Participants += len(r.participants)
	st.Tracks += len(r.tracks)
	r.mu.Unlock()
}

// appendLinks adds each participant's downlink (its subscriber's bandwidth estimate and reported loss).
func (r *Room) appendLinks(dst []LinkStat) []LinkStat {
	r.mu.Lock()
	subs := make([]*subscriber, 0, len(r.participants))
	for _, p := range r.participants {
		if p.sub != nil {
			subs = append(subs, p.sub)
		}
	}
	r.mu.Unlock()
	for _, s := range subs {
		if s.bwe != nil {
			dst = append(dst, LinkStat{EstimateBps: s.bwe.Target(), Loss: s.bwe.Loss(), RoundTrip: s.roundTrip()})
		}
	}
	return dst
}

// hasTrack reports whether a track is published in the room.
func (r *Room) hasTrack(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tracks[id] != nil
}

// microphones returns the room's published microphone tracks.
func (r *Room) microphones() []*Receiver {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Receiver, 0, len(r.participants))
	for _, rcv := range r.tracks {
		if rcv.info.Source == SourceMicrophone {
			out = append(out, rcv)
		}
	}
	return out
}

// setSpeakers announces the room's speakers when who speaks (or who speaks loudest) changed, and gives
// the loudest speaker's camera priority in everyone's allocation.
func (r *Room) setSpeakers(speakers []Speaker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sameSpeakers(r.speakers, speakers) {
		return
	}
	r.speakers = speakers
	main := ""
	if len(speakers) > 0 {
		main = speakers[0].ParticipantID
	}
	for _, rcv := range r.tracks {
		if rcv.info.Source == SourceCamera {
			rcv.speaker.Store(rcv.info.ParticipantID == main)
		}
	}
	for _, p := range r.participants {
		p.events.ActiveSpeakers(speakers)
	}
}

func sameSpeakers(a, b []Speaker) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ParticipantID != b[i].ParticipantID {
			return false
		}
	}
	return true
}
