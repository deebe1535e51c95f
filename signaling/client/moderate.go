package client

import (
	"context"

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
