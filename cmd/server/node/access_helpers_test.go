package node_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// testKey is the API key of the keyed test nodes.
var testKey = auth.Key{ID: "APItest", Secret: strings.Repeat("k", 40)}

// startKeyedNode runs a node that requires tokens signed with testKey; edit adjusts its config further.
func startKeyedNode(t *testing.T, edit func(*node.Config)) *node.Node {
	return nodetest.Start(t, func(cfg *node.Config) {
		cfg.Auth.Keys = []auth.Key{testKey}
		if edit != nil {
			edit(cfg)
		}
	})
}

// mint signs a token with the node's key; edit adjusts the claims.
func mint(t *testing.T, n *node.Node, room, identity string, role auth.Role, edit func(*auth.Claims)) string {
	t.Helper()
	c := auth.Claims{Room: room, Role: role, Name: identity, RegisteredClaims: jwt.RegisteredClaims{Subject: identity}}
	if edit != nil {
		edit(&c)
	}
	tok, err := n.Keys().Mint(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// adminClient calls the node's admin API with an admin token.
func adminClient(t *testing.T, n *node.Node) *admin.Client {
	t.Helper()
	tok := mint(t, n, "", "ops", auth.RoleHost, func(c *auth.Claims) { c.Grants = &auth.Grants{Admin: true} })
	return &admin.Client{BaseURL: n.URL(), Token: tok}
}

// dialToken connects a counting peer that will join with token; it closes when the test ends.
func dialToken(t *testing.T, n *node.Node, name, token string) *peer {
	t.Helper()
	p := &peer{t: t, name: name, received: make(map[string]*trackStats)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, wsURL(n), client.Options{OnTrack: p.count, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	p.c = c
	t.Cleanup(func() { p.close() })
	return p
}

// joinToken dials and joins room with token; the join's refusal is returned, not fatal.
func joinToken(t *testing.T, n *node.Node, room, name, token string) (*peer, protocol.Joined, error) {
	t.Helper()
	p := dialToken(t, n, name, token)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	joined, err := p.c.Join(ctx, room, name)
	return p, joined, err
}

// mustJoinToken is joinToken that fails the test on a refusal.
func mustJoinToken(t *testing.T, n *node.Node, room, name, token string) (*peer, protocol.Joined) {
	t.Helper()
	p, joined, err := joinToken(t, n, room, name, token)
	if err != nil {
		t.Fatalf("%s join: %v", name, err)
	}
	return p, joined
}

// errorCode is the protocol error code of err, or "".
func errorCode(err error) string {
	if perr, ok := err.(*protocol.Error); ok {
		return perr.Code
	}
	return ""
}

// noEvent fails if p gets an event of type typ (matching match) within d.
func (p *peer) noEvent(d time.Duration, typ string, match func(protocol.Envelope) bool) {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case env := <-p.c.Events():
			if env.Type == typ && (match == nil || match(env)) {
				p.t.Fatalf("%s: unexpected %s %s", p.name, typ, env.Data)
			}
		case <-deadline:
			return
		}
	}
}

// closedWith waits for an error event with code and then for p's socket to end. Other errors are skipped:
// the client may fail to apply a last subscribe offer while the server tears its connections down.
func (p *peer) closedWith(code string) {
	p.t.Helper()
	p.waitEvent(5*time.Second, protocol.TypeError, func(env protocol.Envelope) bool {
		var e protocol.Error
		_ = json.Unmarshal(env.Data, &e)
		return e.Code == code
	})
	select {
	case <-p.c.Done():
	case <-time.After(5 * time.Second):
		p.t.Fatalf("%s: socket still open after %s", p.name, code)
	}
}

func decodeData[T any](t *testing.T, env protocol.Envelope) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(env.Data, &v); err != nil {
		t.Fatalf("%s: %v", env.Type, err)
	}
	return v
}
