package cluster

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"

	"github.com/huddlehq/huddle/signaling/cluster/redistest"
)

// testRedis is a real redis-server (package redistest).
type testRedis struct{ *redistest.Server }

func startRedis(t *testing.T) *testRedis { return &testRedis{redistest.Start(t)} }

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
