package node_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// Helpers of the tests of running a room: lobby, classroom, chat, links.

// roomPolicy returns a claims edit that carries policy (the first joiner's policy becomes the room's).
func roomPolicy(policy auth.Policy) func(*auth.Claims) {
	return func(c *auth.Claims) { c.Policy = &policy }
}

// joinWaiting dials with token and joins room, returning as soon as the server answers: the admission
// says whether the peer waits in the lobby.
func joinWaiting(t *testing.T, n *node.Node, room, name, token string) (*peer, *client.Admission) {
	t.Helper()
	p := dialToken(t, n, name, token)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := p.c.JoinRoom(ctx, room, name)
	if err != nil {
		t.Fatalf("%s join: %v", name, err)
	}
	return p, a
}

// ctx5 is a context for one request.
func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitRoomState reads p's events until a room_state satisfies match.
func (p *peer) waitRoomState(match func(protocol.RoomState) bool) protocol.RoomState {
	p.t.Helper()
	var st protocol.RoomState
	p.waitEvent(5*time.Second, protocol.TypeRoomState, func(env protocol.Envelope) bool {
		st = protocol.RoomState{}
		return json.Unmarshal(env.Data, &st) == nil && match(st)
	})
	return st
}

// waitLobby reads p's events until a lobby_update satisfies match.
func (p *peer) waitLobby(match func([]protocol.Waiter) bool) []protocol.Waiter {
	p.t.Helper()
	var u protocol.LobbyUpdate
	p.waitEvent(5*time.Second, protocol.TypeLobbyUpdate, func(env protocol.Envelope) bool {
		u = protocol.LobbyUpdate{}
		return json.Unmarshal(env.Data, &u) == nil && match(u.Waiting)
	})
	return u.Waiting
}

// waiting returns the id of identity among the waiters, or "".
func waiting(ws []protocol.Waiter, identity string) string {
	for _, w := range ws {
		if w.Identity == identity {
			return w.ParticipantID
		}
	}
	return ""
}

// hands is a room_state match: the raised hands are exactly ids, in order.
func hands(ids ...string) func(protocol.RoomState) bool {
	return func(st protocol.RoomState) bool { return slices.Equal(st.Hands, ids) }
}

// quiet fails if p gets any event within d.
func (p *peer) quiet(d time.Duration) {
	p.t.Helper()
	select {
	case env := <-p.c.Events():
		p.t.Fatalf("%s: unexpected %s %s", p.name, env.Type, env.Data)
	case <-time.After(d):
	}
}

// publishAudio publishes a synthetic microphone until the test ends and returns the server's track id
// (or the refusal).
func (p *peer) publishAudio() (string, error) {
	p.t.Helper()
	audio, err := media.NewOpus("audio", p.name)
	if err != nil {
		p.t.Fatal(err)
	}
	assigned, err := p.c.Publish(ctx5(p.t), client.LocalTrack{Track: audio.Track(), Source: "microphone"})
	if err != nil {
		return "", err
	}
	runCtx, stop := context.WithCancel(context.Background())
	p.t.Cleanup(stop)
	go func() { _ = audio.Run(runCtx) }()
	return assigned[0].TrackID, nil
}

// trackEvent is a match for track_* events about one track.
func trackEvent(id string) func(protocol.Envelope) bool {
	return func(env protocol.Envelope) bool {
		var ev protocol.TrackEvent
		return json.Unmarshal(env.Data, &ev) == nil && ev.Track.ID == id
	}
}
