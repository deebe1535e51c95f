package cluster

import (
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

// TestLifecycleLeavesNothing runs two nodes through claims, participant lists and relayed sessions in
// every state (closed by the edge, closed by the owner, open, never accepted), shuts them down, and
// expects an empty database and no goroutine left behind. It is not parallel: it counts goroutines.
func TestLifecycleLeavesNothing(t *testing.T) {
	srv := startRedis(t)
	admin := NewClient(srv.Addr)
	cfg := fastConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	base := runtime.NumGoroutine()

	type node struct {
		reg   *Registry
		place *Placement
		relay *Relay
	}
	start := func(id string) node {
		reg, err := NewRegistry(NewClient(srv.Addr), NodeInfo{ID: id}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return node{reg, NewPlacement(reg), NewRelay(reg, RelayConfig{})}
	}
	a, b := start("a"), start("b")
	b.reg.SetDraining(true)
	for _, room := range []string{"r1", "r2"} {
		if owner, err := b.place.Claim(ctx, room, ""); err != nil || owner.ID != "a" {
			t.Fatalf("claim %s: %q %v", room, owner.ID, err)
		}
		if err := a.place.AddParticipant(ctx, room, Participant{ID: "p-" + room}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.place.Release(ctx, "r2"); err != nil {
		t.Fatal(err)
	}

	// b is the edge of four sessions owned by a.
	dial := func(sid string) *RelayConn {
		c, err := b.relay.Dial(ctx, "a", sid, []byte("join "+sid))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	e1, e2, e3 := dial("s1"), dial("s2"), dial("s3")
	o1, o2, o3 := accept(t, a.relay), accept(t, a.relay), accept(t, a.relay)
	for _, o := range []*RelayConn{o1, o2, o3} {
		if _, err := recvWithin(t, o, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	_ = e1.Close() // closed by the edge
	if _, err := recvWithin(t, o1, 10*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("o1: %v", err)
	}
	_ = o2.Close() // closed by the owner
	if _, err := recvWithin(t, e2, 10*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("e2: %v", err)
	}
	_ = e3.Send(ctx, []byte("still open"))
	dial("s4") // never accepted

	// Shut down: relays close their sessions, registries leave.
	for _, n := range []node{b, a} {
		if err := n.relay.Close(); err != nil {
			t.Fatal(err)
		}
		if err := n.reg.Leave(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o3.Recv(ctx); !errors.Is(err, ErrRelayClosed) {
		t.Fatalf("o3 after its relay closed: %v", err)
	}
	waitNoKeys(t, admin, 10*time.Second)
	for _, n := range []node{a, b} {
		_ = n.reg.rdb.Close()
	}
	_ = admin.Close()
	checkGoroutines(t, base)
}
