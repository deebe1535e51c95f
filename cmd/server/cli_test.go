package main

import (
	"bytes"
	"context"
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
	if len(lines) != 2 || lines[1] != n.URL()+"/#room=R&token="+lines[0] {
		t.Fatalf("token output:\n%s", out)
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

// TestCLILink: link prints {base}/#room=R&token=T whose token joins the room as the role asked for; the
// base is -base, else the node's URL; without a key here a dev-mode node signs the link.
func TestCLILink(t *testing.T) {
	secret := strings.Repeat("l", 40)
	t.Setenv(envAPIKey, "APIlink")
	t.Setenv(envAPISecret, secret)
	k, _, err := envKey()
	if err != nil {
		t.Fatal(err)
	}
	n := nodetest.Start(t, func(cfg *node.Config) { cfg.Auth.Keys = append(cfg.Auth.Keys, k) })
	link := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(append(append([]string{"link"}, args...), "-url", n.URL()), &out, &errOut)
		return strings.TrimSpace(out.String()), errOut.String(), err
	}

	out, info, err := link("-room", "consult-1", "-role", "attendee", "-identity", "pat", "-name", "Pat", "-ttl", "30m", "-mode", "consultation")
	if err != nil {
		t.Fatal(err)
	}
	token := tokenOfLink(t, out, n.URL(), "consult-1")
	if !strings.Contains(info, `"pat" as attendee`) {
		t.Fatalf("link info: %s", info)
	}
	claims, err := n.Keys().Verify(token)
	if err != nil || claims.Identity() != "pat" || claims.Name != "Pat" || claims.Role != "attendee" ||
		claims.Policy == nil || claims.Policy.Mode != "consultation" {
		t.Fatalf("link token: %+v %v", claims, err)
	}
	if d := time.Until(claims.ExpiresAt.Time); d < 29*time.Minute || d > 31*time.Minute {
		t.Fatalf("token valid for %s, want 30m", d)
	}

	// A host's link joins as host; -base sets where the link points.
	out, _, err = link("-room", "consult-1", "-role", "host", "-identity", "dr-ada", "-name", "Dr Ada", "-base", "https://meet.example.org/")
	if err != nil {
		t.Fatal(err)
	}
	token = tokenOfLink(t, out, "https://meet.example.org", "consult-1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, nodetest.WSURL(n), client.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	joined, err := c.Join(ctx, "consult-1", "")
	if err != nil || joined.Identity != "dr-ada" || joined.Role != "host" || joined.Participants == nil {
		t.Fatalf("join with the link's token: %+v %v", joined, err)
	}

	for _, bad := range [][]string{
		{"-identity", "pat"}, // no room
		{"-room", "r"},       // no identity
		{"-room", "r", "-identity", "pat", "-role", "king"},  // no such role
		{"-room", "r", "-identity", "pat", "-mode", "party"}, // no such mode
		{"-room", "r", "-identity", "pat", "-ttl", "-1s"},    // not a duration ahead
		{"-room", "r b", "-identity", "pat"},                 // not a room name
		{"-room", "r", "-identity", "pat", "-ttl", "1500ms"}, // not whole seconds
	} {
		if _, _, err := link(bad...); err == nil {
			t.Errorf("link %v accepted", bad)
		}
	}

	// Without a key here, a dev-mode node signs the link.
	t.Setenv(envAPIKey, "")
	t.Setenv(envAPISecret, "")
	dev := nodetest.Start(t, nil)
	var stdout, stderr bytes.Buffer
	if err := run([]string{"link", "-room", "r", "-identity", "pat", "-url", dev.URL()}, &stdout, &stderr); err != nil {
		t.Fatalf("link from a dev node: %v\n%s", err, stderr.String())
	}
	token = tokenOfLink(t, strings.TrimSpace(stdout.String()), dev.URL(), "r")
	if claims, err := dev.Keys().Verify(token); err != nil || claims.Identity() != "pat" || claims.Role != "attendee" {
		t.Fatalf("dev link token: %+v %v", claims, err)
	}
}

// tokenOfLink checks that link is base/#room=room&token=T and returns T.
func tokenOfLink(t *testing.T, link, base, room string) string {
	t.Helper()
	prefix := base + "/#room=" + room + "&token="
	token, ok := strings.CutPrefix(link, prefix)
	if !ok || token == "" || strings.ContainsAny(token, "?#& \n") {
		t.Fatalf("link %q is not %s<token>", link, prefix)
	}
	return token
}
