// Package nodetest starts server nodes for tests: on free loopback ports, logging warnings (everything
// with HUDDLE_TEST_DEBUG=1) to stderr, and closed when the test ends. It is the one way tests of every
// package start a node, so a change to how nodes start is made once.
//
// Locking: the functions hold no state and may be called from concurrent tests.
package nodetest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
)

// Start runs a node on the default config with free loopback ports, after edit (if not nil) adjusts it.
func Start(t testing.TB, edit func(*node.Config)) *node.Node {
	t.Helper()
	return StartWithLogger(t, edit, Logger())
}

// StartWithLogger is Start with the node logging through log (a test that reads the node's logs).
func StartWithLogger(t testing.TB, edit func(*node.Config), log *slog.Logger) *node.Node {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.UseFreePorts()
	if edit != nil {
		edit(&cfg)
	}
	n, err := node.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			t.Errorf("node close: %v", err)
		}
	})
	return n
}

// Logger is what test nodes log through: warnings, or everything with HUDDLE_TEST_DEBUG set.
func Logger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("HUDDLE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// WSURL is the node's WebSocket signalling endpoint.
func WSURL(n *node.Node) string {
	u := strings.Replace(n.URL(), "https://", "wss://", 1)
	return strings.Replace(u, "http://", "ws://", 1) + "/ws"
}
