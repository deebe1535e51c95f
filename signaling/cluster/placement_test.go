package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestClaimRace: 20 goroutines, half on each of two nodes (separate Registry, Placement and Redis
// client each), claim the same new room at once; all must name the same owner, and Redis must agree.
func TestClaimRace(t *testing.T) {
	srv := startRedis(t)
	cfg := fastConfig(t)
	a, pa := startNode(t, srv, "a", "eu", cfg)
	b, pb := startNode(t, srv, "b", "us", cfg)
	// Each node's racers prefer the node's own region, so the two nodes pick different candidates and
	// their claims genuinely conflict.
	const rounds, racers = 30, 20
	ctx := context.Background()
	rdb := srv.Client(t)
	owners := map[string]int{}
	var slowest time.Duration
	for round := 0; round < rounds; round++ {
		room := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		got := make([]string, racers)
		errs := make([]error, racers)
		for i := 0; i < racers; i++ {
			p, region := pa, "eu"
			if i%2 == 1 {
				p, region = pb, "us"
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				owner, err := p.Claim(ctx, room, region)
				got[i], errs[i] = owner.ID, err
			}()
		}
		began := time.Now()
		close(start)
		wg.Wait()
		slowest = max(slowest, time.Since(began))
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("round %d racer %d: %v", round, i, errs[i])
			}
			if got[i] != got[0] {
				t.Fatalf("round %d: racers disagree: %v", round, got)
			}
		}
		stored, err := rdb.Get(ctx, a.k.room(room)).Result()
		if err != nil || stored != got[0] {
			t.Fatalf("round %d: redis says %q (%v), racers %q", round, stored, err, got[0])
		}
		if other := map[string]*Placement{"a": pb, "b": pa}[got[0]]; other == nil || other.Owns(room) {
			t.Fatalf("round %d: owner %q; the other node believes it owns the room", round, got[0])
		}
		owners[got[0]]++
	}
	t.Logf("%d rounds of %d racers on 2 nodes: exactly one owner each time (a: %d, b: %d); slowest round %s",
		rounds, racers, owners["a"], owners["b"], slowest.Round(time.Microsecond))
	// After a heartbeat each owner knows its rooms (including those the other node claimed for it), and
	// no room is owned twice.
	waitFor(t, 10*time.Second, "every room known to its owner", func() bool {
		return len(a.Owned())+len(b.Owned()) >= rounds
	})
	for _, room := range a.Owned() {
		if slices.Contains(b.Owned(), room) {
			t.Fatalf("room %s owned by both", room)
		}
	}
	if len(a.Owned())+len(b.Owned()) != rounds {
		t.Fatalf("a owns %d, b owns %d, want %d in all", len(a.Owned()), len(b.Owned()), rounds)
	}
}

func TestClaimLeastLoadedAndRegion(t *testing.T) {
	srv := startRedis(t)
	cfg := fastConfig(t)
	ctx := context.Background()
	a, pa := startNode(t, srv, "a", "eu", cfg)
	b, _ := startNode(t, srv, "b", "eu", cfg)
	c, _ := startNode(t, srv, "c", "us", cfg)
	a.SetLoad(Load{Participants: 10})
	b.SetLoad(Load{Participants: 2})
	c.SetLoad(Load{Participants: 0})
	c.SetDraining(false) // publishes at once; a and b publish within a heartbeat
	waitFor(t, 10*time.Second, "loads published", func() bool {
		nodes, err := a.Nodes(ctx)
		return err == nil && len(nodes) == 3 && nodes[0].Load.Participants == 10 && nodes[1].Load.Participants == 2
	})
	claim := func(room, region, want string) {
		t.Helper()
		owner, err := pa.Claim(ctx, room, region)
		if err != nil || owner.ID != want {
			t.Fatalf("claim %s in %q: owner %q err %v, want %s", room, region, owner.ID, err, want)
		}
	}
	claim("r1", "eu", "b") // least loaded in the region
	claim("r2", "", "c")   // least loaded anywhere
	claim("r3", "ap", "c") // no node in the region: least loaded anywhere
	claim("r1", "us", "b") // an owned room keeps its owner whatever the region

	// CPU outranks participants (in 10 % steps).
	b.SetLoad(Load{Participants: 2, CPU: 0.9})
	a.SetLoad(Load{Participants: 10, CPU: 0.3})
	waitFor(t, 10*time.Second, "cpu published", func() bool {
		n, _, err := a.Node(ctx, "b")
		return err == nil && n.Load.CPU == 0.9
	})
	claim("r4", "eu", "a")

	// A draining node takes no new room but keeps the ones it has.
	c.SetDraining(true)
	waitFor(t, 10*time.Second, "draining published", func() bool {
		n, _, err := a.Node(ctx, "c")
		return err == nil && n.Draining
	})
	claim("r5", "us", "a")
	claim("r2", "", "c")
	a.SetDraining(true)
	b.SetDraining(true)
	waitFor(t, 10*time.Second, "all draining", func() bool {
		nodes, err := a.Nodes(ctx)
		return err == nil && !slices.ContainsFunc(nodes, func(n NodeInfo) bool { return !n.Draining })
	})
	if _, err := pa.Claim(ctx, "r6", ""); !errors.Is(err, ErrNoNode) {
		t.Fatalf("claim with every node draining: %v", err)
	}
	claim("r2", "", "c") // still found

	rooms, err := pa.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rooms {
		names = append(names, r.Name+"@"+r.Owner.ID)
	}
	if want := []string{"r1@b", "r2@c", "r3@c", "r4@a", "r5@a"}; !slices.Equal(names, want) {
		t.Fatalf("rooms %v, want %v", names, want)
	}
}

// TestClaimTakeover: a room whose owner's node key has expired is taken over atomically, and the old
// owner, once back, learns that it lost the room.
func TestClaimTakeover(t *testing.T) {
	srv := startRedis(t)
	cfg := fastConfig(t)
	ctx := context.Background()
	lost := make(chan []string, 4)
	cfgA := cfg
	cfgA.OnRoomsLost = func(rooms []string) { lost <- rooms }
	a, pa := startNode(t, srv, "a", "eu", cfgA)
	b, pb := startNode(t, srv, "b", "eu", cfg)
	b.SetDraining(true) // so the first claim goes to a
	if owner, err := pb.Claim(ctx, "room", ""); err != nil || owner.ID != "a" {
		t.Fatalf("first claim: %q %v", owner.ID, err)
	}
	if err := pa.AddParticipant(ctx, "room", Participant{ID: "p1", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	b.SetDraining(false)
	waitFor(t, 10*time.Second, "a learns the room b claimed for it", func() bool { return pa.Owns("room") })

	// a's process stalls: its heartbeat stops and its keys expire. b claims the room meanwhile.
	a.halt()
	halted := time.Now()
	took := waitFor(t, cfg.NodeTTL+10*time.Second, "b takes over", func() bool {
		owner, err := pb.Claim(ctx, "room", "")
		return err == nil && owner.ID == "b"
	})
	t.Logf("room taken over %s after its owner stopped (TTL %s)", took.Round(time.Millisecond), cfg.NodeTTL)
	if parts, err := pb.Participants(ctx, "room"); err != nil || len(parts) != 0 {
		t.Fatalf("the old owner's participant list survived the takeover: %v %v", parts, err)
	}
	_ = halted

	// Takeover of a claim that is still there while its owner's node key is gone (compare and swap).
	if owner, err := pb.Claim(ctx, "room2", ""); err != nil || owner.ID != "b" {
		t.Fatalf("claim room2: %q %v", owner.ID, err)
	}
	rdb := srv.Client(t)
	if err := rdb.Set(ctx, b.k.room("room2"), "ghost", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if owner, err := pb.Claim(ctx, "room2", ""); err != nil || owner.ID != "b" {
		t.Fatalf("claim of a ghost-owned room: %q %v", owner.ID, err)
	}
	if ttl := rdb.PTTL(ctx, b.k.room("room2")).Val(); ttl <= 0 || ttl > cfg.NodeTTL {
		t.Fatalf("taken-over claim has TTL %s", ttl)
	}

	// a comes back: it re-registers and hears that "room" is no longer its own.
	a.resume()
	select {
	case rooms := <-lost:
		if !slices.Equal(rooms, []string{"room"}) {
			t.Fatalf("lost %v", rooms)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a was not told it lost the room")
	}
	if pa.Owns("room") || !pb.Owns("room") {
		t.Fatal("ownership after takeover")
	}
	if err := pa.AddParticipant(ctx, "room", Participant{ID: "p2"}); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("old owner writes the participant list: %v", err)
	}
}

func TestReleaseOnlyByOwnerAndParticipants(t *testing.T) {
	srv := startRedis(t)
	cfg := fastConfig(t)
	ctx := context.Background()
	_, pa := startNode(t, srv, "a", "eu", cfg)
	b, pb := startNode(t, srv, "b", "eu", cfg)
	b.SetDraining(true)
	if owner, err := pa.Claim(ctx, "room", ""); err != nil || owner.ID != "a" {
		t.Fatalf("claim: %q %v", owner.ID, err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	parts := []Participant{
		{ID: "p2", Name: "Bob", Node: "b", JoinedAt: t0.Add(time.Second)},
		{ID: "p1", Name: "Ada", Node: "a", JoinedAt: t0, Meta: []byte(`{"role":"host"}`)},
	}
	if err := pa.SetParticipants(ctx, "room", parts); err != nil {
		t.Fatal(err)
	}
	if err := pb.AddParticipant(ctx, "room", Participant{ID: "p3"}); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("non-owner add: %v", err)
	}
	if err := pb.SetParticipants(ctx, "room", nil); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("non-owner set: %v", err)
	}
	if err := pa.AddParticipant(ctx, "room", Participant{ID: "p3", Name: "Cy", JoinedAt: t0.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := pa.RemoveParticipant(ctx, "room", "p2"); err != nil {
		t.Fatal(err)
	}
	got, err := pb.Participants(ctx, "room")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "p1" || got[1].ID != "p3" || string(got[0].Meta) != `{"role":"host"}` || got[0].Node != "a" {
		t.Fatalf("participants %+v", got)
	}
	rdb := srv.Client(t)
	if ttl := rdb.PTTL(ctx, b.k.roomMembers("room")).Val(); ttl <= 0 || ttl > cfg.NodeTTL {
		t.Fatalf("participant list TTL %s, want the claim's", ttl)
	}
	rooms, err := pb.Rooms(ctx)
	if err != nil || len(rooms) != 1 || rooms[0].Name != "room" || rooms[0].Owner.ID != "a" || rooms[0].Participants != 2 {
		t.Fatalf("rooms %+v %v", rooms, err)
	}

	if err := pb.Release(ctx, "room"); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("release by non-owner: %v", err)
	}
	if owner, ok, err := pb.Lookup(ctx, "room"); err != nil || !ok || owner.ID != "a" {
		t.Fatalf("after non-owner release: %q %v %v", owner.ID, ok, err)
	}
	if err := pa.Release(ctx, "room"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := pb.Lookup(ctx, "room"); err != nil || ok {
		t.Fatalf("after release: found %v err %v", ok, err)
	}
	if pa.Owns("room") {
		t.Fatal("owner still believes it owns a released room")
	}
	time.Sleep(2 * cfg.Heartbeat) // a heartbeat must not bring it back
	if _, ok, _ := pb.Lookup(ctx, "room"); ok {
		t.Fatal("released room re-claimed by a heartbeat")
	}
	if n := rdb.Exists(ctx, b.k.roomMembers("room"), b.k.room("room")).Val(); n != 0 {
		t.Fatalf("%d keys of the released room remain", n)
	}
	if err := pa.Release(ctx, "room"); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("second release: %v", err)
	}
}

func TestPickNode(t *testing.T) {
	nodes := []NodeInfo{
		{ID: "a", Region: "eu", Load: Load{Participants: 5}},
		{ID: "b", Region: "eu", Load: Load{Participants: 5, Rooms: 1}},
		{ID: "c", Region: "us", Load: Load{Participants: 1}},
		{ID: "d", Region: "us", Draining: true},
		{ID: "e", Region: "ap", Load: Load{CPU: 0.95}},
	}
	for _, tc := range []struct{ region, want string }{{"eu", "a"}, {"us", "c"}, {"", "c"}, {"xx", "c"}, {"ap", "e"}} {
		if got, ok := pickNode(nodes, tc.region); !ok || got.ID != tc.want {
			t.Errorf("region %q: %s, want %s", tc.region, got.ID, tc.want)
		}
	}
	if _, ok := pickNode([]NodeInfo{{ID: "d", Draining: true}}, ""); ok {
		t.Error("picked a draining node")
	}
	// Equal loads: the lowest id, whatever order the registry lists them in, so every node that places
	// the room at the same moment picks the same one.
	same := Load{Participants: 2, Rooms: 1, Tracks: 4, CPU: 0.2}
	for _, order := range [][]string{{"n2", "n1", "n3"}, {"n3", "n2", "n1"}, {"n1", "n3", "n2"}} {
		var list []NodeInfo
		for _, id := range order {
			list = append(list, NodeInfo{ID: id, Load: same})
		}
		if got, _ := pickNode(list, ""); got.ID != "n1" {
			t.Errorf("tie listed as %v: picked %s, want n1", order, got.ID)
		}
	}
	// Claimed rooms count when the node has not reported them yet.
	if got, _ := pickNode([]NodeInfo{{ID: "a", Claimed: 3}, {ID: "b", Load: Load{Rooms: 1}}}, ""); got.ID != "b" {
		t.Errorf("claimed rooms ignored: %s", got.ID)
	}
}
