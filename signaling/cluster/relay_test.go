package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startRelayNode registers a node and starts its relay; both stop at cleanup.
func startRelayNode(t *testing.T, srv *testRedis, id string, cfg Config, rcfg RelayConfig) (*Registry, *Relay) {
	t.Helper()
	reg, _ := startNode(t, srv, id, "eu", cfg)
	relay := NewRelay(reg, rcfg)
	t.Cleanup(func() { _ = relay.Close() })
	return reg, relay
}

func accept(t *testing.T, r *Relay) *RelayConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := r.Accept(ctx)
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	return c
}

func recvWithin(t *testing.T, c *RelayConn, d time.Duration) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Recv(ctx)
}

func sessionKeys(t *testing.T, rdb *redis.Client, sid string) []string {
	var out []string
	for _, k := range allKeys(t, rdb) {
		if strings.HasSuffix(k, ":"+sid) && strings.Contains(k, "relay-") {
			out = append(out, k)
		}
	}
	return out
}

// TestRelayOrderedWithInterruptions sends 1000 messages each way at once while every Redis connection
// is killed again and again (blocked reads and in-flight sends alike) and the receivers keep
// cancelling their Recv calls; each side must get exactly the other's messages, in order.
func TestRelayOrderedWithInterruptions(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	cfg := fastConfig(t)
	// This test is about order under interruptions, not about noticing a dead node: with every
	// connection killed each 25 ms, a heartbeat can miss the fast config's 1.5 s TTL on a busy machine and
	// the live peer would be taken for gone. 5 s gives the heartbeats (every 250 ms) twenty tries; the
	// relay's own waits (half a TTL) stay short enough to recover from a kill quickly.
	cfg.NodeTTL = 5 * time.Second
	// A short queue makes the readers pause and resume streams (flow control) along the way.
	_, edge := startRelayNode(t, srv, "edge", cfg, RelayConfig{QueueLength: 32})
	_, owner := startRelayNode(t, srv, "owner", cfg, RelayConfig{QueueLength: 32})
	admin := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a backstop: order is the test
	defer cancel()

	const n = 1000
	ec, err := edge.Dial(ctx, "owner", "s1", []byte("up-0"))
	if err != nil {
		t.Fatal(err)
	}
	oc := accept(t, owner)
	if oc.SessionID() != "s1" || oc.PeerNode() != "edge" || !oc.IsOwner() || ec.IsOwner() {
		t.Fatalf("accepted %s from %s (owner %v)", oc.SessionID(), oc.PeerNode(), oc.IsOwner())
	}

	var kills, cancelled atomic.Int64
	stopKilling := make(chan struct{})
	killerDone := make(chan struct{})
	go func() { // kill every client connection every 25 ms
		defer close(killerDone)
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopKilling:
				return
			case <-tick.C:
				if err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err == nil {
					kills.Add(1)
				}
			}
		}
	}()

	send := func(c *RelayConn, prefix string, from int) error {
		for i := from; i < n; i++ {
			if err := c.Send(ctx, fmt.Appendf(nil, "%s-%d", prefix, i)); err != nil {
				return fmt.Errorf("send %s-%d: %w", prefix, i, err)
			}
		}
		return nil
	}
	recv := func(c *RelayConn, prefix string) error {
		for i := 0; i < n; {
			rctx, rcancel := context.WithTimeout(ctx, time.Duration(rand.IntN(2000))*time.Microsecond)
			msg, err := c.Recv(rctx)
			rcancel()
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				cancelled.Add(1)
				continue
			}
			if err != nil {
				return fmt.Errorf("recv %s-%d: %w", prefix, i, err)
			}
			if want := fmt.Sprintf("%s-%d", prefix, i); string(msg) != want {
				return fmt.Errorf("received %q, want %q", msg, want)
			}
			if i%100 == 0 {
				time.Sleep(5 * time.Millisecond) // a slow moment: the queue fills and the stream pauses
			}
			i++
		}
		return nil
	}
	began := time.Now()
	errs := make(chan error, 4)
	go func() { errs <- send(ec, "up", 1) }()
	go func() { errs <- send(oc, "down", 0) }()
	go func() { errs <- recv(oc, "up") }()
	go func() { errs <- recv(ec, "down") }()
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(began)
	close(stopKilling)
	<-killerDone
	t.Logf("%d messages each way in order, none lost or duplicated, in %s, through %d kills of every connection and %d cancelled Recvs; %d sends retried, %d of them had landed already",
		n, took.Round(time.Millisecond), kills.Load(), cancelled.Load(), edge.retries.Load()+owner.retries.Load(), edge.dups.Load()+owner.dups.Load())
	if kills.Load() == 0 {
		t.Error("no connection was killed during the transfer")
	}

	// Nothing more arrives; the edge closes and the owner reads EOF.
	if msg, err := recvWithin(t, oc, 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("extra message %q, %v", msg, err)
	}
	if err := ec.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := recvWithin(t, oc, 5*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("owner after edge close: %v", err)
	}
	waitFor(t, 10*time.Second, "session keys deleted", func() bool { return len(sessionKeys(t, admin, "s1")) == 0 })
}

// TestRelayClose covers closing from either end, both at once, refused dials and a full accept backlog.
func TestRelayClose(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	cfg := fastConfig(t)
	_, edge := startRelayNode(t, srv, "edge", cfg, RelayConfig{})
	_, owner := startRelayNode(t, srv, "owner", cfg, RelayConfig{AcceptBacklog: 1})
	admin := srv.Client(t)
	ctx := context.Background()

	// Edge closes after three messages: the owner gets the three, then EOF; its sends are refused.
	ec, err := edge.Dial(ctx, "owner", "s1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := ec.Send(ctx, []byte{byte('a' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ec.Close(); err != nil {
		t.Fatal(err)
	}
	oc := accept(t, owner)
	for i := range 3 {
		msg, err := recvWithin(t, oc, 10*time.Second)
		if err != nil || string(msg) != string(rune('a'+i)) {
			t.Fatalf("message %d: %q %v", i, msg, err)
		}
	}
	if _, err := recvWithin(t, oc, 10*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("after close: %v", err)
	}
	if err := oc.Send(ctx, []byte("late")); !errors.Is(err, ErrRelayClosed) {
		t.Fatalf("send to a closed peer: %v", err)
	}
	if err := ec.Send(ctx, []byte("late")); !errors.Is(err, ErrRelayClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if _, err := ec.Recv(ctx); !errors.Is(err, ErrRelayClosed) {
		t.Fatalf("recv after close: %v", err)
	}
	_ = oc.Close()
	waitFor(t, 10*time.Second, "s1 keys deleted", func() bool { return len(sessionKeys(t, admin, "s1")) == 0 })

	// Owner closes after two messages.
	ec, err = edge.Dial(ctx, "owner", "s2", []byte("join"))
	if err != nil {
		t.Fatal(err)
	}
	oc = accept(t, owner)
	if msg, err := recvWithin(t, oc, 10*time.Second); err != nil || string(msg) != "join" {
		t.Fatalf("first message: %q %v", msg, err)
	}
	_ = oc.Send(ctx, []byte("joined"))
	_ = oc.Send(ctx, []byte("bye"))
	_ = oc.Close()
	for _, want := range []string{"joined", "bye"} {
		if msg, err := recvWithin(t, ec, 10*time.Second); err != nil || string(msg) != want {
			t.Fatalf("edge got %q %v, want %q", msg, err, want)
		}
	}
	if _, err := recvWithin(t, ec, 10*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("edge after owner close: %v", err)
	}
	waitFor(t, 10*time.Second, "s2 keys deleted", func() bool { return len(sessionKeys(t, admin, "s2")) == 0 })

	// Both ends close at once.
	ec, err = edge.Dial(ctx, "owner", "s3", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	oc = accept(t, owner)
	var wg sync.WaitGroup
	for _, c := range []*RelayConn{ec, oc} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Close() }()
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "s3 keys deleted", func() bool { return len(sessionKeys(t, admin, "s3")) == 0 })

	// One Send at a time.
	ec, err = edge.Dial(ctx, "owner", "s7", nil)
	if err != nil {
		t.Fatal(err)
	}
	ec.sendTok <- struct{}{} // as if a Send were in flight
	if err := ec.Send(ctx, []byte("x")); !errors.Is(err, ErrConcurrentSend) {
		t.Fatalf("concurrent send: %v", err)
	}
	<-ec.sendTok
	if err := ec.Send(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	_ = ec.Close()
	_ = accept(t, owner).Close()

	// Refused dials.
	if _, err := edge.Dial(ctx, "nobody", "s4", nil); !errors.Is(err, ErrPeerGone) {
		t.Fatalf("dial to an unregistered node: %v", err)
	}
	ec, err = edge.Dial(ctx, "owner", "s5", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := edge.Dial(ctx, "owner", "s5", nil); !errors.Is(err, ErrSessionExists) {
		t.Fatalf("dial with a session id in use: %v", err)
	}
	if _, err := edge.Dial(ctx, "owner", "bad\x00id", nil); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("dial with a bad id: %v", err)
	}

	// The backlog holds one unaccepted session (s5); a second is refused, and its edge reads EOF.
	ec6, err := edge.Dial(ctx, "owner", "s6", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recvWithin(t, ec6, 10*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("edge of a refused session: %v", err)
	}
	if oc := accept(t, owner); oc.SessionID() != "s5" {
		t.Fatalf("accepted %s", oc.SessionID())
	}
	_ = ec.Close()
	_ = ec6.Close()
}

// TestRelayPeerDeath crashes a node holding both an edge end and an owner end; the surviving node's
// sessions must fail with ErrPeerGone within the TTL and a heartbeat or two.
func TestRelayPeerDeath(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	cfg := fastConfig(t)
	_, a := startRelayNode(t, srv, "a", cfg, RelayConfig{})
	bReg, b := startRelayNode(t, srv, "b", cfg, RelayConfig{})
	admin := srv.Client(t)
	ctx := context.Background()

	aEdge, err := a.Dial(ctx, "b", "s1", []byte("join"))
	if err != nil {
		t.Fatal(err)
	}
	bOwner := accept(t, b)
	bEdge, err := b.Dial(ctx, "a", "s2", []byte("join"))
	if err != nil {
		t.Fatal(err)
	}
	aOwner := accept(t, a)
	for _, c := range []*RelayConn{bOwner, aOwner} {
		if msg, err := recvWithin(t, c, 10*time.Second); err != nil || string(msg) != "join" {
			t.Fatalf("join: %q %v", msg, err)
		}
	}
	_ = bEdge

	// b crashes: no heartbeat, no relay, no goodbye.
	bReg.halt()
	b.halt()
	crashed := time.Now()
	var wg sync.WaitGroup
	detected := make([]time.Duration, 2)
	for i, c := range []*RelayConn{aEdge, aOwner} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := recvWithin(t, c, cfg.NodeTTL+10*time.Second)
			detected[i] = time.Since(crashed)
			if !errors.Is(err, ErrPeerGone) {
				t.Errorf("%s: %v, want ErrPeerGone", c.SessionID(), err)
			}
			if err := c.Send(ctx, []byte("x")); !errors.Is(err, ErrPeerGone) {
				t.Errorf("send on %s after peer death: %v", c.SessionID(), err)
			}
		}()
	}
	wg.Wait()
	t.Logf("peer death detected after %s (edge end) and %s (owner end); TTL %s, heartbeat %s",
		detected[0].Round(time.Millisecond), detected[1].Round(time.Millisecond), cfg.NodeTTL, cfg.Heartbeat)
	// The bound is recvWithin's deadline: how soon after the TTL the survivor notices depends on how
	// soon its goroutines run, which is the machine's business, not the test's.
	// The survivor deleted the sessions' keys; the dead node's own keys expire within its TTL.
	waitFor(t, 10*time.Second, "session keys deleted", func() bool {
		return len(sessionKeys(t, admin, "s1")) == 0 && len(sessionKeys(t, admin, "s2")) == 0
	})
	waitFor(t, cfg.NodeTTL+10*time.Second, "dead node's keys expire", func() bool {
		for _, k := range allKeys(t, admin) {
			if strings.HasSuffix(k, ":b") {
				return false
			}
		}
		return true
	})
	if _, err := a.Dial(ctx, "b", "s3", nil); !errors.Is(err, ErrPeerGone) {
		t.Fatalf("dial to the dead node: %v", err)
	}
}

// TestRelayAcrossRedisRestart: sessions open when Redis restarts empty carry on: a send waiting for
// Redis lands once it is back, both ends re-create their keys and exchange messages on the same
// session, and the relays carry new sessions without a restart.
func TestRelayAcrossRedisRestart(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	cfg := fastConfig(t)
	aReg, a := startRelayNode(t, srv, "a", cfg, RelayConfig{})
	bReg, b := startRelayNode(t, srv, "b", cfg, RelayConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	edge, err := a.Dial(ctx, "b", "s1", []byte("join"))
	if err != nil {
		t.Fatal(err)
	}
	owner := accept(t, b)
	if msg, err := recvWithin(t, owner, 10*time.Second); err != nil || string(msg) != "join" {
		t.Fatalf("join: %q %v", msg, err)
	}

	srv.Stop()
	sent := make(chan error, 1)
	go func() { sent <- edge.Send(ctx, []byte("during the outage")) }() // retries until Redis answers
	time.Sleep(2 * cfg.NodeTTL)                                         // every key would have expired
	srv.Restart()
	restarted := time.Now()
	if err := <-sent; err != nil {
		t.Fatalf("send across the restart: %v", err)
	}
	if msg, err := recvWithin(t, owner, 10*time.Second); err != nil || string(msg) != "during the outage" {
		t.Fatalf("owner after the restart: %q %v", msg, err)
	}
	if err := owner.Send(ctx, []byte("still here")); err != nil {
		t.Fatalf("owner's send after the restart: %v", err)
	}
	if msg, err := recvWithin(t, edge, 10*time.Second); err != nil || string(msg) != "still here" {
		t.Fatalf("edge after the restart: %q %v", msg, err)
	}
	t.Logf("session carried both ways %s after redis restarted", time.Since(restarted).Round(time.Millisecond))
	time.Sleep(3 * cfg.NodeTTL) // past the resume grace: the session must still be healthy
	if err := edge.Send(ctx, []byte("later")); err != nil {
		t.Fatalf("edge's send after the grace: %v", err)
	}
	if msg, err := recvWithin(t, owner, 10*time.Second); err != nil || string(msg) != "later" {
		t.Fatalf("owner after the grace: %q %v", msg, err)
	}
	waitFor(t, 10*time.Second, "nodes re-registered", func() bool { return aReg.Healthy() && bReg.Healthy() })

	edge, err = a.Dial(ctx, "b", "s2", []byte("join again"))
	if err != nil {
		t.Fatal(err)
	}
	owner = accept(t, b)
	if msg, err := recvWithin(t, owner, 10*time.Second); err != nil || string(msg) != "join again" {
		t.Fatalf("new session after restart: %q %v", msg, err)
	}
	if err := owner.Send(ctx, []byte("welcome")); err != nil {
		t.Fatal(err)
	}
	if msg, err := recvWithin(t, edge, 10*time.Second); err != nil || string(msg) != "welcome" {
		t.Fatalf("edge after restart: %q %v", msg, err)
	}
	t.Logf("new session carried both ways %s after redis restarted", time.Since(restarted).Round(time.Millisecond))
}
