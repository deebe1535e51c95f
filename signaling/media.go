package signaling

import (
	"context"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu"
)

// Media is what the control plane needs from the media plane.
type Media interface {
	Join(room, participantID string, events sfu.ParticipantEvents, onJoined func(existing []sfu.TrackInfo)) (MediaParticipant, error)
	// Offers reports whether the node offers connectivity checks of a path (ICE/TCP may be off).
	Offers(path sfu.CheckTransport) bool
	// StartCheck answers a connectivity check's offer; the check ends itself after lifetime.
	StartCheck(ctx context.Context, path sfu.CheckTransport, offerSDP string, lifetime time.Duration) (answerSDP string, check Check, err error)
}

// Check is a running connectivity check.
type Check interface {
	Close()
	Ended() bool
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
	// Rates returns each published track's layers and their measured bitrates; safe from any goroutine.
	Rates() map[string][]sfu.LayerRate
	// Record starts recording one of the participant's published tracks into sink; safe from any
	// goroutine.
	Record(trackID string, sink sfu.RecordSink) (*sfu.RecordTap, error)
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

// Offers implements Media.
func (m SFUMedia) Offers(path sfu.CheckTransport) bool { return m.SFU.Offers(path) }

// StartCheck implements Media.
func (m SFUMedia) StartCheck(ctx context.Context, path sfu.CheckTransport, offerSDP string, lifetime time.Duration) (string, Check, error) {
	answer, c, err := m.SFU.StartCheck(ctx, path, offerSDP, lifetime)
	if err != nil {
		return "", nil, err
	}
	return answer, c, nil
}
