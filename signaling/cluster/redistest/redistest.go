// Package redistest starts a real redis-server for tests, on a free loopback port with nothing
// persisted, and stops (or restarts) it on demand: the cluster tests of every package use it.
//
// Locking: a Server's methods may be called from any goroutine.
package redistest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a real redis-server on a free loopback port, with nothing persisted.
type Server struct {
	t    testing.TB
	dir  string
	port int
	Addr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    bytes.Buffer
}

// Start starts a redis-server for the test and stops it at cleanup. Without redis-server on the
// PATH the test is skipped, or fails when HUDDLE_REQUIRE_REDIS=1 (as in CI).
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		msg := "redis-server not found on PATH (Debian: apt-get install redis-server); the cluster tests need a real Redis"
		if os.Getenv("HUDDLE_REQUIRE_REDIS") == "1" {
			t.Fatalf("%s, and HUDDLE_REQUIRE_REDIS=1 requires them to run", msg)
		}
		t.Skip(msg)
	}
	r := &Server{t: t, dir: t.TempDir()}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if r.port, err = freePort(); err != nil {
			continue
		}
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
		if err = r.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(r.Stop)
	return r
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server on r.port and waits until it answers PING.
func (r *Server) start() error {
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--daemonize", "no", "--loglevel", "warning")
	r.mu.Lock()
	r.log.Reset()
	cmd.Stdout, cmd.Stderr = &lockedWriter{mu: &r.mu, w: &r.log}, &lockedWriter{mu: &r.mu, w: &r.log}
	r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			r.mu.Lock()
			defer r.mu.Unlock()
			return fmt.Errorf("redis-server exited: %s", strings.TrimSpace(r.log.String()))
		default:
		}
		if pingRaw(r.Addr) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Stop()
	return errors.New("redis-server did not answer PING within 10 s")
}

// Restart starts the server again on the same port, empty.
func (r *Server) Restart() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("restart redis-server: %v", err)
	}
}

// Stop kills the server (nothing is persisted) and waits for it to exit.
func (r *Server) Stop() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// pingRaw speaks RESP directly, so that readiness checks leave no client goroutines behind.
func pingRaw(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return err
	}
	if string(buf) != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", buf)
	}
	return nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// URL is the server's redis:// URL.
func (r *Server) URL() string { return "redis://" + r.Addr }
