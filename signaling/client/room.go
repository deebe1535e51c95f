package client

import (
	"context"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// Chat sends a chat message to everyone in the room (this client gets it back as a `chat` event too).
// It returns once the server has sent it; chat_disabled or insufficient_grant come back as a
// *protocol.Error.
func (c *Client) Chat(ctx context.Context, text string) error {
	_, err := c.Request(ctx, protocol.TypeChat, protocol.ChatSend{Text: text})
	return err
}

// RaiseHand raises (or lowers) this participant's hand.
func (c *Client) RaiseHand(ctx context.Context, raised bool) error {
	_, err := c.Request(ctx, protocol.TypeRaiseHand, protocol.RaiseHand{Raised: &raised})
	return err
}
