package protocol

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Messages of the room's shared state and of running a room (consultation, classroom, conference):
// chat, raised hands, spotlight, settings, the lobby, and the host's controls. PROTOCOL.md describes
// each; all came within version 1 as added messages.

// Message types, client to server.
const (
	TypeChat         = "chat" // both ways: a participant sends text, everyone admitted gets the message
	TypeRaiseHand    = "raise_hand"
	TypeLowerHand    = "lower_hand"
	TypeSetGrants    = "set_grants"
	TypeMuteAll      = "mute_all"
	TypeSpotlight    = "spotlight"
	TypeRoomSettings = "room_settings"
	TypeAdmit        = "admit"
	TypeDecline      = "decline"
	TypeEndRoom      = "end_room"
)

// Message types, server to client.
const (
	TypeLobby       = "lobby"        // reply to join: wait until a moderator admits you
	TypeLobbyUpdate = "lobby_update" // to moderators: who waits in the lobby
	TypeRoomState   = "room_state"   // the room's shared state, whole, on every change
)

// Error codes of the lobby and the chat.
const (
	CodeInLobby       = "in_lobby"       // the message needs you admitted; only leave and ping work in the lobby
	CodeLobbyDeclined = "lobby_declined" // a moderator did not let you in; the socket closes
	CodeRateLimited   = "rate_limited"   // too many messages of one kind (chat) too fast; the session goes on
	CodeLobbyFull     = "lobby_full"     // too many people wait already
	CodeChatDisabled  = "chat_disabled"  // the room's chat is off; only moderators may send
)

// Limits of the new messages.
const (
	MaxChatLength    = 1000 // characters of one chat message, after trimming
	MaxLobbyWaiters  = 50   // people waiting in one room's lobby
	maxParticipantID = 64
)

// RoomState is the room's shared state every admitted member sees: in `joined` and, whole, in every
// `room_state`.
type RoomState struct {
	ChatEnabled bool      `json:"chatEnabled"` // false: only moderators may chat
	Locked      bool      `json:"locked"`      // only moderators may join
	Spotlight   string    `json:"spotlight"`   // participant every client shows large; "" for nobody
	Hands       []string  `json:"hands"`       // raised hands, oldest first (participant ids)
	Mode        string    `json:"mode"`        // the room's policy mode: "", consultation, classroom, conference
	Recording   Recording `json:"recording"`   // whether the call is being recorded (recording.go)
}

// ChatSend is the data of TypeChat from a client.
type ChatSend struct {
	Text string `json:"text"`
}

// ChatMessage is the data of TypeChat from the server.
type ChatMessage struct {
	From string `json:"from"` // participant id
	Name string `json:"name"`
	Text string `json:"text"`
	At   string `json:"at"` // RFC 3339 with milliseconds, UTC
}

// RaiseHand is the data of TypeRaiseHand; Raised false lowers your own hand.
type RaiseHand struct {
	Raised *bool `json:"raised"`
}

// ParticipantRef names a participant: the data of TypeLowerHand, TypeAdmit and TypeDecline.
type ParticipantRef struct {
	ParticipantID string `json:"participantId"`
}

// SetGrants is the data of TypeSetGrants: the sources the participant may publish from now on.
type SetGrants struct {
	ParticipantID string   `json:"participantId"`
	Publish       []string `json:"publish"` // [] revokes every source
}

// MuteAll is the data of TypeMuteAll: the kinds of track to mute ("audio", "video"); empty: audio.
type MuteAll struct {
	Kinds []string `json:"kinds,omitempty"`
}

// Spotlight is the data of TypeSpotlight; an empty ParticipantID clears the spotlight.
type Spotlight struct {
	ParticipantID *string `json:"participantId"`
}

// RoomSettings is the data of TypeRoomSettings; a field left out stays as it is.
type RoomSettings struct {
	ChatEnabled *bool `json:"chatEnabled,omitempty"`
	Locked      *bool `json:"locked,omitempty"`
}

// Lobby is the data of TypeLobby.
type Lobby struct {
	Room    string `json:"room"`
	Message string `json:"message"`
}

// Waiter is one participant waiting in a lobby.
type Waiter struct {
	ParticipantID string `json:"participantId"`
	Name          string `json:"name"`
	Identity      string `json:"identity"`
	Since         string `json:"since"` // RFC 3339, UTC
}

// LobbyUpdate is the data of TypeLobbyUpdate: everyone waiting, longest first.
type LobbyUpdate struct {
	Waiting []Waiter `json:"waiting"`
}

// Validate trims the text and checks its length.
func (c *ChatSend) Validate() error {
	c.Text = strings.TrimSpace(c.Text)
	if n := utf8.RuneCountInString(c.Text); n == 0 || n > MaxChatLength {
		return fmt.Errorf("text must be 1 to %d characters after trimming, not %d", MaxChatLength, n)
	}
	return nil
}

// Validate checks that raised is given.
func (r *RaiseHand) Validate() error {
	if r.Raised == nil {
		return fmt.Errorf("raised is missing (true or false)")
	}
	return nil
}

// Validate checks the participant id.
func (p *ParticipantRef) Validate() error { return validParticipantID(p.ParticipantID) }

func validParticipantID(id string) error {
	if id == "" {
		return fmt.Errorf("participantId is missing")
	}
	if len(id) > maxParticipantID {
		return fmt.Errorf("participantId is longer than %d characters", maxParticipantID)
	}
	return nil
}

// Validate checks the participant and the sources.
func (g *SetGrants) Validate() error {
	if err := validParticipantID(g.ParticipantID); err != nil {
		return err
	}
	if g.Publish == nil {
		return fmt.Errorf("publish is missing (send [] to revoke every source)")
	}
	seen := make(map[string]bool, len(g.Publish))
	for _, s := range g.Publish {
		switch s {
		case "camera", "microphone", "screen", "screen_audio":
		default:
			return fmt.Errorf("publish: %q is not camera, microphone, screen or screen_audio", s)
		}
		if seen[s] {
			return fmt.Errorf("publish: %q appears twice", s)
		}
		seen[s] = true
	}
	return nil
}

// Validate checks the kinds and fills in the default (audio).
func (m *MuteAll) Validate() error {
	if len(m.Kinds) > 2 {
		return fmt.Errorf("kinds: at most audio and video")
	}
	for _, k := range m.Kinds {
		if k != "audio" && k != "video" {
			return fmt.Errorf("kinds: %q is not audio or video", k)
		}
	}
	if len(m.Kinds) == 0 {
		m.Kinds = []string{"audio"}
	}
	return nil
}

// Validate checks that participantId is given (empty clears the spotlight).
func (s *Spotlight) Validate() error {
	if s.ParticipantID == nil {
		return fmt.Errorf(`participantId is missing (send "" to clear the spotlight)`)
	}
	if len(*s.ParticipantID) > maxParticipantID {
		return fmt.Errorf("participantId is longer than %d characters", maxParticipantID)
	}
	return nil
}

// Validate checks that the message changes something.
func (r *RoomSettings) Validate() error {
	if r.ChatEnabled == nil && r.Locked == nil {
		return fmt.Errorf("give chatEnabled, locked or both")
	}
	return nil
}
