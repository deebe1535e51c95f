// Package protocol defines the messages of the signalling protocol (see ../PROTOCOL.md): the envelope,
// each message's data, the error codes, and the decoding rules for what a client sends. The server
// (package signaling) and the Go client (package signaling/client) share it, so the two cannot drift.
//
// Locking: the package holds no state; its functions are safe for concurrent use.
package protocol

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Version is the protocol version this package speaks.
const Version = 1

// Size limits: a message over MaxMessageSize is refused with an error and the session goes on; a frame
// over MaxFrameSize closes the socket.
const (
	MaxMessageSize = 256 << 10 // room for a large room's subscribe answer, and for SDP bounds to say why
	MaxFrameSize   = 1 << 20
)

// Envelope is the shape of every message on the socket.
type Envelope struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Message types, client to server.
const (
	TypeJoin            = "join"
	TypePublishOffer    = "publish_offer"
	TypeSubscribeAnswer = "subscribe_answer"
	TypeICECandidate    = "ice_candidate"
	TypeMute            = "mute"
	TypeUnpublish       = "unpublish"
	TypeLeave           = "leave"
	TypePing            = "ping"
	TypeTrackSettings   = "track_settings"
	// Moderation, for participants with the moderate grant.
	TypeRemoveParticipant = "remove_participant"
	TypeMuteParticipant   = "mute_participant"
)

// Message types, server to client (TypeICECandidate goes both ways).
const (
	TypeJoined            = "joined"
	TypePublishAnswer     = "publish_answer"
	TypeSubscribeOffer    = "subscribe_offer"
	TypeParticipantJoined = "participant_joined"
	TypeParticipantLeft   = "participant_left"
	TypeTrackPublished    = "track_published"
	TypeTrackUnpublished  = "track_unpublished"
	TypeTrackMuted        = "track_muted"
	TypeError             = "error"
	TypePong              = "pong"
	TypeStreamState       = "stream_state"
	TypePublisherLayers   = "publisher_layers"
	TypeActiveSpeakers    = "active_speakers"
	TypeAck               = "ack"                // a moderation, chat or hand request was carried out
	TypeGrantsChanged     = "grants_changed"     // an admin or a moderator changed your grants
	TypeMutedByModerator  = "muted_by_moderator" // a moderator muted or unmuted one of your tracks
)

// Join is the data of TypeJoin.
type Join struct {
	Room    string `json:"room"`
	Name    string `json:"name,omitempty"` // may be left out when the token carries a name
	Version int    `json:"version,omitempty"`
	Token   string `json:"token,omitempty"` // a join token (JWT); may be left out only in dev mode
	// Region (cluster mode) asks that a room this join creates be placed on a node of that region.
	Region string `json:"region,omitempty"`
}

// Grants are what a participant may do (see PROTOCOL.md "Tokens, roles and grants").
type Grants struct {
	Publish   []string `json:"publish,omitempty"` // sources: camera, microphone, screen, screen_audio
	Subscribe bool     `json:"subscribe,omitempty"`
	Chat      bool     `json:"chat,omitempty"`
	Moderate  bool     `json:"moderate,omitempty"`
	Admin     bool     `json:"admin,omitempty"`
	Record    bool     `json:"record,omitempty"` // may start and stop recording the call
}

// RoomPolicy is how a room admits participants. Lobby is whether joiners without the moderate grant
// wait to be admitted (always on in a consultation unless its policy opts out).
type RoomPolicy struct {
	Mode            string `json:"mode,omitempty"`
	Lobby           bool   `json:"lobby,omitempty"`
	MaxParticipants int    `json:"maxParticipants,omitempty"`
	Locked          bool   `json:"locked,omitempty"`
}

// RemoveParticipant is the data of TypeRemoveParticipant.
type RemoveParticipant struct {
	ParticipantID string `json:"participantId"`
	Ban           bool   `json:"ban,omitempty"` // also refuse the participant's identity later joins to the room
}

// GrantsChanged is the data of TypeGrantsChanged.
type GrantsChanged struct {
	Grants      Grants   `json:"grants"`
	Unpublished []string `json:"unpublished"` // your tracks the server unpublished because their source is no longer granted
}

// TrackSource names the source of one m-line of a publish offer and, for simulcast, its layers.
type TrackSource struct {
	Mid    string  `json:"mid"`
	Source string  `json:"source"`
	Layers []Layer `json:"layers,omitempty"`
}

// Layer declares one simulcast encoding a publisher sends, lowest first.
type Layer struct {
	RID        string `json:"rid"`
	Width      int    `json:"width,omitempty"`
	Height     int    `json:"height,omitempty"`
	MaxBitrate int    `json:"maxBitrate,omitempty"` // bits per second
}

// TrackSettings is the data of TypeTrackSettings: how a subscriber wants one track it receives.
type TrackSettings struct {
	TrackID  string `json:"trackId"`
	Paused   bool   `json:"paused,omitempty"`
	MaxLayer string `json:"maxLayer,omitempty"` // a rid; empty: no cap
	Width    int    `json:"width,omitempty"`    // render size in device pixels; 0: unknown
	Height   int    `json:"height,omitempty"`
	Priority string `json:"priority,omitempty"` // "high", "normal" (default) or "low"
}

// StreamState is the data of TypeStreamState: what the server forwards of one subscribed video track.
type StreamState struct {
	TrackID string `json:"trackId"`
	State   string `json:"state"`            // "active" or "paused"
	Reason  string `json:"reason,omitempty"` // when paused: "bandwidth" or "subscriber"
	Layer   string `json:"layer,omitempty"`  // when active: the rid forwarded ("" without simulcast)
	// Limit, when active below the best layer asked for: "bandwidth" (the subscriber's downlink) or
	// "publisher" (the sender does not send the layer allotted).
	Limit string `json:"limit,omitempty"`
}

// Stream states and pause reasons.
const (
	StreamActive          = "active"
	StreamPaused          = "paused"
	PausedBandwidth       = "bandwidth"
	PausedBySubscriber    = "subscriber"
	PriorityHigh          = "high"
	PriorityNormal        = "normal"
	PriorityLow           = "low"
	maxLayersPerTrack     = 4
	maxRIDLength          = 16
	maxRenderSizeInPixels = 16384
)

// LayerState says whether the publisher should send one of its layers.
type LayerState struct {
	RID    string `json:"rid"`
	Active bool   `json:"active"`
}

// PublisherLayers is the data of TypePublisherLayers (dynacast): which layers of one of your tracks
// anyone receives. Set the encoding's active flag accordingly.
type PublisherLayers struct {
	TrackID string       `json:"trackId"`
	Layers  []LayerState `json:"layers"`
}

// Speaker is one participant currently speaking; Level is 0 (silence) to 1 (loudest).
type Speaker struct {
	ParticipantID string  `json:"participantId"`
	Level         float64 `json:"level"`
}

// ActiveSpeakers is the data of TypeActiveSpeakers: who speaks now, loudest first (empty: nobody).
type ActiveSpeakers struct {
	Speakers []Speaker `json:"speakers"`
}

// PublishOffer is the data of TypePublishOffer.
type PublishOffer struct {
	SDP    string        `json:"sdp"`
	Tracks []TrackSource `json:"tracks,omitempty"`
}

// SDP is the data of TypeSubscribeAnswer.
type SDP struct {
	SDP string `json:"sdp"`
}

// ICECandidateInit mirrors the browser's RTCIceCandidateInit.
type ICECandidateInit struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// ICECandidate is the data of TypeICECandidate, both ways.
type ICECandidate struct {
	Target    string            `json:"target"`
	Candidate *ICECandidateInit `json:"candidate"`
}

// Mute is the data of TypeMute.
type Mute struct {
	TrackID string `json:"trackId"`
	Muted   bool   `json:"muted"`
}

// TrackRef is the data of TypeUnpublish.
type TrackRef struct {
	TrackID string `json:"trackId"`
}

// Participant describes a room member.
type Participant struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Identity string `json:"identity,omitempty"` // from the join token; stable across joins
	Role     string `json:"role,omitempty"`     // host, presenter, attendee
}

// Track describes a published track.
type Track struct {
	ID            string  `json:"id"`
	ParticipantID string  `json:"participantId"`
	Kind          string  `json:"kind"`
	Source        string  `json:"source"`
	Muted         bool    `json:"muted"`
	Codec         string  `json:"codec,omitempty"`
	Simulcast     bool    `json:"simulcast"`
	Layers        []Layer `json:"layers,omitempty"` // simulcast layers, lowest first
}

// ICEServer mirrors the browser's RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Joined is the data of TypeJoined.
type Joined struct {
	Protocol      int           `json:"protocol"`
	ParticipantID string        `json:"participantId"`
	Room          string        `json:"room"`
	Participants  []Participant `json:"participants"`
	Tracks        []Track       `json:"tracks"`
	ICEServers    []ICEServer   `json:"iceServers"`
	Identity      string        `json:"identity"`
	Role          string        `json:"role"`
	Grants        Grants        `json:"grants"`
	Policy        RoomPolicy    `json:"policy"`
	RoomState     RoomState     `json:"roomState"`
}

// AssignedTrack pairs a publish m-line with the server's track id.
type AssignedTrack struct {
	Mid     string `json:"mid"`
	TrackID string `json:"trackId"`
}

// PublishAnswer is the data of TypePublishAnswer.
type PublishAnswer struct {
	SDP    string          `json:"sdp"`
	Tracks []AssignedTrack `json:"tracks"`
}

// SubscribeOffer is the data of TypeSubscribeOffer.
type SubscribeOffer struct {
	SDP    string            `json:"sdp"`
	Tracks map[string]string `json:"tracks"` // mid → track id
}

// ParticipantJoined is the data of TypeParticipantJoined.
type ParticipantJoined struct {
	Participant Participant `json:"participant"`
}

// ParticipantLeft is the data of TypeParticipantLeft.
type ParticipantLeft struct {
	ParticipantID string `json:"participantId"`
}

// TrackEvent is the data of TypeTrackPublished, TypeTrackUnpublished and TypeTrackMuted.
type TrackEvent struct {
	Track Track `json:"track"`
}

// Error is the data of TypeError.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Error codes (PROTOCOL.md lists what each means and whether the session survives it).
const (
	CodeBadJSON            = "bad_json"
	CodeUnknownType        = "unknown_type"
	CodeBadRequest         = "bad_request"
	CodeMessageTooLarge    = "message_too_large"
	CodeUnsupportedVersion = "unsupported_version"
	CodeNotJoined          = "not_joined"
	CodeAlreadyJoined      = "already_joined"
	CodeInvalidSDP         = "invalid_sdp"
	CodeNegotiationFailed  = "negotiation_failed"
	CodeUnknownTrack       = "unknown_track"
	CodeMediaFailed        = "media_failed"
	CodeInternal           = "internal"

	// Access (the token codes are also package auth's and the admin API's).
	CodeTokenMissing       = "token_missing"
	CodeTokenMalformed     = "token_malformed"
	CodeTokenInvalid       = "token_invalid"
	CodeTokenExpired       = "token_expired"
	CodeTokenNotYetValid   = "token_not_yet_valid"
	CodeTokenWrongRoom     = "token_wrong_room"
	CodeInsufficientGrant  = "insufficient_grant"
	CodeBanned             = "banned"
	CodeRoomFull           = "room_full"
	CodeRoomLocked         = "room_locked"
	CodeRemoved            = "removed"
	CodeRoomClosed         = "room_closed"
	CodeUnknownParticipant = "unknown_participant"
	// Cluster mode.
	CodeRoomMoved          = "room_moved"          // the room's node stopped or handed it over: reconnect
	CodeClusterUnavailable = "cluster_unavailable" // Redis cannot be reached, so a new room cannot be placed
)

// Errorf builds a protocol error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Encode builds one message ready to send.
func Encode(typ, id string, data any) ([]byte, error) {
	env := Envelope{Type: typ, ID: id}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", typ, err)
		}
		env.Data = raw
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	return b, nil
}

// DecodeEnvelope parses a frame's envelope. The error is a *Error with the code to send back.
func DecodeEnvelope(frame []byte) (Envelope, *Error) {
	var env Envelope
	if len(frame) > MaxMessageSize {
		return env, Errorf(CodeMessageTooLarge, "message is %d bytes, the limit is %d", len(frame), MaxMessageSize)
	}
	if err := json.Unmarshal(frame, &env); err != nil {
		return env, Errorf(CodeBadJSON, "not a JSON message envelope: %v", err)
	}
	if env.Type == "" {
		return env, Errorf(CodeBadRequest, "message has no type")
	}
	if len(env.ID) > 64 {
		return env, Errorf(CodeBadRequest, "id is longer than 64 characters")
	}
	return env, nil
}

// DecodeData parses a message's data into v and validates it when v has a Validate method.
func DecodeData(env Envelope, v any) *Error {
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return Errorf(CodeBadRequest, "%s needs data", env.Type)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return Errorf(CodeBadRequest, "%s data: %v", env.Type, err)
	}
	if val, ok := v.(interface{ Validate() error }); ok {
		if err := val.Validate(); err != nil {
			return Errorf(CodeBadRequest, "%s: %v", env.Type, err)
		}
	}
	return nil
}

// MaxTokenLength bounds join.token.
const MaxTokenLength = 8 << 10

// Validate checks a join request's fields. The name may be left out when a token is given (the token's
// name is used; the server says when neither names the participant).
func (j *Join) Validate() error {
	j.Name = strings.TrimSpace(j.Name)
	if err := ValidateRoomName(j.Room); err != nil {
		return err
	}
	if (j.Name == "" && j.Token == "") || len([]rune(j.Name)) > 64 {
		return fmt.Errorf("name must be 1 to 64 characters")
	}
	if len(j.Token) > MaxTokenLength {
		return fmt.Errorf("token is longer than %d bytes", MaxTokenLength)
	}
	if j.Version < 0 {
		return fmt.Errorf("version must be positive")
	}
	if len(j.Region) > 64 || strings.ContainsFunc(j.Region, func(r rune) bool { return r < ' ' || r > '~' }) {
		return fmt.Errorf("region must be at most 64 printable ASCII characters")
	}
	return nil
}

// ValidateRoomName checks a room name: 1 to 64 characters of A-Z a-z 0-9 _ -. Tokens and the admin API
// use the same rule.
func ValidateRoomName(room string) error {
	if room == "" || len(room) > 64 {
		return fmt.Errorf("room must be 1 to 64 characters")
	}
	for _, c := range room {
		ok := c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			return fmt.Errorf("room %q may only contain letters, digits, '-' and '_'", room)
		}
	}
	return nil
}

// Validate checks a publish offer.
func (p *PublishOffer) Validate() error {
	if p.SDP == "" {
		return fmt.Errorf("sdp is missing")
	}
	if len(p.Tracks) > 16 {
		return fmt.Errorf("at most 16 tracks per offer")
	}
	for _, t := range p.Tracks {
		if t.Mid == "" {
			return fmt.Errorf("a track has no mid")
		}
		switch t.Source {
		case "camera", "microphone", "screen", "screen_audio":
		default:
			return fmt.Errorf("track %s: source %q is not camera, microphone, screen or screen_audio", t.Mid, t.Source)
		}
		if err := validLayers(t.Layers); err != nil {
			return fmt.Errorf("track %s: %w", t.Mid, err)
		}
	}
	return nil
}

func validLayers(layers []Layer) error {
	if len(layers) > maxLayersPerTrack {
		return fmt.Errorf("at most %d layers", maxLayersPerTrack)
	}
	seen := make(map[string]bool, len(layers))
	for _, l := range layers {
		if l.RID == "" || len(l.RID) > maxRIDLength {
			return fmt.Errorf("layer rid must be 1 to %d characters", maxRIDLength)
		}
		if seen[l.RID] {
			return fmt.Errorf("layer rid %q appears twice", l.RID)
		}
		seen[l.RID] = true
		if l.Width < 0 || l.Height < 0 || l.MaxBitrate < 0 || l.Width > maxRenderSizeInPixels || l.Height > maxRenderSizeInPixels {
			return fmt.Errorf("layer %s: width, height and maxBitrate must be positive and sizes at most %d", l.RID, maxRenderSizeInPixels)
		}
	}
	return nil
}

// Validate checks a subscriber's track settings.
func (t *TrackSettings) Validate() error {
	if t.TrackID == "" {
		return fmt.Errorf("trackId is missing")
	}
	if len(t.MaxLayer) > maxRIDLength {
		return fmt.Errorf("maxLayer is longer than %d characters", maxRIDLength)
	}
	if t.Width < 0 || t.Height < 0 || t.Width > maxRenderSizeInPixels || t.Height > maxRenderSizeInPixels {
		return fmt.Errorf("width and height must be 0 to %d", maxRenderSizeInPixels)
	}
	switch t.Priority {
	case "", PriorityHigh, PriorityNormal, PriorityLow:
	default:
		return fmt.Errorf("priority %q is not high, normal or low", t.Priority)
	}
	return nil
}

// Validate checks an SDP message.
func (s *SDP) Validate() error {
	if s.SDP == "" {
		return fmt.Errorf("sdp is missing")
	}
	return nil
}

// Validate checks a trickled candidate.
func (c *ICECandidate) Validate() error {
	if c.Target != "publish" && c.Target != "subscribe" {
		return fmt.Errorf("target must be \"publish\" or \"subscribe\", not %q", c.Target)
	}
	if c.Candidate == nil {
		return fmt.Errorf("candidate is missing")
	}
	return nil
}

// Validate checks a mute request.
func (m *Mute) Validate() error {
	if m.TrackID == "" {
		return fmt.Errorf("trackId is missing")
	}
	return nil
}

// Validate checks a track reference.
func (t *TrackRef) Validate() error {
	if t.TrackID == "" {
		return fmt.Errorf("trackId is missing")
	}
	return nil
}

// Validate checks a removal request.
func (r *RemoveParticipant) Validate() error {
	if r.ParticipantID == "" {
		return fmt.Errorf("participantId is missing")
	}
	return nil
}
