package signaling

import (
	"maps"
	"math"
	"slices"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/protocol"
	"github.com/huddlehq/huddle/signaling/webhook"
)

// The methods below make a Session an sfu.ParticipantEvents. The media plane calls them from its own
// goroutines, some with its locks held: each only encodes and enqueues.

// SubscriberOffer implements sfu.ParticipantEvents. A participant without the subscribe grant never gets
// the offer, so its subscribe connection never comes up and no media reaches it; the offer is kept and
// sent if an admin grants subscribe later (the media plane sends the next offer only after an answer).
func (s *Session) SubscriberOffer(sdp string, trackByMid map[string]string) {
	offer := protocol.SubscribeOffer{SDP: sdp, Tracks: trackByMid}
	s.state.mu.Lock()
	held := !s.state.grants.Subscribe
	if held {
		s.state.heldOffer = &offer
	}
	s.state.mu.Unlock()
	if !held {
		s.reply(protocol.TypeSubscribeOffer, "", offer)
	}
}

// ICECandidate implements sfu.ParticipantEvents.
func (s *Session) ICECandidate(target sfu.Target, c webrtc.ICECandidateInit) {
	s.reply(protocol.TypeICECandidate, "", protocol.ICECandidate{Target: string(target), Candidate: &protocol.ICECandidateInit{
		Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
	}})
}

// TrackPublished implements sfu.ParticipantEvents. The publisher's own session also records the track
// and reports it to the webhooks; the media plane calls this with its room locked, so the room's webhook
// events keep their order.
func (s *Session) TrackPublished(t sfu.TrackInfo) {
	s.reply(protocol.TypeTrackPublished, "", protocol.TrackEvent{Track: trackOf(t)})
	if t.ParticipantID != s.participantID {
		return
	}
	s.state.mu.Lock()
	s.state.own[t.ID] = t
	allowed := s.state.grants.CanPublish(string(t.Source))
	m := s.state.media
	s.state.mu.Unlock()
	s.log.Info("track published", "track", t.ID, "kind", t.Kind, "source", t.Source, "codec", t.Codec, "layers", len(t.Layers))
	if s.srv.cfg.Recorder != nil && s.room != nil {
		go s.room.recordTrack(s, t) // room.mu comes before the media plane's lock, held here
	}
	s.srv.notify(s.trackHook(webhook.TrackPublished, t))
	if !allowed && m != nil {
		// An admin revoked the grant after the offer was accepted but before media flowed, so the revocation
		// did not see this track. Unpublish it now — on a goroutine, since the media plane's lock is held here.
		go func() {
			if err := m.Unpublish(t.ID); err != nil {
				s.log.Debug("unpublish a track no longer granted", "track", t.ID, "err", err)
			}
		}()
	}
}

// TrackUnpublished implements sfu.ParticipantEvents.
func (s *Session) TrackUnpublished(t sfu.TrackInfo) {
	s.reply(protocol.TypeTrackUnpublished, "", protocol.TrackEvent{Track: trackOf(t)})
	if t.ParticipantID != s.participantID {
		return
	}
	s.state.mu.Lock()
	_, mine := s.state.own[t.ID]
	delete(s.state.own, t.ID)
	delete(s.state.blocked, t.ID)
	s.state.mu.Unlock()
	if mine {
		s.log.Info("track unpublished", "track", t.ID, "source", t.Source)
		s.srv.notify(s.trackHook(webhook.TrackUnpublished, t))
	}
}

// flushOwnTracks reports the tracks still published when the participant leaves: the media plane tells
// only the others about a leaver's tracks.
func (s *Session) flushOwnTracks() {
	s.state.mu.Lock()
	own := s.state.own
	s.state.own = make(map[string]sfu.TrackInfo)
	s.state.blocked = make(map[string]bool)
	s.state.mu.Unlock()
	ids := slices.Sorted(maps.Keys(own))
	for _, id := range ids {
		s.srv.notify(s.trackHook(webhook.TrackUnpublished, own[id]))
	}
}

func (s *Session) trackHook(event string, t sfu.TrackInfo) webhook.Event {
	return webhook.Event{Event: event, Room: webhook.Room{Name: s.roomName}, Participant: s.hookParticipant(),
		Track: &webhook.Track{ID: t.ID, Kind: t.Kind, Source: string(t.Source), Codec: t.Codec, Simulcast: t.Simulcast}}
}

// TrackMuted implements sfu.ParticipantEvents.
func (s *Session) TrackMuted(t sfu.TrackInfo) {
	s.reply(protocol.TypeTrackMuted, "", protocol.TrackEvent{Track: trackOf(t)})
}

// ConnectionFailed implements sfu.ParticipantEvents: the client is told and the session ends, so that it
// rejoins with fresh connections.
func (s *Session) ConnectionFailed(target sfu.Target, err error) {
	s.sendError("", protocol.Errorf(protocol.CodeMediaFailed, "%v; rejoin", err))
	s.closeWith(websocket.CloseNormalClosure, "media connection failed")
}

// StreamStateChanged implements sfu.ParticipantEvents.
func (s *Session) StreamStateChanged(trackID string, st sfu.StreamState) {
	msg := protocol.StreamState{TrackID: trackID, State: protocol.StreamActive, Layer: st.Layer, Limit: string(st.Limit)}
	if st.Paused {
		msg = protocol.StreamState{TrackID: trackID, State: protocol.StreamPaused, Reason: string(st.Reason)}
	}
	s.reply(protocol.TypeStreamState, "", msg)
}

// PublisherLayers implements sfu.ParticipantEvents.
func (s *Session) PublisherLayers(trackID string, layers []sfu.LayerState) {
	msg := protocol.PublisherLayers{TrackID: trackID, Layers: make([]protocol.LayerState, len(layers))}
	for i, l := range layers {
		msg.Layers[i] = protocol.LayerState{RID: l.RID, Active: l.Active}
	}
	s.reply(protocol.TypePublisherLayers, "", msg)
}

// ActiveSpeakers implements sfu.ParticipantEvents.
func (s *Session) ActiveSpeakers(speakers []sfu.Speaker) {
	msg := protocol.ActiveSpeakers{Speakers: make([]protocol.Speaker, len(speakers))}
	for i, sp := range speakers {
		msg.Speakers[i] = protocol.Speaker{ParticipantID: sp.ParticipantID, Level: math.Round(sp.Level*100) / 100}
	}
	s.reply(protocol.TypeActiveSpeakers, "", msg)
}
