package signaling

import (
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu"
)

// Media is what the control plane needs from the media plane.
type Media interface {
	Join(room, participantID string, events sfu.ParticipantEvents, onJoined func(existing []sfu.TrackInfo)) (MediaParticipant, error)
}

// MediaParticipant is one participant's media, as the control plane drives it.
type MediaParticipant interface {
	Publish(offerSDP string, sources []sfu.TrackSource) (answerSDP string, assigned []sfu.AssignedTrack, err error)
	AcceptSubscriberAnswer(answerSDP string) error
	AddICECandidate(target sfu.Target, c webrtc.ICECandidateInit) error
	SetMuted(trackID string, muted bool) error
	Unpublish(trackID string) error
	SetSubscriptionSettings(trackID string, settings sfu.SubscriptionSettings) error
	// Block stops (or resumes) forwarding one of the participant's tracks and marks it muted: a
	// moderator's mute, which the publisher's own unmute cannot undo. Called from the admin's or the
	// moderator's goroutine, concurrently with the participant's own calls.
	Block(trackID string, blocked bool) error
	// Published returns the participant's published tracks; safe from any goroutine.
	Published() []sfu.TrackInfo
	Close()
}

// SFUMedia adapts *sfu.SFU to Media.
type SFUMedia struct{ SFU *sfu.SFU }

// Join implements Media.
func (m SFUMedia) Join(room, participantID string, events sfu.ParticipantEvents, onJoined func([]sfu.TrackInfo)) (MediaParticipant, error) {
	p, err := m.SFU.Join(room, participantID, events, onJoined)
	if err != nil {
		return nil, err
	}
	return p, nil
}
