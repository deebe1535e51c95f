package node_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/signaling"
	"github.com/huddlehq/huddle/signaling/client"
)

// upgradeRequest is a WebSocket upgrade of /ws on host with extra header lines (each ending in \r\n).
func upgradeRequest(host, extra string) string {
	return "GET /ws HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
}

// nodeAddr is the node's HTTP host:port.
func nodeAddr(n *node.Node) string { return strings.TrimPrefix(n.URL(), "http://") }

// joinOnce dials, joins room as name and leaves: the node serves signalling.
func joinOnce(t *testing.T, n *node.Node, room, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, wsURL(n), client.Options{})
	if err != nil {
		t.Fatalf("dial after the refusal: %v", err)
	}
	defer c.Close()
	if _, err := c.Join(ctx, room, name); err != nil {
		t.Fatalf("join after the refusal: %v", err)
	}
}

// TestHeaderLimitRefusesHugeCookie: an upgrade carrying a 1 MB Cookie header, or a 64 KiB one (which
// Go's own 1 MB default would let through), is refused with 431 by the default http.max_header_bytes
// (16 KiB) before any handler runs; an upgrade with a large ordinary cookie (8 KiB) is not; and the node
// serves a normal join afterwards.
func TestHeaderLimitRefusesHugeCookie(t *testing.T) {
	n := startNode(t)
	for _, size := range []int{1 << 20, 64 << 10} {
		if status := rawUpgradeStatus(t, n, size); status != http.StatusRequestHeaderFieldsTooLarge && status != http.StatusBadRequest {
			t.Fatalf("a %d-byte Cookie header got %d, want 431 (or 400)", size, status)
		}
	}
	ws, resp, err := websocket.DefaultDialer.Dial(wsURL(n), http.Header{"Cookie": {"session=" + strings.Repeat("c", 8<<10)}})
	if err != nil {
		status := ""
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("an 8 KiB cookie was refused: %v %s", err, status)
	}
	_ = ws.Close()
	joinOnce(t, n, "after-cookie", "alice")
}

// rawUpgradeStatus sends an upgrade with a Cookie header of cookieSize bytes over a raw connection and
// returns the status of the answer. The server stops reading long before the end of a huge header: the
// request is written aside while the answer is read here.
func rawUpgradeStatus(t *testing.T, n *node.Node, cookieSize int) int {
	t.Helper()
	conn, err := net.Dial("tcp", nodeAddr(n))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := upgradeRequest(nodeAddr(n), "Cookie: session="+strings.Repeat("c", cookieSize)+"\r\n")
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(conn, req)
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a %d-byte Cookie header: %v", cookieSize, err)
	}
	_ = resp.Body.Close()
	_ = conn.Close() // ends the writer
	<-wrote
	return resp.StatusCode
}

// TestHeaderSlowlorisIsCut: a client that sends the request line and then its header one byte every
// 100 ms is disconnected by the server once http.read_header_timeout (1 s here) has passed: reading the
// connection ends in EOF, not in the test's own 10 s deadline. (A reset counts as the server's close too:
// the server closes with the last dribbled byte unread, so its kernel answers with RST, not FIN.)
func TestHeaderSlowlorisIsCut(t *testing.T) {
	n := nodetest.Start(t, func(c *node.Config) { c.HTTP.ReadHeaderTimeout = time.Second })
	conn, err := net.Dial("tcp", nodeAddr(n))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: "+nodeAddr(n)+"\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("a")); err != nil {
					return // the server has closed the connection
				}
			}
		}
	}()
	defer func() { close(stop); <-stopped }()

	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.Copy(io.Discard, conn) // nil at EOF
	elapsed := time.Since(start)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("the server kept a dribbling client for %s (read_header_timeout 1s)", elapsed.Round(time.Millisecond))
	case err != nil && !errors.Is(err, syscall.ECONNRESET):
		t.Fatalf("reading the dribbling connection: %v", err)
	case elapsed < 500*time.Millisecond:
		t.Fatalf("the connection ended after %s, before read_header_timeout: something else ended it (%v)", elapsed, err)
	}
	t.Logf("the server closed the dribbling connection after %s (%d bytes answered, err %v)", elapsed.Round(time.Millisecond), got, err)
}

// dialWS opens a WebSocket to the node; on refusal it returns the status, the Retry-After header and
// the body's code.
func dialWS(t *testing.T, n *node.Node) (conn *websocket.Conn, status int, retryAfter, code string) {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL(n), nil)
	if err == nil {
		return conn, http.StatusSwitchingProtocols, "", ""
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Code, Message string }
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("a refused upgrade (%s) has no JSON body: %q", resp.Status, raw)
	}
	if body.Message == "" {
		t.Errorf("a refused upgrade (%s, %s) says nothing: %q", resp.Status, body.Code, raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("a refused upgrade has Content-Type %q", ct)
	}
	return nil, resp.StatusCode, resp.Header.Get("Retry-After"), body.Code
}

// TestSocketLimitPerAddress: with limits.max_sockets_per_address 3, the 4th WebSocket from 127.0.0.1 is
// refused with 429 too_many_connections; once one of the three is closed a new one is accepted (the
// place comes back when the server's session has ended).
func TestSocketLimitPerAddress(t *testing.T) {
	n := nodetest.Start(t, func(c *node.Config) { c.Limits.MaxSocketsPerAddress = 3 })
	var open []*websocket.Conn
	defer func() {
		for _, c := range open {
			_ = c.Close()
		}
	}()
	for i := range 3 {
		c, status, _, code := dialWS(t, n)
		if c == nil {
			t.Fatalf("socket %d refused: %d %s", i+1, status, code)
		}
		open = append(open, c)
	}
	if c, status, _, code := dialWS(t, n); c != nil || status != http.StatusTooManyRequests || code != signaling.CodeTooManyConnections {
		if c != nil {
			_ = c.Close()
		}
		t.Fatalf("the 4th socket: %d %q, want 429 %s", status, code, signaling.CodeTooManyConnections)
	}
	_ = open[0].Close()
	open = open[1:]
	eventually(t, 10*time.Second, "a socket accepted after one was closed", func() bool {
		c, status, _, code := dialWS(t, n)
		if c != nil {
			open = append(open, c)
			return true
		}
		if status != http.StatusTooManyRequests {
			t.Fatalf("while waiting for a place: %d %s", status, code)
		}
		return false
	})
	if c, status, _, code := dialWS(t, n); c != nil || status != http.StatusTooManyRequests {
		if c != nil {
			_ = c.Close()
		}
		t.Fatalf("the 4th socket after the swap: %d %q, want 429", status, code)
	}
}

// TestSocketLimitPerNode: with limits.max_sockets 2, the 3rd WebSocket is refused with 503 server_busy
// and a Retry-After in seconds.
func TestSocketLimitPerNode(t *testing.T) {
	n := nodetest.Start(t, func(c *node.Config) { c.Limits.MaxSockets = 2 })
	for i := range 2 {
		c, status, _, code := dialWS(t, n)
		if c == nil {
			t.Fatalf("socket %d refused: %d %s", i+1, status, code)
		}
		defer c.Close()
	}
	c, status, retry, code := dialWS(t, n)
	if c != nil {
		_ = c.Close()
		t.Fatal("the 3rd socket was accepted with limits.max_sockets 2")
	}
	if status != http.StatusServiceUnavailable || code != signaling.CodeServerBusy {
		t.Fatalf("the 3rd socket: %d %q, want 503 %s", status, code, signaling.CodeServerBusy)
	}
	if secs, err := strconv.Atoi(retry); err != nil || secs <= 0 {
		t.Errorf("Retry-After %q, want a number of seconds", retry)
	}
}

// TestLimitsConfig: configs/server.yaml spells out every default of the http bounds and the limits:
// section, and Validate names the option of a negative or too small value.
func TestLimitsConfig(t *testing.T) {
	var fromFile node.Config
	if err := node.LoadFile("../../../configs/server.yaml", &fromFile); err != nil {
		t.Fatal(err)
	}
	def := node.DefaultConfig()
	if fromFile.Limits != def.Limits || fromFile.Limits != signaling.DefaultLimits() {
		t.Errorf("configs/server.yaml limits:\n%+v\nwant the defaults\n%+v", fromFile.Limits, def.Limits)
	}
	if f, d := fromFile.HTTP, def.HTTP; f.MaxHeaderBytes != d.MaxHeaderBytes || f.ReadHeaderTimeout != d.ReadHeaderTimeout ||
		f.IdleTimeout != d.IdleTimeout || d.MaxHeaderBytes != 16<<10 || d.ReadHeaderTimeout != 10*time.Second || d.IdleTimeout != 120*time.Second {
		t.Errorf("http bounds: configs/server.yaml %d %s %s, defaults %d %s %s", f.MaxHeaderBytes, f.ReadHeaderTimeout, f.IdleTimeout,
			d.MaxHeaderBytes, d.ReadHeaderTimeout, d.IdleTimeout)
	}

	cases := []struct {
		name string
		edit func(*node.Config)
		want string // substring of the error; "" = valid
	}{
		{"defaults", func(*node.Config) {}, ""},
		{"zeros take the defaults", func(c *node.Config) { c.HTTP.MaxHeaderBytes, c.HTTP.IdleTimeout, c.Limits = 0, 0, signaling.Limits{} }, ""},
		{"header bytes too small", func(c *node.Config) { c.HTTP.MaxHeaderBytes = 1024 }, "http.max_header_bytes 1024"},
		{"header bytes negative", func(c *node.Config) { c.HTTP.MaxHeaderBytes = -1 }, "http.max_header_bytes -1"},
		{"read header timeout negative", func(c *node.Config) { c.HTTP.ReadHeaderTimeout = -time.Second }, "http.read_header_timeout"},
		{"idle timeout negative", func(c *node.Config) { c.HTTP.IdleTimeout = -time.Second }, "http.idle_timeout"},
		{"sockets per address negative", func(c *node.Config) { c.Limits.MaxSocketsPerAddress = -1 }, "limits.max_sockets_per_address -1"},
		{"sockets negative", func(c *node.Config) { c.Limits.MaxSockets = -5 }, "limits.max_sockets -5"},
		{"join rate negative", func(c *node.Config) { c.Limits.JoinsPerAddress.PerSecond = -1 }, "limits.joins_per_address.per_second"},
		{"join burst negative", func(c *node.Config) { c.Limits.JoinsPerAddress.Burst = -1 }, "limits.joins_per_address.burst -1"},
		{"strike window negative", func(c *node.Config) { c.Limits.StrikeWindow = -time.Second }, "limits.strike_window -1s"},
	}
	for _, tc := range cases {
		cfg := node.DefaultConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
