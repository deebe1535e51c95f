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
	Layers        []LayerSpec // simulcast layers, lowest first; empty for a single-layer track
}

// TrackSource is the client's declaration of what it sends on one m-line of its publish offer.
type TrackSource struct {
	Mid    string
	Source Source
	Layers []LayerSpec // simulcast layers the client sends, lowest first
}

// LayerSpec describes one simulcast layer: its rid, picture size and bitrate (0 when unknown).
type LayerSpec struct {
	RID           string
	Width, Height int
	MaxBitrate    int // bits per second
}

// LayerState tells a publisher whether anyone needs one of its layers (dynacast).
type LayerState struct {
	RID    string
	Active bool
}

// Priority ranks a subscriber's tracks when its bandwidth is short.
type Priority int8

// Priorities, lowest first.
const (
	PriorityLow Priority = iota - 1
	PriorityNormal
	PriorityHigh
)

// SubscriptionSettings is how a subscriber wants one track (adaptive stream).
type SubscriptionSettings struct {
	Paused        bool
	MaxLayer      string // rid; "" means no cap
	Width, Height int    // render size in device pixels; 0 means unknown
	Priority      Priority
}

// PauseReason says why a subscriber receives nothing of a video track.
type PauseReason string

// Pause reasons.
const (
	PausedForBandwidth PauseReason = "bandwidth"
	PausedBySubscriber PauseReason = "subscriber"
	// LimitedByBandwidth: the subscriber's estimated downlink affords no higher layer.
	LimitedByBandwidth PauseReason = "bandwidth"
	// LimitedByPublisher: the layer allotted does not arrive from the publisher (its encoder or uplink
	// stopped it), so a lower one is forwarded.
	LimitedByPublisher PauseReason = "publisher"
)

// StreamState is what a subscriber is sent of one video track: a layer, or nothing and why. A layer
// below the best the subscriber asked for says what holds it back (Limit), so that the client can tell
// the person whose connection it is: theirs (bandwidth) or the sender's (publisher).
type StreamState struct {
	Paused bool
	Reason PauseReason // when paused
	Layer  string      // rid of the layer forwarded; "" for a single-layer track
	Limit  PauseReason // when active below the best layer wanted: LimitedByBandwidth or LimitedByPublisher
}

// Speaker is one participant speaking now, with a level from 0 (silence) to 1 (loudest).
type Speaker struct {
	ParticipantID string
	Level         float64
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
	// StreamStateChanged tells a subscriber which layer of a video track it now receives, or that it
	// is paused and why.
	StreamStateChanged(trackID string, state StreamState)
	// PublisherLayers tells a publisher which layers of its simulcast track anyone needs (dynacast).
	PublisherLayers(trackID string, layers []LayerState)
	// ActiveSpeakers tells every participant of a room who speaks now, loudest first.
	ActiveSpeakers(speakers []Speaker)
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
