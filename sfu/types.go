package sfu

import (
	"errors"

	"github.com/pion/webrtc/v4"
)

// Source says what a published track shows; the allocator of later issues ranks tracks by it.
type Source string

// Sources a client may declare.
const (
	SourceCamera      Source = "camera"
	SourceMicrophone  Source = "microphone"
	SourceScreen      Source = "screen"
	SourceScreenAudio Source = "screen_audio"
)

// Valid reports whether s is one of the known sources.
func (s Source) Valid() bool {
	switch s {
	case SourceCamera, SourceMicrophone, SourceScreen, SourceScreenAudio:
		return true
	}
	return false
}

// Target names one of a participant's two PeerConnections.
type Target string

// The two PeerConnections.
const (
	TargetPublish   Target = "publish"
	TargetSubscribe Target = "subscribe"
)

// TrackInfo describes a published track to the control plane. It is a value: a snapshot.
type TrackInfo struct {
	ID            string
	ParticipantID string
	Kind          string // "audio" or "video"
	Source        Source
	Muted         bool
	Codec         string // mime type, e.g. "video/VP8"
	Simulcast     bool
}

// TrackSource is the client's declaration of what it sends on one m-line of its publish offer.
type TrackSource struct {
	Mid    string
	Source Source
}

// AssignedTrack tells the client which server track id its m-line got.
type AssignedTrack struct {
	Mid     string
	TrackID string
}

// ParticipantEvents is how the SFU talks back to whoever drives a participant. See the package doc:
// every method is called with room state locked, so it must queue and return, never block.
type ParticipantEvents interface {
	// SubscriberOffer carries a new offer for the subscribe PeerConnection and which track each mid carries.
	SubscriberOffer(sdp string, trackByMid map[string]string)
	// ICECandidate carries a server ICE candidate for one of the participant's PeerConnections.
	ICECandidate(target Target, candidate webrtc.ICECandidateInit)
	// TrackPublished, TrackUnpublished and TrackMuted tell every participant of the room about tracks.
	TrackPublished(track TrackInfo)
	TrackUnpublished(track TrackInfo)
	TrackMuted(track TrackInfo)
	// ConnectionFailed says a PeerConnection failed for good; the participant should rejoin.
	ConnectionFailed(target Target, err error)
}

// Errors the control plane maps to protocol error codes.
var (
	ErrInvalidSDP       = errors.New("invalid SDP")
	ErrNegotiation      = errors.New("negotiation failed")
	ErrUnknownTrack     = errors.New("unknown track")
	ErrClosed           = errors.New("closed")
	ErrDuplicateID      = errors.New("participant id already in room")
	errNoOfferPending   = errors.New("no subscribe offer is pending")
	errTooManyCandidate = errors.New("too many ICE candidates before the remote description")
)
