package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// Admission is a join that may wait in the room's lobby: the server answers `join` with `lobby`, and
// later with `joined` (once a moderator admits the client) or an error (lobby_declined, room_closed,
// removed), all carrying the join's id.
type Admission struct {
	c       *Client
	id      string
	replies chan protocol.Envelope
	// Lobby is the server's lobby message when the client waits; nil when it joined at once.
	Lobby *protocol.Lobby
	// Joined is the server's `joined` once the client is in.
	Joined *protocol.Joined
}

// JoinRoom joins a room with Options.Token like Join, but returns as soon as the server answers: with
// Joined set, or with Lobby set while the client waits to be admitted (then call Wait). A refusal is a
// *protocol.Error.
func (c *Client) JoinRoom(ctx context.Context, room, name string) (*Admission, error) {
	a := &Admission{c: c, replies: make(chan protocol.Envelope, 2)}
	c.mu.Lock()
	c.nextID++
	a.id = strconv.Itoa(c.nextID)
	// Both replies land in the buffer; the joined one is recorded on the reader goroutine before it
	// handles what follows (the room's tracks), as Join does.
	c.waiting[a.id] = pendingReply{ch: a.replies, onReply: func(env protocol.Envelope) {
		if env.Type == protocol.TypeJoined {
			c.recordJoined(env)
		}
	}}
	c.mu.Unlock()
	msg, err := protocol.Encode(protocol.TypeJoin, a.id, protocol.Join{Room: room, Name: name, Version: protocol.Version, Token: c.token})
	if err == nil {
		err = c.SendRaw(msg)
	}
	if err != nil {
		a.forget()
		return nil, err
	}
	env, err := a.next(ctx)
	if err != nil {
		a.forget()
		return nil, err
	}
	if env.Type == protocol.TypeLobby {
		var l protocol.Lobby
		if err := json.Unmarshal(env.Data, &l); err != nil {
			a.forget()
			return nil, fmt.Errorf("client: lobby: %w", err)
		}
		a.Lobby = &l
		return a, nil
	}
	a.forget()
	return a, a.setJoined(env)
}

// Wait waits in the lobby until the client is admitted and returns its `joined`; a declined, removed or
// closed wait returns the server's *protocol.Error.
func (a *Admission) Wait(ctx context.Context) (protocol.Joined, error) {
	if a.Joined != nil {
		return *a.Joined, nil
	}
	defer a.forget()
	for {
		env, err := a.next(ctx)
		if err != nil {
			return protocol.Joined{}, err
		}
		if env.Type == protocol.TypeJoined {
			if err := a.setJoined(env); err != nil {
				return protocol.Joined{}, err
			}
			return *a.Joined, nil
		}
	}
}

// next returns the next reply to the join; an error reply is a *protocol.Error.
func (a *Admission) next(ctx context.Context) (protocol.Envelope, error) {
	var env protocol.Envelope
	select {
	case env = <-a.replies:
	case <-a.c.done:
		// The server sends why it ends a wait just before closing: a reply read before the close wins.
		select {
		case env = <-a.replies:
		default:
			return env, fmt.Errorf("client: join: socket closed: %w", a.c.closedErr())
		}
	case <-ctx.Done():
		return env, fmt.Errorf("client: join: %w", ctx.Err())
	}
	if env.Type == protocol.TypeError {
		var perr protocol.Error
		_ = json.Unmarshal(env.Data, &perr)
		return env, &perr
	}
	return env, nil
}

func (a *Admission) setJoined(env protocol.Envelope) error {
	var j protocol.Joined
	if err := json.Unmarshal(env.Data, &j); err != nil {
		return fmt.Errorf("client: joined: %w", err)
	}
	a.Joined = &j
	return nil
}

func (a *Admission) forget() {
	a.c.mu.Lock()
	delete(a.c.waiting, a.id)
	a.c.mu.Unlock()
}

// recordJoined keeps what a `joined` says the client needs later: its participant id and the room's
// tracks.
func (c *Client) recordJoined(env protocol.Envelope) {
	var j protocol.Joined
	if json.Unmarshal(env.Data, &j) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.participant = j.ParticipantID
	for _, t := range j.Tracks {
		c.tracks[t.ID] = t
	}
}
