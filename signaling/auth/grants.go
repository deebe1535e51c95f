package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Role is what a participant is in a room. It picks the default grants and, for observers, hides the
// participant from the others.
type Role string

// Roles.
const (
	// RoleHost runs the room (clinician, teacher, chair): publishes anything, subscribes, chats, moderates.
	RoleHost Role = "host"
	// RolePresenter publishes anything, subscribes and chats.
	RolePresenter Role = "presenter"
	// RoleAttendee subscribes and chats; what it may publish depends on the room's mode.
	RoleAttendee Role = "attendee"
	// RoleObserver only subscribes and is invisible to the other participants (a supervisor, a recorder).
	RoleObserver Role = "observer"
)

// Roles lists every role, in order of decreasing rights.
var roles = []Role{RoleHost, RolePresenter, RoleAttendee, RoleObserver}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(roles, r) }

// Hidden reports whether participants of this role are left out of the participant list and of the
// join/leave announcements other participants get.
func (r Role) Hidden() bool { return r == RoleObserver }

// ParseRole checks a role name; "" is an attendee (least privilege that still lets someone take part).
func ParseRole(s string) (Role, error) {
	if s == "" {
		return RoleAttendee, nil
	}
	r := Role(s)
	if !r.Valid() {
		return "", fmt.Errorf("role %q is not host, presenter, attendee or observer", s)
	}
	return r, nil
}

// Sources a participant may be granted to publish; the same strings as the protocol's track sources.
const (
	SourceCamera      = "camera"
	SourceMicrophone  = "microphone"
	SourceScreen      = "screen"
	SourceScreenAudio = "screen_audio"
)

var allSources = []string{SourceCamera, SourceMicrophone, SourceScreen, SourceScreenAudio}

// Grants are what a participant may do. The server checks them on every action; a client cannot widen
// them whatever it sends.
type Grants struct {
	// Publish lists the sources the participant may publish: camera, microphone, screen, screen_audio.
	// Granting screen also allows screen_audio (a screen share's sound). Empty: publishes nothing.
	Publish []string `json:"publish,omitempty" yaml:"publish"`
	// Subscribe lets the participant receive the others' media.
	Subscribe bool `json:"subscribe,omitempty" yaml:"subscribe"`
	// Chat lets the participant send chat messages (while the room's chat is on; moderators always may).
	Chat bool `json:"chat,omitempty" yaml:"chat"`
	// Moderate lets the participant run the room: mute others' tracks, remove (and ban) participants,
	// change their publish grants, admit or decline lobby waiters, spotlight, lock, end the room; it joins
	// a locked room and never waits in a lobby.
	Moderate bool `json:"moderate,omitempty" yaml:"moderate"`
	// Admin lets the bearer use the admin HTTP API (for its room only when the token names a room).
	Admin bool `json:"admin,omitempty" yaml:"admin"`
	// Record lets the participant start and stop recording the call (PROTOCOL.md "Recording").
	Record bool `json:"record,omitempty" yaml:"record"`
}

// CanPublish reports whether the grants allow publishing source.
func (g Grants) CanPublish(source string) bool {
	if slices.Contains(g.Publish, source) {
		return true
	}
	return source == SourceScreenAudio && slices.Contains(g.Publish, SourceScreen)
}

// Validate checks the publish sources.
func (g Grants) Validate() error {
	seen := make(map[string]bool, len(g.Publish))
	for _, s := range g.Publish {
		if !slices.Contains(allSources, s) {
			return fmt.Errorf("grants.publish: %q is not camera, microphone, screen or screen_audio", s)
		}
		if seen[s] {
			return fmt.Errorf("grants.publish: %q appears twice", s)
		}
		seen[s] = true
	}
	return nil
}

// String is a compact form for logs: "publish=camera+microphone subscribe chat".
func (g Grants) String() string {
	var parts []string
	if len(g.Publish) > 0 {
		parts = append(parts, "publish="+strings.Join(g.Publish, "+"))
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{g.Subscribe, "subscribe"}, {g.Chat, "chat"}, {g.Moderate, "moderate"}, {g.Admin, "admin"}} {
		if f.on {
			parts = append(parts, f.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// Room modes. A mode sets the attendees' default publish grant and, for a consultation, turns the lobby
// on (see Policy.LobbyOn); clients lay the room out by it.
const (
	ModeConsultation = "consultation"
	ModeClassroom    = "classroom"
	ModeConference   = "conference"
)

// Policy is how a room admits and treats participants. It comes from the room's configuration (config
// file or admin API) or, for any other room, from the first token that carries one, whenever it arrives
// (also after others joined with plain tokens; package signaling, policy.go).
type Policy struct {
	// Mode is consultation, classroom, conference or empty. In a classroom attendees publish nothing by
	// default; in the other modes they publish camera and microphone.
	Mode string `json:"mode,omitempty" yaml:"mode"`
	// Lobby makes joiners without the moderate grant wait until a moderator admits them. A consultation
	// has a lobby even when this is false, unless NoLobby is set.
	Lobby bool `json:"lobby,omitempty" yaml:"lobby"`
	// NoLobby turns off the lobby a consultation otherwise has.
	NoLobby bool `json:"noLobby,omitempty" yaml:"no_lobby"`
	// MaxParticipants caps the participants in the room, observers not counted; 0: no cap.
	MaxParticipants int `json:"maxParticipants,omitempty" yaml:"max_participants"`
	// Locked refuses every new join except a moderator's.
	Locked bool `json:"locked,omitempty" yaml:"locked"`
}

// Validate checks the mode and the cap.
func (p Policy) Validate() error {
	switch p.Mode {
	case "", ModeConsultation, ModeClassroom, ModeConference:
	default:
		return fmt.Errorf("policy.mode %q is not consultation, classroom or conference", p.Mode)
	}
	if p.MaxParticipants < 0 || p.MaxParticipants > 10000 {
		return fmt.Errorf("policy.maxParticipants %d is not 0 (no cap) to 10000", p.MaxParticipants)
	}
	if p.Lobby && p.NoLobby {
		return errors.New("policy: lobby and noLobby contradict each other")
	}
	return nil
}

// LobbyOn reports whether joiners wait in a lobby: when Lobby is set, or in a consultation (a patient
// waits for the clinician to let them in) unless NoLobby is set.
func (p Policy) LobbyOn() bool {
	return p.Lobby || (p.Mode == ModeConsultation && !p.NoLobby)
}

// DefaultGrants returns a role's grants in a room of the given mode.
func DefaultGrants(role Role, mode string) Grants {
	switch role {
	case RoleHost:
		return Grants{Publish: slices.Clone(allSources), Subscribe: true, Chat: true, Moderate: true, Record: true}
	case RolePresenter:
		return Grants{Publish: slices.Clone(allSources), Subscribe: true, Chat: true}
	case RoleAttendee:
		g := Grants{Subscribe: true, Chat: true}
		if mode != ModeClassroom {
			g.Publish = []string{SourceCamera, SourceMicrophone}
		}
		return g
	default: // observers, and anything unknown: least privilege
		return Grants{Subscribe: true}
	}
}

// Effective returns the grants a participant of role gets: explicit grants when given (from its token or
// an admin's update), else the role's defaults in mode. An observer never publishes, whatever it was
// granted: its tracks would reveal it.
func Effective(role Role, explicit *Grants, mode string) Grants {
	g := DefaultGrants(role, mode)
	if explicit != nil {
		g = *explicit
		g.Publish = slices.Clone(explicit.Publish)
	}
	if role.Hidden() {
		g.Publish = nil
	}
	return g
}
