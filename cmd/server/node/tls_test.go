package node_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// httpsClient trusts the test CA.
func httpsClient(t *testing.T) *http.Client {
	t.Helper()
	pool, err := testCert.Pool()
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestHTTPSAndWSS: with a certificate the node serves the client and the admin API over HTTPS with
// HSTS, and a client joins over WSS and exchanges media.
func TestHTTPSAndWSS(t *testing.T) {
	n := startTLSNode(t, nil)
	if !strings.HasPrefix(n.URL(), "https://") {
		t.Fatalf("URL %s", n.URL())
	}
	hc := httpsClient(t)
	for _, path := range []string{"/", "/healthz"} {
		resp, err := hc.Get(n.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=15552000") {
			t.Errorf("GET %s: %s, HSTS %q", path, resp.Status, resp.Header.Get("Strict-Transport-Security"))
		}
	}
	// Plain HTTP to the HTTPS port is answered with a clear 400, not served.
	resp, err := http.Get(strings.Replace(n.URL(), "https://", "http://", 1) + "/")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
			t.Errorf("plain HTTP to the HTTPS port: %s %q", resp.Status, body)
		}
	}
	if !strings.HasPrefix(wsURL(n), "wss://") {
		t.Fatalf("ws URL %s", wsURL(n))
	}
	alice := join(t, n, "tls-room", "alice", true)
	bob := join(t, n, "tls-room", "bob", true)
	exchangeMedia(t, alice, bob)
}

// TestSharedTLSPort: TURN over TLS on the HTTPS port (one port through a firewall that allows only
// that one): browsers get HTTPS and WSS, and a relay-only check reaches the node through turns: on the
// same port.
func TestSharedTLSPort(t *testing.T) {
	port := freeTCPPort(t)
	n := startTLSNode(t, func(cfg *node.Config) {
		cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		cfg.TURN.TLSPort = port
	})
	if got := n.TURNAddr("tls"); got == nil || got.String() != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Fatalf("TURN/TLS at %v, want the HTTPS port %d", got, port)
	}
	resp, err := httpsClient(t).Get(n.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTPS on the shared port: %s", resp.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	keepTLS := func(u string) bool { return strings.HasPrefix(u, "turns:") }
	c, err := client.Dial(ctx, wsURL(n), client.Options{KeepICEURL: keepTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Preflight(ctx, "shared", "")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("turns:127.0.0.1:%d?transport=tcp", port)
	if !strings.Contains(strings.Join(info.ICEServers[0].URLs, " "), want) {
		t.Fatalf("ICE servers %v lack %s", info.ICEServers[0].URLs, want)
	}
	res, err := c.Check(ctx, nil, protocol.PathRelay, info.ICEServers)
	if err != nil {
		t.Fatalf("relay check through turns on the HTTPS port: %v", err)
	}
	if res.Local != "relay" {
		t.Errorf("check used a %s candidate", res.Local)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestWebSocketOrigin: a page of another site cannot open a signalling socket (403 that says why);
// the node's own pages, the configured origins and non-browser clients (no Origin) can.
func TestWebSocketOrigin(t *testing.T) {
	n := nodetest.Start(t, func(cfg *node.Config) {
		cfg.HTTP.AllowedOrigins = []string{"https://portal.example.org", "https://*.clinic.example"}
	})
	self := n.URL() // http://127.0.0.1:port
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{self, true},
		{"https://portal.example.org", true},
		{"https://ward3.clinic.example", true},
		{"https://evil.example", false},
		{"http://portal.example.org", false},       // the scheme counts
		{"https://portal.example.org:8443", false}, // and the port
		{"https://clinic.example", false},          // "*." is a subdomain, not the domain
		{"null", false},
	} {
		header := http.Header{}
		if tc.origin != "" {
			header.Set("Origin", tc.origin)
		}
		conn, resp, err := websocket.DefaultDialer.Dial(wsURL(n), header)
		if conn != nil {
			_ = conn.Close()
		}
		switch {
		case tc.ok && err != nil:
			t.Errorf("origin %q refused: %v", tc.origin, err)
		case !tc.ok && err == nil:
			t.Errorf("origin %q accepted", tc.origin)
		case !tc.ok:
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "origin_not_allowed") ||
				!strings.Contains(string(body), "http.allowed_origins") {
				t.Errorf("origin %q: %s %q, want 403 origin_not_allowed naming the option", tc.origin, resp.Status, body)
			}
		}
	}
}
