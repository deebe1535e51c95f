package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// finalCodes are refusals that joining again cannot cure: the client must not retry them.
var finalCodes = []string{
	protocol.CodeRemoved, protocol.CodeBanned, protocol.CodeRoomClosed, protocol.CodeRoomLocked, protocol.CodeRoomFull, protocol.CodeLobbyDeclined,
	protocol.CodeTokenMissing, protocol.CodeTokenMalformed, protocol.CodeTokenInvalid, protocol.CodeTokenExpired,
	protocol.CodeTokenNotYetValid, protocol.CodeTokenWrongRoom, protocol.CodeUnsupportedVersion, protocol.CodeBadRequest,
}

// Retryable reports whether a failed join (or a session that ended with this error) may succeed if
// the client tries again: a lost connection, a node that stopped, a room that moved, a cluster that
// cannot place the room now. Refusals such as banned or token_expired are final.
func Retryable(err error) bool {
	if errors.Is(err, ErrInLobby) {
		return false // a person decides now; joining again would only queue again
	}
	var perr *protocol.Error
	if errors.As(err, &perr) {
		return !slices.Contains(finalCodes, perr.Code)
	}
	return err != nil
}

// Rejoin connects to the first of urls that admits a join to room, trying them in turn with a growing
// pause between rounds (0.25 s doubling to 2 s), until one admits it, a refusal is final, or ctx ends.
// It is what a client does when its session ends underneath it (a node died, the room moved to
// another node): a cluster's nodes all accept any room's joins, so any live one will do. The returned
// client has joined and published nothing; republishing is the caller's (its tracks are its own).
func Rejoin(ctx context.Context, urls []string, opts Options, room, name string) (*Client, protocol.Joined, error) {
	if len(urls) == 0 {
		return nil, protocol.Joined{}, errors.New("client: rejoin: no URL")
	}
	pause := 250 * time.Millisecond
	var last error
	for round := 0; ; round++ {
		for _, url := range urls {
			c, joined, err := tryJoin(ctx, url, opts, room, name)
			if err == nil {
				return c, joined, nil
			}
			if !Retryable(err) {
				return nil, protocol.Joined{}, fmt.Errorf("client: rejoin %s: %w", room, err)
			}
			last = err
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, protocol.Joined{}, fmt.Errorf("client: rejoin %s after %d rounds (last: %v): %w", room, round+1, last, ctx.Err())
		}
		pause = min(2*pause, 2*time.Second)
	}
}

func tryJoin(ctx context.Context, url string, opts Options, room, name string) (*Client, protocol.Joined, error) {
	attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := Dial(attempt, url, opts)
	if err != nil {
		return nil, protocol.Joined{}, err
	}
	joined, err := c.Join(attempt, room, name)
	if err != nil {
		_ = c.Close()
		return nil, protocol.Joined{}, err
	}
	return c, joined, nil
}
