package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/signaling/client"
)

// TestCLI: token mints a join token and link that a client joins with; rooms, participants and kick call
// the admin API with a token minted from the key in the environment; without the key the node says 401.
func TestCLI(t *testing.T) {
	secret := strings.Repeat("c", 40)
	t.Setenv(envAPIKey, "APIcli")
	t.Setenv(envAPISecret, secret)
	k, _, err := envKey()
	if err != nil {
		t.Fatal(err)
	}
	n := nodetest.Start(t, func(cfg *node.Config) { cfg.Auth.Keys = append(cfg.Auth.Keys, k) })
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(append(args, "-url", n.URL()), &out, &errOut)
		return out.String(), err
	}

	out, err := cli("token", "--room", "R", "--identity", "dr-ada", "--name", "Dr Ada", "--role", "host", "--ttl", "2h")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], n.URL()+"/?") {
		t.Fatalf("token output:\n%s", out)
	}
	link, _ := url.Parse(lines[1])
	if link.Query().Get("room") != "R" || link.Query().Get("token") != lines[0] {
		t.Fatalf("join link %s", lines[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, strings.Replace(n.URL(), "http", "ws", 1)+"/ws", client.Options{Token: lines[0]})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	joined, err := c.Join(ctx, "R", "")
	if err != nil || joined.Identity != "dr-ada" || joined.Role != "host" {
		t.Fatalf("join with the CLI's token: %+v %v", joined, err)
	}

	if out, err = cli("rooms"); err != nil || !strings.Contains(out, "R ") || !strings.Contains(out, "PARTICIPANTS") {
		t.Fatalf("rooms: %v\n%s", err, out)
	}
	if out, err = cli("participants", "R"); err != nil || !strings.Contains(out, "dr-ada") || !strings.Contains(out, "Dr Ada") {
		t.Fatalf("participants: %v\n%s", err, out)
	}
	if out, err = cli("kick", "R", "dr-ada", "-ban"); err != nil || !strings.Contains(out, "banned") {
		t.Fatalf("kick: %v\n%s", err, out)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("kicked client still connected")
	}
	if _, err = cli("kick", "R", "nobody"); err == nil || !strings.Contains(err.Error(), "participant_not_found") {
		t.Fatalf("kick nobody: %v", err)
	}
	if _, err = cli("participants"); err == nil {
		t.Fatal("participants without a room accepted")
	}

	t.Setenv(envAPIKey, "")
	t.Setenv(envAPISecret, "")
	if _, err = cli("rooms"); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), envAPIKey) {
		t.Fatalf("rooms without a key: %v", err)
	}
}
