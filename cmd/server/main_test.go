package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSIGTERMShutsDownCleanly builds the binary, runs it with flags, joins a session, sends SIGTERM and
// expects the session to be told the server is going away and the process to exit 0.
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	cmd := exec.Command(bin, "-http", httpAddr, "-udp-port", fmt.Sprint(freePort(t, "udp")), "-tcp-port", "0", "-turn-port", "0", "-relay-ports", "0-0", "-log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never became healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+httpAddr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","data":{"room":"r","name":"n"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.ReadMessage(); err != nil {
		t.Fatal(err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != websocket.CloseGoingAway {
				t.Fatalf("close code %d, want 1001 (going away)", ce.Code)
			}
			break
		}
		if err != nil {
			t.Fatalf("socket ended without a close frame: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("server exited with %v", err)
		}
	case <-ctx.Done():
		t.Fatal("server did not exit within 10 s of SIGTERM")
	}
}

func TestFlagsAndVersion(t *testing.T) {
	// Advertising a public IP serves other machines: without an API key the node refuses to start.
	if _, err := parseFlags([]string{"-public-ip", "192.0.2.1"}, &discard{}); err == nil || !strings.Contains(err.Error(), "no API keys") {
		t.Fatalf("public IP without keys: %v", err)
	}
	t.Setenv(envAPIKey, "APIenv")
	t.Setenv(envAPISecret, strings.Repeat("e", 40))
	cfg, err := parseFlags([]string{"-http", "127.0.0.1:9000", "-udp-port", "9002", "-public-ip", "192.0.2.1,192.0.2.2", "-log-level", "debug"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr != "127.0.0.1:9000" || cfg.Media.UDPPort != 9002 || len(cfg.Media.PublicIPs) != 2 || cfg.Log.Level != "debug" ||
		len(cfg.Auth.Keys) != 1 || cfg.Auth.Keys[0].ID != "APIenv" {
		t.Fatalf("flags not applied: %+v", cfg)
	}
	for _, bad := range [][]string{{"-bind-ip", "not-an-ip"}, {"-log-level", "loud"}, {"extra"}, {"-config", "/nonexistent.yaml"}} {
		if _, err := parseFlags(bad, &discard{}); err == nil {
			t.Errorf("parseFlags(%v) accepted bad input", bad)
		}
	}
	cfg, err = parseFlags([]string{"-config", "../../configs/server.yaml"}, os.Stderr)
	if err != nil || cfg.HTTP.Addr != "127.0.0.1:7880" || cfg.Media.UDPPort != 7882 {
		t.Fatalf("configs/server.yaml does not load to the defaults: %+v %v", cfg, err)
	}
	cfg, err = parseFlags([]string{"-config", "../../configs/cluster.yaml", "-node-id", "n2", "-region", "eu"}, os.Stderr)
	if err != nil || cfg.Cluster.RedisURL != "redis://127.0.0.1:6379" || cfg.Cluster.NodeID != "n2" || cfg.Cluster.Region != "eu" {
		t.Fatalf("configs/cluster.yaml with flags: %+v %v", cfg.Cluster, err)
	}
	t.Setenv("HUDDLE_REDIS_URL", "redis://127.0.0.1:6390")
	if cfg, err = parseFlags(nil, os.Stderr); err != nil || cfg.Cluster.RedisURL != "redis://127.0.0.1:6390" {
		t.Fatalf("HUDDLE_REDIS_URL not applied: %+v %v", cfg.Cluster, err)
	}
	if _, err := parseFlags([]string{"-redis", "http://nope"}, &discard{}); err == nil {
		t.Error("a non-Redis URL was accepted")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
