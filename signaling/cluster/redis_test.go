package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
)

// testRedis is a real redis-server on a free loopback port, with nothing persisted.
type testRedis struct {
	t    *testing.T
	dir  string
	port int
	Addr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    bytes.Buffer
}

// startRedis starts a redis-server for the test and stops it at cleanup. Without redis-server on the
// PATH the test is skipped, or fails when HUDDLE_REQUIRE_REDIS=1 (as in CI).
func startRedis(t *testing.T) *testRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		msg := "redis-server not found on PATH (Debian: apt-get install redis-server); the cluster tests need a real Redis"
		if os.Getenv("HUDDLE_REQUIRE_REDIS") == "1" {
			t.Fatalf("%s, and HUDDLE_REQUIRE_REDIS=1 requires them to run", msg)
		}
		t.Skip(msg)
	}
	r := &testRedis{t: t, dir: t.TempDir()}
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
func (r *testRedis) start() error {
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
func (r *testRedis) Restart() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("restart redis-server: %v", err)
	}
}

// Stop kills the server (nothing is persisted) and waits for it to exit.
func (r *testRedis) Stop() {
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

// Client returns a client of the server, closed at cleanup.
func (r *testRedis) Client(t *testing.T) *redis.Client {
	t.Helper()
	c := NewClient(r.Addr)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testLogger prints the package's logs with HUDDLE_TEST_DEBUG=1 and discards them otherwise.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("HUDDLE_TEST_DEBUG") == "1" {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fastConfig is a short TTL so that expiry tests take a second or two.
func fastConfig(t *testing.T) Config {
	return Config{NodeTTL: 1500 * time.Millisecond, Heartbeat: 250 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, Logger: testLogger(t)}
}

// startNode registers a node on its own client and leaves at cleanup.
func startNode(t *testing.T, srv *testRedis, id, region string, cfg Config) (*Registry, *Placement) {
	t.Helper()
	reg, err := NewRegistry(srv.Client(t), NodeInfo{ID: id, Region: region, SignalURL: "ws://127.0.0.1:7880/ws", MediaAddr: "127.0.0.1:7882"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := reg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = reg.Leave(ctx)
	})
	return reg, NewPlacement(reg)
}

// halt stops the heartbeat as a crash would: nothing is deleted.
func (r *Registry) halt() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel = nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// halt stops the relay's goroutines as a crash would: no session is closed, nothing is deleted.
func (r *Relay) halt() {
	r.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r.appendWake(ctx)
	r.wg.Wait()
}

// allKeys scans the whole database.
func allKeys(t *testing.T, rdb *redis.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var out []string
	iter := rdb.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

// waitNoKeys fails unless the database becomes empty within d.
func waitNoKeys(t *testing.T, rdb *redis.Client, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		keys := allKeys(t, rdb)
		if len(keys) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("keys left in redis: %v", keys)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond every 10 ms until it holds or d passes, and returns how long it took.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// checkGoroutines fails unless the number of goroutines settles back to base within 5 s.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, expected at most %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("HUDDLE_TEST_DEBUG") != "1" {
		logging.Disable() // go-redis logs every refused dial while a test has Redis stopped
	}
	os.Exit(m.Run())
}
