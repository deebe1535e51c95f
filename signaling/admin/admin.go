// Package admin is the admin HTTP API (JSON under /admin/v1/, see PROTOCOL.md "Admin API") and a Go
// client of it, used by the server's CLI sub-commands.
//
// The API sees and manages rooms through the Directory interface, never through a node's internals:
// today *signaling.Server implements it for the rooms of one node; once nodes share a cluster directory
// (Redis, a later issue) that directory implements the same interface and the API works from any node
// unchanged. Every Directory method takes a context for that reason, though one node never blocks.
//
// Locking: the handler holds no mutable state; it is safe for concurrent requests. Directory
// implementations must be safe for concurrent use. The Client is safe for concurrent use.
package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
)

// Directory is what the admin API needs from wherever rooms live.
type Directory interface {
	// CreateRoom creates a room with a policy that lasts until CloseRoom, or replaces the policy of an
	// existing one (created false). Participants already in the room stay.
	CreateRoom(ctx context.Context, name string, policy auth.Policy) (room RoomInfo, created bool, err error)
	// Rooms lists every room: those with participants and those created empty.
	Rooms(ctx context.Context) ([]RoomInfo, error)
	// Room describes one room.
	Room(ctx context.Context, name string) (RoomInfo, error)
	// CloseRoom disconnects everyone in the room and forgets its policy and bans.
	CloseRoom(ctx context.Context, name string) error
	// Participants lists a room's participants, observers included.
	Participants(ctx context.Context, room string) ([]ParticipantInfo, error)
	// RemoveParticipant disconnects every session of identity in room; ban also refuses its later joins.
	RemoveParticipant(ctx context.Context, room, identity string, ban bool) error
	// Unban lets a banned identity join the room again.
	Unban(ctx context.Context, room, identity string) error
	// MuteTracks mutes (or unmutes) a participant's tracks as a moderator: the one named by TrackID, or
	// every track of Source. It returns the ids of the tracks changed.
	MuteTracks(ctx context.Context, room, identity string, req MuteRequest) ([]string, error)
	// UpdateGrants replaces the grants of identity in room, now and for its later joins to the room;
	// tracks whose source is no longer allowed are unpublished.
	UpdateGrants(ctx context.Context, room, identity string, grants auth.Grants) ([]ParticipantInfo, error)
	// SetRecording starts (asking a consultation's patients first) or stops recording the room's call and
	// returns the recording's state: "", "consent" or "recording".
	SetRecording(ctx context.Context, room string, on bool, by string) (string, error)
}

// Errors a Directory returns; the handler maps them to status codes.
var (
	ErrRoomNotFound        = errors.New("room not found")
	ErrParticipantNotFound = errors.New("participant not found")
	ErrTrackNotFound       = errors.New("track not found")
	ErrInvalid             = errors.New("invalid request")
	// ErrRoomElsewhere: the room lives on another node of the cluster (see RoomElsewhereError).
	ErrRoomElsewhere = errors.New("room lives on another node")
)

// RoomElsewhereError says which node a room lives on, so that a change to it can be sent there: the
// handler answers 421 Misdirected Request with the node and its API's base, which Client follows.
type RoomElsewhereError struct {
	Room, Node string
	// BaseURL is the node's HTTP base (from its signalling URL); empty when it has none.
	BaseURL string
}

func (e *RoomElsewhereError) Error() string {
	return fmt.Sprintf("room %q lives on node %s (%s): send changes to that node", e.Room, e.Node, e.BaseURL)
}

func (e *RoomElsewhereError) Unwrap() error { return ErrRoomElsewhere }

// RoomInfo describes a room.
type RoomInfo struct {
	Name   string      `json:"name"`
	Policy auth.Policy `json:"policy"`
	// Managed rooms were created through the API or the config file (or have bans) and stay when empty.
	Managed      bool       `json:"managed"`
	Participants int        `json:"participants"` // observers included
	Waiting      int        `json:"waiting"`      // in the lobby, not yet admitted
	Tracks       int        `json:"tracks"`
	StartedAt    *time.Time `json:"startedAt,omitempty"` // when its first current participant joined
	Bans         []string   `json:"bans,omitempty"`      // banned identities
	// Node (cluster mode) is the id of the node the room lives on, for rooms listed from another node.
	Node string `json:"node,omitempty"`
}

// ParticipantInfo describes one participant (one session).
type ParticipantInfo struct {
	ID       string      `json:"id"`
	Identity string      `json:"identity"`
	Name     string      `json:"name"`
	Role     auth.Role   `json:"role"`
	Grants   auth.Grants `json:"grants"`
	Hidden   bool        `json:"hidden"` // an observer: not shown to the other participants
	JoinedAt time.Time   `json:"joinedAt"`
	Tracks   []TrackInfo `json:"tracks"`
	// Node (cluster mode) is the id of the node holding the participant's WebSocket, for participants
	// of a room listed from another node.
	Node string `json:"node,omitempty"`
}

// TrackInfo describes a published track.
type TrackInfo struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Source    string `json:"source"`
	Muted     bool   `json:"muted"`
	Blocked   bool   `json:"blocked"` // muted by a moderator; its publisher cannot unmute it
	Simulcast bool   `json:"simulcast,omitempty"`
	Codec     string `json:"codec,omitempty"`
	// BitrateBps is what arrives of the track now (all its layers), Layers each layer's share; both
	// measured on the room's node (0 and none for a participant listed from another node).
	BitrateBps int         `json:"bitrateBps"`
	Layers     []LayerRate `json:"layers,omitempty"`
}

// LayerRate is one simulcast layer of a track and its measured bitrate ("" rid without simulcast).
type LayerRate struct {
	RID        string `json:"rid"`
	BitrateBps int    `json:"bitrateBps"`
}

// NodeStatus is one node of the deployment as the status page shows it.
type NodeStatus struct {
	ID           string    `json:"id"`
	Region       string    `json:"region,omitempty"`
	Rooms        int       `json:"rooms"`
	Participants int       `json:"participants"`
	Tracks       int       `json:"tracks"`
	CPU          float64   `json:"cpu"` // share of the node's CPU in use, 0..1
	Draining     bool      `json:"draining"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// MuteRequest names the tracks to mute: TrackID, or every track of Source.
type MuteRequest struct {
	TrackID string `json:"trackId,omitempty"`
	Source  string `json:"source,omitempty"`
	Muted   bool   `json:"muted"`
}

// CreateRoomRequest is the body of POST /admin/v1/rooms.
type CreateRoomRequest struct {
	Name   string      `json:"name"`
	Policy auth.Policy `json:"policy"`
}

// TokenRequest is the body of POST /admin/v1/tokens.
type TokenRequest struct {
	Room     string       `json:"room"`
	Identity string       `json:"identity"`
	Name     string       `json:"name,omitempty"`
	Role     string       `json:"role,omitempty"`   // default attendee
	TTL      string       `json:"ttl,omitempty"`    // Go duration, e.g. "2h"; default 2h, at most 31 days
	Grants   *auth.Grants `json:"grants,omitempty"` // default: the role's
	Policy   *auth.Policy `json:"policy,omitempty"`
}

// TokenResponse is the reply of POST /admin/v1/tokens.
type TokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	JoinURL   string    `json:"joinUrl"`
}

// LinkRequest is the body of POST /admin/v1/rooms/{room}/links: a join link for one person.
type LinkRequest struct {
	Identity   string       `json:"identity"`
	Name       string       `json:"name,omitempty"`
	Role       string       `json:"role,omitempty"`       // default attendee
	TTLSeconds int          `json:"ttlSeconds,omitempty"` // default 2 h, at most 31 days
	Policy     *auth.Policy `json:"policy,omitempty"`     // for a room that has none yet, e.g. {"mode": "consultation"}
}

// LinkResponse is the reply of POST /admin/v1/rooms/{room}/links.
type LinkResponse struct {
	URL       string    `json:"url"` // {base}/#room={room}&token={token}
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Limits of token requests.
const (
	DefaultTokenTTL = 2 * time.Hour
	MaxTokenTTL     = 31 * 24 * time.Hour
)

// ErrorBody is every error reply: {"error": {"code": "...", "message": "..."}}; a room_elsewhere reply
// also names the node and its API's base.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Node    string `json:"node,omitempty"`
		BaseURL string `json:"baseUrl,omitempty"`
	} `json:"error"`
}

// Error codes of the admin API besides the token codes of package auth.
const (
	CodeBadRequest          = "bad_request"
	CodeNotFound            = "not_found"
	CodeRoomNotFound        = "room_not_found"
	CodeParticipantNotFound = "participant_not_found"
	CodeUnknownTrack        = "unknown_track"
	CodeNoKeys              = "no_keys"
	CodeRoomElsewhere       = "room_elsewhere"
	CodeInternal            = "internal"
)
