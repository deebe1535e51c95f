package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// RemoveParticipant asks the server to remove a participant of the room (the moderate grant is needed);
// with ban its identity cannot rejoin. It returns once the server has done it.
func (c *Client) RemoveParticipant(ctx context.Context, participantID string, ban bool) error {
	_, err := c.Request(ctx, protocol.TypeRemoveParticipant, protocol.RemoveParticipant{ParticipantID: participantID, Ban: ban})
	return err
}

// MuteParticipant mutes (or unmutes) any track of the room as a moderator: its publisher cannot unmute
// it. It returns once the server has done it.
func (c *Client) MuteParticipant(ctx context.Context, trackID string, muted bool) error {
	_, err := c.Request(ctx, protocol.TypeMuteParticipant, protocol.Mute{TrackID: trackID, Muted: muted})
	return err
}

// SetGrants replaces the sources a participant may publish (nil or empty revokes them all), keeping
// its other grants, as a moderator. The participant gets grants_changed; tracks no longer allowed are
// unpublished.
func (c *Client) SetGrants(ctx context.Context, participantID string, publish []string) error {
	if publish == nil {
		publish = []string{}
	}
	_, err := c.Request(ctx, protocol.TypeSetGrants, protocol.SetGrants{ParticipantID: participantID, Publish: publish})
	return err
}

// MuteAll mutes every track of the given kinds ("audio", "video"; none: audio) that participants
// without the moderate grant publish, as a moderator.
func (c *Client) MuteAll(ctx context.Context, kinds ...string) error {
	_, err := c.Request(ctx, protocol.TypeMuteAll, protocol.MuteAll{Kinds: kinds})
	return err
}

// LowerHand lowers a participant's raised hand, as a moderator.
func (c *Client) LowerHand(ctx context.Context, participantID string) error {
	_, err := c.Request(ctx, protocol.TypeLowerHand, protocol.ParticipantRef{ParticipantID: participantID})
	return err
}

// Spotlight shows a participant large on every client ("" clears the spotlight), as a moderator.
func (c *Client) Spotlight(ctx context.Context, participantID string) error {
	_, err := c.Request(ctx, protocol.TypeSpotlight, protocol.Spotlight{ParticipantID: &participantID})
	return err
}

// RoomSettings turns the room's chat on or off and locks or unlocks it (nil leaves a setting as it is),
// as a moderator.
func (c *Client) RoomSettings(ctx context.Context, chatEnabled, locked *bool) error {
	_, err := c.Request(ctx, protocol.TypeRoomSettings, protocol.RoomSettings{ChatEnabled: chatEnabled, Locked: locked})
	return err
}

// Admit lets a participant waiting in the lobby in, as a moderator.
func (c *Client) Admit(ctx context.Context, participantID string) error {
	_, err := c.Request(ctx, protocol.TypeAdmit, protocol.ParticipantRef{ParticipantID: participantID})
	return err
}

// Decline turns a participant waiting in the lobby away, as a moderator.
func (c *Client) Decline(ctx context.Context, participantID string) error {
	_, err := c.Request(ctx, protocol.TypeDecline, protocol.ParticipantRef{ParticipantID: participantID})
	return err
}

// EndRoom ends the call for everyone in the room and its lobby, this client included, as a moderator.
// The server's ack usually arrives before the socket closes; a closed socket is not an error here.
func (c *Client) EndRoom(ctx context.Context) error {
	_, err := c.Request(ctx, protocol.TypeEndRoom, struct{}{})
	select {
	case <-c.done:
		return nil
	default:
		return err
	}
}

// CreateInvite asks the server for a join link to this client's room for one invitee, as a moderator:
// req's role (attendee, presenter or observer), ttl (nil: a day) and name ("" lets the invitee type one).
func (c *Client) CreateInvite(ctx context.Context, req protocol.CreateInvite) (protocol.Invite, error) {
	env, err := c.Request(ctx, protocol.TypeCreateInvite, req)
	if err != nil {
		return protocol.Invite{}, err
	}
	var inv protocol.Invite
	if err := json.Unmarshal(env.Data, &inv); err != nil {
		return protocol.Invite{}, fmt.Errorf("client: invite: %w", err)
	}
	return inv, nil
}
