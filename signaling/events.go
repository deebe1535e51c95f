package signaling

import (
	"math"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// The methods below make a Session an sfu.ParticipantEvents. The media plane calls them from its own
// goroutines, some with its locks held: each only encodes and enqueues.

// SubscriberOffer implements sfu.ParticipantEvents.
func (s *Session) SubscriberOffer(sdp string, trackByMid map[string]string) {
	s.reply(protocol.TypeSubscribeOffer, "", protocol.SubscribeOffer{SDP: sdp, Tracks: trackByMid})
}

// ICECandidate implements sfu.ParticipantEvents.
func (s *Session) ICECandidate(target sfu.Target, c webrtc.ICECandidateInit) {
	s.reply(protocol.TypeICECandidate, "", protocol.ICECandidate{Target: string(target), Candidate: &protocol.ICECandidateInit{
		Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
	}})
}

// TrackPublished implements sfu.ParticipantEvents.
func (s *Session) TrackPublished(t sfu.TrackInfo) {
	s.reply(protocol.TypeTrackPublished, "", protocol.TrackEvent{Track: trackOf(t)})
}

// TrackUnpublished implements sfu.ParticipantEvents.
func (s *Session) TrackUnpublished(t sfu.TrackInfo) {
	s.reply(protocol.TypeTrackUnpublished, "", protocol.TrackEvent{Track: trackOf(t)})
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
	msg := protocol.StreamState{TrackID: trackID, State: protocol.StreamActive, Layer: st.Layer}
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
