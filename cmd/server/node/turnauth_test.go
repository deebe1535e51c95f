package node_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/sfu/turnserver"
)

// turnAllocate asks the node's TURN server (over UDP) for a relay with a username and password.
func turnAllocate(t *testing.T, server net.Addr, username, password string) (*turn.Client, net.PacketConn, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	c, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: server.String(), STUNServerAddr: server.String(),
		Conn: conn, Username: username, Password: password, Realm: "huddle", LoggerFactory: lf, RTO: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	return c, relay, err
}

// TestTURNCredentials: the embedded relay allocates only for a live session's credentials: forged,
// expired and unknown users' credentials are refused, a participant who left can no longer allocate
// and the relays it had are closed; a live relay may reach the node's media port and nothing else.
func TestTURNCredentials(t *testing.T) {
	const secret = "turn-test-secret-0123456789"
	n := nodetest.Start(t, func(cfg *node.Config) { cfg.TURN.Secret = secret })
	server := n.TURNAddr("udp")
	alice := join(t, n, "turn-auth", "alice", true)
	servers := alice.c.ICEServers()
	if len(servers) != 1 || !strings.Contains(servers[0].Username, ":") {
		t.Fatalf("alice's ICE servers: %+v", servers)
	}
	username, password := servers[0].Username, servers[0].Credential.(string)
	user := username[strings.Index(username, ":")+1:]

	client, relay, err := turnAllocate(t, server, username, password)
	if err != nil {
		t.Fatalf("a live session's credentials: %v", err)
	}
	if err := client.CreatePermission(n.MediaAddr()); err != nil {
		t.Errorf("permission to the node's media port: %v", err)
	}
	for _, peer := range []string{"10.1.2.3:9", "192.168.1.1:80", "203.0.113.7:3478"} {
		addr, _ := net.ResolveUDPAddr("udp", peer)
		if err := client.CreatePermission(addr); err == nil {
			t.Errorf("permission to %s granted: the relay must reach only the node's media port", peer)
		}
	}

	expiredUser, expiredPass := turnserver.MintCredentials(secret, user, time.Now().Add(-time.Minute))
	strangerUser, strangerPass := turnserver.MintCredentials(secret, "SNOBODY", time.Now().Add(time.Hour))
	_, othersPass := turnserver.MintCredentials(secret, "someone", time.Now().Add(time.Hour))
	for _, tc := range []struct {
		name, username, password string
	}{
		{"forged password", username, "bm90IHRoZSBwYXNzd29yZA=="},
		{"another user's password", username, othersPass},
		{"expired, of a live session", expiredUser, expiredPass},
		{"valid but no live session", strangerUser, strangerPass},
		{"not a REST username", "alice", password},
	} {
		if _, _, err := turnAllocate(t, server, tc.username, tc.password); err == nil {
			t.Errorf("%s: allocated", tc.name)
		}
	}

	alice.close()
	eventually(t, 10*time.Second, "alice's relay to close after she left", func() bool { return n.TURNAllocations() == 0 })
	if _, err := relay.WriteTo([]byte("x"), n.MediaAddr()); err == nil {
		// The client side may still buffer a write; what matters is that the server holds no relay.
		t.Logf("write after leave was accepted by the client library; server allocations: %d", n.TURNAllocations())
	}
	if _, _, err := turnAllocate(t, server, username, password); err == nil {
		t.Error("a participant who left allocated with its credentials")
	} else if errors.Is(err, net.ErrClosed) {
		t.Errorf("refusal is a closed socket, not TURN's answer: %v", err)
	}
}
