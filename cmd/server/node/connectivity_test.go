package node_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// startTLSNode runs a node with the test certificate: HTTPS/WSS and TURN over TLS on.
func startTLSNode(t *testing.T, edit func(*node.Config)) *node.Node {
	return nodetest.Start(t, func(cfg *node.Config) {
		cfg.TLS.CertFile, cfg.TLS.KeyFile = testCert.CertFile, testCert.KeyFile
		if edit != nil {
			edit(cfg)
		}
	})
}

// joinWith joins room as name with a client built from api and opts, counting what it receives.
func joinWith(t *testing.T, n *node.Node, room, name string, api *webrtc.API, opts client.Options) *peer {
	t.Helper()
	p := &peer{t: t, name: name, received: make(map[string]*trackStats)}
	opts.API = api
	opts.OnTrack = p.count
	p.dialJoin(n, room, opts)
	return p
}

// exchangeMedia has a and b publish and waits until each receives the other's audio and video.
func exchangeMedia(t *testing.T, a, b *peer) {
	t.Helper()
	aTracks, bTracks := a.publish(), b.publish()
	for _, c := range []struct {
		to     *peer
		tracks []string
	}{{b, aTracks}, {a, bTracks}} {
		for _, id := range c.tracks {
			eventually(t, 20*time.Second, c.to.name+" receives "+id, func() bool { return c.to.packets(id) >= 20 })
		}
	}
}

// pairOf is the selected candidate pair of one of p's PeerConnections.
func pairOf(t *testing.T, pc *webrtc.PeerConnection) *webrtc.ICECandidatePair {
	t.Helper()
	pair, err := client.SelectedPair(pc)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// TestICETCPWhenUDPIsBlocked: a client that has no UDP candidates at all (its network blocks UDP)
// reaches the server over ICE/TCP on both PeerConnections, and media flows both ways.
func TestICETCPWhenUDPIsBlocked(t *testing.T) {
	n := startNode(t)
	if n.TCPAddr() == nil {
		t.Fatal("ICE/TCP is off by default")
	}
	tcpOnly, err := client.NewAPIWith(client.APIOptions{LoopbackOnly: true, Networks: []string{"tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	alice := joinWith(t, n, "tcp-room", "alice", tcpOnly, client.Options{})
	bob := join(t, n, "tcp-room", "bob", true)
	exchangeMedia(t, alice, bob)
	for name, pc := range map[string]*webrtc.PeerConnection{"publish": alice.c.PublishConnection(), "subscribe": alice.c.SubscribeConnection()} {
		pair := pairOf(t, pc)
		if pair.Local.Protocol != webrtc.ICEProtocolTCP || pair.Remote.Protocol != webrtc.ICEProtocolTCP {
			t.Errorf("alice's %s pair is %s, want TCP both sides", name, pair)
		}
		if int(pair.Remote.Port) != n.TCPAddr().(*net.TCPAddr).Port {
			t.Errorf("alice's %s pair reaches %s:%d, not the ICE/TCP port %s", name, pair.Remote.Address, pair.Remote.Port, n.TCPAddr())
		}
	}
	if pair := pairOf(t, bob.c.PublishConnection()); pair.Local.Protocol != webrtc.ICEProtocolUDP {
		t.Errorf("bob (UDP allowed) took %s", pair)
	}
}

// TestTURNRelay: a client that may use relay candidates only connects through the embedded TURN
// relay over UDP, over TCP and over TLS (the test CA's certificate), and media flows both ways.
func TestTURNRelay(t *testing.T) {
	n := startTLSNode(t, nil)
	for _, tc := range []struct {
		name string
		keep func(string) bool
	}{
		{"udp", func(u string) bool { return strings.HasPrefix(u, "turn:") && strings.HasSuffix(u, "transport=udp") }},
		{"tcp", func(u string) bool { return strings.HasPrefix(u, "turn:") && strings.HasSuffix(u, "transport=tcp") }},
		{"tls", func(u string) bool { return strings.HasPrefix(u, "turns:") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			room := "relay-" + tc.name
			alice := joinWith(t, n, room, "alice", nil, client.Options{ICETransportPolicy: webrtc.ICETransportPolicyRelay, KeepICEURL: tc.keep})
			if servers := alice.c.ICEServers(); len(servers) != 1 || len(servers[0].URLs) != 1 || servers[0].Username == "" {
				t.Fatalf("ICE servers for %s: %+v", tc.name, servers)
			}
			// Bob gathers no relay candidates, so that every allocation is alice's.
			bob := joinWith(t, n, room, "bob", nil, client.Options{KeepICEURL: func(string) bool { return false }})
			exchangeMedia(t, alice, bob)
			for name, pc := range map[string]*webrtc.PeerConnection{"publish": alice.c.PublishConnection(), "subscribe": alice.c.SubscribeConnection()} {
				if pair := pairOf(t, pc); pair.Local.Typ != webrtc.ICECandidateTypeRelay {
					t.Errorf("alice's %s pair is %s, want a relay candidate", name, pair)
				}
			}
			if got := n.TURNAllocations(); got < 2 {
				t.Errorf("%d TURN allocations, want one per PeerConnection", got)
			}
			alice.close()
			eventually(t, 10*time.Second, "alice's relays closed after she left", func() bool { return n.TURNAllocations() == 0 })
			bob.close()
		})
	}
}

// TestConnectivityChecks: before joining, a client learns the ICE servers and paths (preflight) and
// each path's check connects: UDP and TCP straight to the node, and the relay over each of its
// transports.
func TestConnectivityChecks(t *testing.T) {
	n := startTLSNode(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, wsURL(n), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Preflight(ctx, "check-room", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(info.Paths, ",") != "udp,tcp,relay" || len(info.ICEServers) != 1 || len(info.ICEServers[0].URLs) != 3 {
		t.Fatalf("preflight: %+v", info)
	}
	tcpOnly, err := client.NewAPIWith(client.APIOptions{LoopbackOnly: true, Networks: []string{"udp", "tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"udp", "tcp", "relay"} {
		res, err := c.Check(ctx, tcpOnly, path, info.ICEServers)
		if err != nil {
			t.Fatalf("check %s: %v", path, err)
		}
		want := map[string]string{"udp": "host/udp", "tcp": "host/tcp", "relay": "relay/udp"}[path]
		if got := res.Local + "/" + res.Protocol; got != want || res.RTT <= 0 {
			t.Errorf("check %s: local candidate %s (want %s), rtt %s", path, got, want, res.RTT)
		}
	}
}

// TestConnectivityCheckRefusals: a check needs an authorized preflight; a bad token, a path the node
// does not offer, an SDP that is not one and too many checks each get their error code, and the
// session goes on.
func TestConnectivityCheckRefusals(t *testing.T) {
	n := startKeyedNode(t, func(cfg *node.Config) { cfg.Media.ICETCP = false })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, wsURL(n), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	code := func(err error) string {
		var perr *protocol.Error
		if errors.As(err, &perr) {
			return perr.Code
		}
		return fmt.Sprint(err)
	}
	offer := protocol.CheckOffer{Path: protocol.PathUDP, SDP: "v=0"}
	if _, err := c.Request(ctx, protocol.TypeCheckOffer, offer); code(err) != protocol.CodeNotJoined {
		t.Errorf("check before preflight: %v", err)
	}
	if _, err := c.Preflight(ctx, "clinic", ""); code(err) != protocol.CodeTokenMissing {
		t.Errorf("preflight without a token on a keyed node: %v", err)
	}
	if _, err := c.Preflight(ctx, "clinic", "not.a.token"); code(err) != protocol.CodeTokenMalformed {
		t.Errorf("preflight with a malformed token: %v", err)
	}
	if _, err := c.Preflight(ctx, "other-room", mint(t, n, "clinic", "pat", auth.RoleAttendee, nil)); code(err) != protocol.CodeTokenWrongRoom {
		t.Errorf("preflight with another room's token: %v", err)
	}
	info, err := c.Preflight(ctx, "clinic", mint(t, n, "clinic", "pat", auth.RoleAttendee, nil))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(info.Paths, ",") != "udp,relay" {
		t.Errorf("paths without ICE/TCP: %v", info.Paths)
	}
	if _, err := c.Request(ctx, protocol.TypeCheckOffer, protocol.CheckOffer{Path: protocol.PathTCP, SDP: "v=0"}); code(err) != protocol.CodeBadRequest {
		t.Errorf("tcp check on a node without ICE/TCP: %v", err)
	}
	if _, err := c.Request(ctx, protocol.TypeCheckOffer, offer); code(err) != protocol.CodeInvalidSDP {
		t.Errorf("check with an SDP that is not one: %v", err)
	}
	for i := range 20 {
		_, err := c.Check(ctx, nil, protocol.PathUDP, nil)
		if err == nil {
			continue
		}
		if code(err) != protocol.CodeRateLimited || i < 3 {
			t.Fatalf("check %d: %v", i+1, err)
		}
		break
	}
	if _, err := c.Request(ctx, protocol.TypePing, nil); err != nil {
		t.Errorf("the session ended after the refusals: %v", err)
	}
}
