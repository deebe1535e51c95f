package cluster

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func nodeIDs(t *testing.T, reg *Registry) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	nodes, err := reg.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}

// resume restarts a halted heartbeat, as a node whose process was paused would.
func (r *Registry) resume() {
	ctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	r.cancel, r.done = cancel, make(chan struct{})
	done := r.done
	r.mu.Unlock()
	go r.loop(ctx, done)
}

func TestRegistryTTLExpiry(t *testing.T) {
	srv := startRedis(t)
	cfg := fastConfig(t)
	a, _ := startNode(t, srv, "a", "eu", cfg)
	b, _ := startNode(t, srv, "b", "eu", cfg)
	c, _ := startNode(t, srv, "c", "us", cfg)
	if got := nodeIDs(t, a); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("nodes %v", got)
	}
	// Several heartbeats later everyone is still there: the heartbeat refreshes the TTL.
	time.Sleep(cfg.NodeTTL + cfg.Heartbeat)
	if got := nodeIDs(t, a); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("nodes after a TTL: %v", got)
	}

	b.halt() // b stops heart-beating without a word
	took := waitFor(t, cfg.NodeTTL+10*time.Second, "halted node drops out", func() bool {
		return !slices.Contains(nodeIDs(t, a), "b")
	})
	t.Logf("a node that stopped heart-beating dropped out after %s (TTL %s, heartbeat %s)", took.Round(time.Millisecond), cfg.NodeTTL, cfg.Heartbeat)
	// The last heartbeat came at most a heartbeat before the halt, so the TTL cannot have run out
	// sooner than this; how much later the poll sees it depends on the machine, so only the deadline
	// above bounds it.
	if took < cfg.NodeTTL-2*cfg.Heartbeat {
		t.Errorf("b dropped out %s after it stopped, before its TTL (%s) could have run out", took, cfg.NodeTTL)
	}

	ctx := context.Background()
	if err := c.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if got := nodeIDs(t, a); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after c left: %v", got)
	}
	if err := c.Start(ctx); !errors.Is(err, ErrLeft) {
		t.Fatalf("start after leave: %v", err)
	}
}

func TestRegistryLoadAndDraining(t *testing.T) {
	srv := startRedis(t)
	cfg := fastConfig(t)
	a, _ := startNode(t, srv, "a", "eu", cfg)
	b, _ := startNode(t, srv, "b", "us", cfg)
	ctx := context.Background()

	a.SetLoad(Load{Rooms: 3, Participants: 12, Tracks: 20, CPU: 0.25})
	waitFor(t, 10*time.Second, "load published", func() bool {
		n, ok, err := b.Node(ctx, "a")
		return err == nil && ok && n.Load == Load{Rooms: 3, Participants: 12, Tracks: 20, CPU: 0.25}
	})
	a.SetDraining(true)
	took := waitFor(t, 10*time.Second, "draining published", func() bool {
		n, ok, err := b.Node(ctx, "a")
		return err == nil && ok && n.Draining
	})
	t.Logf("draining visible after %s", took.Round(time.Millisecond))
	n, _, _ := b.Node(ctx, "a")
	if n.Region != "eu" || n.SignalURL == "" || n.MediaAddr == "" || n.StartedAt.IsZero() || n.UpdatedAt.IsZero() {
		t.Fatalf("node info %+v", n)
	}
	if !a.Healthy() || !b.Healthy() {
		t.Fatal("healthy registries report unhealthy")
	}
}

func TestRegistryValidates(t *testing.T) {
	if _, err := NewRegistry(nil, NodeInfo{ID: ""}, Config{}); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("empty id: %v", err)
	}
	if _, err := NewRegistry(nil, NodeInfo{ID: "a\nb"}, Config{}); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("control character: %v", err)
	}
	if _, err := NewRegistry(nil, NodeInfo{ID: "a"}, Config{NodeTTL: time.Second, Heartbeat: time.Second}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("heartbeat = TTL: %v", err)
	}
}

// TestRedisRestart stops Redis under two nodes, starts it again empty, and expects the nodes to notice,
// re-register and re-claim their rooms by themselves.
func TestRedisRestart(t *testing.T) {
	srv := startRedis(t)
	cfg := fastConfig(t)
	var mu sync.Mutex
	var changes []bool
	cfgA := cfg
	cfgA.OnHealthChange = func(h bool) {
		mu.Lock()
		changes = append(changes, h)
		mu.Unlock()
	}
	a, pa := startNode(t, srv, "a", "eu", cfgA)
	b, pb := startNode(t, srv, "b", "eu", cfg)
	ctx := context.Background()
	a.SetLoad(Load{Participants: 0})
	b.SetLoad(Load{Participants: 100}) // placement picks a
	for _, room := range []string{"r1", "r2", "r3"} {
		owner, err := pb.Claim(ctx, room, "")
		if err != nil || owner.ID != "a" {
			t.Fatalf("claim %s: %v %v", room, owner.ID, err)
		}
	}
	b.SetLoad(Load{Participants: 0})
	a.SetLoad(Load{Participants: 100})
	waitFor(t, 10*time.Second, "b's load published", func() bool {
		n, ok, err := a.Node(ctx, "b")
		return err == nil && ok && n.Load.Participants == 0
	})
	waitFor(t, 10*time.Second, "a learns rooms claimed for it", func() bool {
		return slices.Equal(a.Owned(), []string{"r1", "r2", "r3"})
	})
	if err := pa.AddParticipant(ctx, "r1", Participant{ID: "p1", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	took := waitFor(t, 10*time.Second, "a reports unhealthy", func() bool { return !a.Healthy() })
	t.Logf("unhealthy %s after redis stopped", took.Round(time.Millisecond))
	time.Sleep(cfg.NodeTTL) // a long outage: longer than the TTL
	srv.Restart()
	restarted := time.Now()
	waitFor(t, 10*time.Second, "a and b re-register", func() bool {
		return a.Healthy() && b.Healthy() && slices.Equal(nodeIDs(t, a), []string{"a", "b"})
	})
	t.Logf("both nodes registered again %s after redis restarted", time.Since(restarted).Round(time.Millisecond))
	for _, room := range []string{"r1", "r2", "r3"} {
		owner, ok, err := pb.Lookup(ctx, room)
		if err != nil || !ok || owner.ID != "a" {
			t.Fatalf("room %s after restart: owner %q found %v err %v", room, owner.ID, ok, err)
		}
	}
	// The participant list died with Redis's memory; the owner rebuilds it (SetParticipants).
	if err := pa.SetParticipants(ctx, "r1", []Participant{{ID: "p1", Name: "Ada"}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := slices.Clone(changes)
	mu.Unlock()
	if len(got) < 3 || !got[0] || got[1] || !got[len(got)-1] {
		t.Fatalf("health changes %v, want true, false, …, true", got)
	}
}
