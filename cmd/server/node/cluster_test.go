package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/cmd/server/node/testcert"
	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/cluster"
	"github.com/huddlehq/huddle/signaling/cluster/redistest"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// testCert is a test CA and server certificate, trusted by this process's TLS clients (pion's
// TURN-over-TLS dialer has no other way to trust one).
var testCert *testcert.Certificate

func TestMain(m *testing.M) {
	redis.SetLogger(node.RedisLogger(nodetest.Logger())) // not one line per refused dial while Redis is down
	dir, err := os.MkdirTemp("", "huddle-node-test-")
	if err == nil {
		testCert, err = testcert.New(dir)
	}
	if err == nil {
		err = testCert.TrustInProcess()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "test certificate:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// startClusterNode runs an in-process node in cluster mode on srv (dev mode: tokenless loopback joins).
func startClusterNode(t *testing.T, srv *redistest.Server, id string) *node.Node {
	return nodetest.Start(t, func(cfg *node.Config) {
		cfg.Cluster = node.ClusterConfig{RedisURL: srv.URL(), NodeID: id, NodeTTL: 1500 * time.Millisecond}
	})
}

// roomOwner reads the room's claim from Redis.
func roomOwner(t *testing.T, rdb *redis.Client, room string) string {
	t.Helper()
	owner, err := rdb.Get(context.Background(), cluster.DefaultPrefix+"room:"+room).Result()
	if err != nil && err != redis.Nil {
		t.Fatalf("read claim of %s: %v", room, err)
	}
	return owner
}

func keysLeft(t *testing.T, rdb *redis.Client) []string {
	t.Helper()
	keys, err := rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	return keys
}

// TestClusterTwoNodesExchangeMedia: two clients join one room through different nodes and receive each
// other's media; the room has one owner, both nodes list it cluster-wide, and when everyone has left and
// the nodes have stopped nothing is left in Redis and no goroutine lingers.
func TestClusterTwoNodesExchangeMedia(t *testing.T) {
	srv := redistest.Start(t)
	baseline := runtime.NumGoroutine() // after Redis: its process's waiters stay until cleanup
	rdb := cluster.NewClient(srv.Addr)
	defer rdb.Close()
	a, b := startClusterNode(t, srv, "node-a"), startClusterNode(t, srv, "node-b")

	ada := join(t, a, "ward", "ada", true)
	adaTracks := ada.publish()
	bob := join(t, b, "ward", "bob", true)
	bobTracks := bob.publish()
	for _, id := range bobTracks {
		eventually(t, 10*time.Second, "ada receives bob's "+id, func() bool { return ada.packets(id) > 20 })
	}
	for _, id := range adaTracks {
		eventually(t, 10*time.Second, "bob receives ada's "+id, func() bool { return bob.packets(id) > 20 })
	}
	owner := roomOwner(t, rdb, "ward")
	if owner != "node-a" { // ada's join placed it: both nodes were empty, node-a is first by id
		t.Fatalf("room owner %q, want node-a", owner)
	}
	if got := b.Signaling().Stats().Rooms; got != 0 {
		t.Errorf("node-b holds %d rooms; the room must live on node-a only", got)
	}
	for n, owned := range map[*node.Node]float64{a: 1, b: 0} {
		if reg, got := scrape(t, n, node.MetricClusterRegistered), scrape(t, n, node.MetricClusterOwnedRooms); reg != 1 || got != owned {
			t.Errorf("metrics of %s: registered %v, owned rooms %v; want 1 and %v", n.URL(), reg, got, owned)
		}
	}

	// Cluster-wide reads from the node that does not own the room.
	ac := &admin.Client{BaseURL: b.URL()}
	var rooms []admin.RoomInfo
	eventually(t, 5*time.Second, "node-b lists the room with 2 participants", func() bool {
		var err error
		rooms, err = ac.Rooms(context.Background())
		return err == nil && len(rooms) == 1 && rooms[0].Participants == 2
	})
	if rooms[0].Node != "node-a" {
		t.Errorf("room listed on node %q, want node-a", rooms[0].Node)
	}
	var parts []admin.ParticipantInfo
	eventually(t, 5*time.Second, "node-b lists both participants", func() bool {
		var err error
		parts, err = ac.Participants(context.Background(), "ward")
		return err == nil && len(parts) == 2
	})
	edges := map[string]string{}
	for _, p := range parts {
		edges[p.Name] = p.Node
	}
	if edges["ada"] != "node-a" || edges["bob"] != "node-b" {
		t.Errorf("participants' edge nodes %v, want ada on node-a and bob on node-b", edges)
	}

	// A change asked of the node that does not own the room says where the room lives (421), and the
	// admin client takes it there.
	checkRoomElsewhere(t, b, "ward", "node-a", a.URL())
	var bobIdentity string
	for _, p := range parts {
		if p.Name == "bob" {
			bobIdentity = p.Identity
		}
	}
	muted, err := ac.MuteTracks(context.Background(), "ward", bobIdentity, admin.MuteRequest{Source: "microphone", Muted: true})
	if err != nil || len(muted) != 1 || !slices.Contains(bobTracks, muted[0]) {
		t.Errorf("mute bob's microphone through node-b: %v, %v; want one of bob's tracks %v", muted, err, bobTracks)
	}

	ada.close()
	bob.close()
	eventually(t, 5*time.Second, "the room's claim is released", func() bool { return roomOwner(t, rdb, "ward") == "" })
	for _, n := range []*node.Node{a, b} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := n.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		cancel()
	}
	eventually(t, 5*time.Second, "no keys left in Redis", func() bool { return len(keysLeft(t, rdb)) == 0 })
	rdb.Close()
	goroutinesSettle(t, baseline)
}

// checkRoomElsewhere asks n, which does not own room, for it and expects 421 room_elsewhere naming the
// owner and its API's base.
func checkRoomElsewhere(t *testing.T, n *node.Node, room, owner, ownerURL string) {
	t.Helper()
	resp, err := http.Get(n.URL() + admin.Prefix + "rooms/" + room)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body admin.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET room %s from a non-owner: %d, body: %v", room, resp.StatusCode, err)
	}
	e := body.Error
	if resp.StatusCode != http.StatusMisdirectedRequest || e.Code != admin.CodeRoomElsewhere || e.Node != owner || e.BaseURL != ownerURL {
		t.Errorf("GET room %s from a non-owner: %d %+v; want 421 room_elsewhere naming %s at %s", room, resp.StatusCode, e, owner, ownerURL)
	}
}

// TestClusterJoinRace: twenty clients join the same new room at once through two nodes; the room gets
// exactly one owner and every client ends up in the same room, seeing the nineteen others.
func TestClusterJoinRace(t *testing.T) {
	srv := redistest.Start(t)
	rdb := cluster.NewClient(srv.Addr)
	defer rdb.Close()
	nodes := []*node.Node{startClusterNode(t, srv, "node-a"), startClusterNode(t, srv, "node-b")}

	const n = 20
	clients := make([]*client.Client, n)
	joined := make([]protocol.Joined, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := client.Dial(ctx, nodetest.WSURL(nodes[i%2]), client.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			clients[i] = c
			<-start
			joined[i], errs[i] = c.Join(ctx, "race", fmt.Sprintf("p%02d", i))
		}()
	}
	time.Sleep(200 * time.Millisecond) // let the dials land so the joins race
	close(start)
	wg.Wait()
	for i, c := range clients {
		if c != nil {
			defer c.Close()
		}
		if errs[i] != nil {
			t.Fatalf("client %d: %v", i, errs[i])
		}
	}
	owner := roomOwner(t, rdb, "race")
	rooms := nodes[0].Signaling().Stats().Rooms + nodes[1].Signaling().Stats().Rooms
	if owner == "" || rooms != 1 {
		t.Fatalf("owner %q and %d rooms across the nodes; want one owner and one room", owner, rooms)
	}
	// Everyone sees the nineteen others: those there at its join plus those announced after.
	for i, c := range clients {
		seen := map[string]bool{}
		for _, p := range joined[i].Participants {
			seen[p.ID] = true
		}
		deadline := time.After(10 * time.Second)
		for len(seen) < n-1 {
			select {
			case env := <-c.Events():
				if env.Type == protocol.TypeParticipantJoined {
					var pj protocol.ParticipantJoined
					if err := json.Unmarshal(env.Data, &pj); err == nil {
						seen[pj.Participant.ID] = true
					}
				}
			case <-deadline:
				t.Fatalf("client %d sees %d others, want %d", i, len(seen), n-1)
			}
		}
	}
	t.Logf("20 racing joins through 2 nodes: one owner (%s), one room", owner)
}

// TestClusterRedisRestart: Redis stops during a call between two nodes and comes back empty. Media
// never stops (it never touches Redis); a join that needs Redis meanwhile is refused with
// cluster_unavailable; once Redis is back the nodes re-register and a new client joins through either
// node.
func TestClusterRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startClusterNode(t, srv, "node-a"), startClusterNode(t, srv, "node-b")
	ada := join(t, a, "call", "ada", true)
	adaTracks, adaSources := ada.publishSources(media.Spec{BitrateBps: 300_000, FPS: 15})
	bob := join(t, b, "call", "bob", true)
	bobTracks, bobSources := bob.publishSources(media.Spec{BitrateBps: 300_000, FPS: 15})
	// Flowing: 10 more video packets each way before the publishers have sent 100 more (a few seconds
	// of their video). Counted against what the publishers sent, not the clock, so a machine too busy
	// to run the publishers on time is not taken for a stopped call; a stopped call never gets there.
	flowing := func(what string) {
		t.Helper()
		before := [2]int64{ada.packets(bobTracks[1]), bob.packets(adaTracks[1])}
		sentA, _ := adaSources[1].Sent()
		sentB, _ := bobSources[1].Sent()
		deadline := time.Now().Add(60 * time.Second) // a backstop: the send counts decide
		for {
			if ada.packets(bobTracks[1]) > before[0]+10 && bob.packets(adaTracks[1]) > before[1]+10 {
				return
			}
			nowA, _ := adaSources[1].Sent()
			nowB, _ := bobSources[1].Sent()
			if nowA > sentA+100 && nowB > sentB+100 || time.Now().After(deadline) {
				t.Fatalf("%s: %d and %d more packets received while the publishers sent %d and %d more", what,
					ada.packets(bobTracks[1])-before[0], bob.packets(adaTracks[1])-before[1], nowB-sentB, nowA-sentA)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	flowing("video flows both ways before the outage")

	srv.Stop()
	outage := time.Now()
	for time.Since(outage) < 4*time.Second { // longer than the claims' TTL
		flowing("video flows both ways while Redis is down")
	}
	for _, n := range []*node.Node{a, b} {
		_, _, err := joinAt(t, n, "new-room", "carol")
		if code := errorCode(err); code != protocol.CodeClusterUnavailable {
			t.Fatalf("join of a new room during the outage: %v (code %q), want %s", err, code, protocol.CodeClusterUnavailable)
		}
	}

	srv.Restart()
	for i, n := range []*node.Node{a, b} {
		name := fmt.Sprintf("late%d", i)
		var err error
		eventually(t, 10*time.Second, name+" joins after Redis is back", func() bool {
			var p *peer
			p, _, err = joinAt(t, n, "call", name)
			if err != nil {
				p.close()
				return false
			}
			return true
		})
	}
	flowing("video still flows both ways after the outage")
}

// joinAt dials n and joins room; the refusal is returned.
func joinAt(t *testing.T, n *node.Node, room, name string) (*peer, protocol.Joined, error) {
	t.Helper()
	p := &peer{t: t, name: name, received: make(map[string]*trackStats)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, nodetest.WSURL(n), client.Options{OnTrack: p.count})
	if err != nil {
		t.Fatal(err)
	}
	p.c = c
	t.Cleanup(p.close)
	joined, err := c.Join(ctx, room, name)
	return p, joined, err
}

// TestClusterLobbyAcrossNodes: a consultation whose patient reached another node than the clinician:
// the patient waits in the lobby of the room's node (relayed), the clinician sees and admits them, and
// the patient receives the clinician's media. A waiting patient keeps the room's claim: a clinician who
// arrives later through another node still lands in the same room.
func TestClusterLobbyAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	rdb := cluster.NewClient(srv.Addr)
	defer rdb.Close()
	keyed := func(id string) *node.Node {
		return startKeyedNode(t, func(cfg *node.Config) {
			cfg.Cluster = node.ClusterConfig{RedisURL: srv.URL(), NodeID: id, NodeTTL: 1500 * time.Millisecond}
		})
	}
	a, b := keyed("node-a"), keyed("node-b")
	consult := roomPolicy(auth.Policy{Mode: auth.ModeConsultation})

	patient, adm := joinWaiting(t, a, "consult-9", "Pat", mint(t, a, "consult-9", "patient-9", auth.RoleAttendee, consult))
	if adm.Lobby == nil {
		t.Fatalf("patient not in the lobby: %+v", adm)
	}
	time.Sleep(1500 * time.Millisecond) // a sync or two: a waiter alone must keep the claim
	if owner := roomOwner(t, rdb, "consult-9"); owner != "node-a" {
		t.Fatalf("claim of the waiting room: %q, want node-a", owner)
	}
	doctor, _ := mustJoinToken(t, b, "consult-9", "Dr Ada", mint(t, b, "consult-9", "dr-ada", auth.RoleHost, consult))
	ids := doctor.publish()
	ws := doctor.waitLobby(func(ws []protocol.Waiter) bool { return waiting(ws, "patient-9") != "" })
	if err := doctor.c.Admit(ctx5(t), waiting(ws, "patient-9")); err != nil {
		t.Fatalf("admit across nodes: %v", err)
	}
	joined, err := adm.Wait(ctx5(t))
	if err != nil || len(joined.Participants) != 1 {
		t.Fatalf("patient after admission: %+v %v", joined, err)
	}
	for _, id := range ids {
		eventually(t, 10*time.Second, "the patient receives the clinician's "+id, func() bool { return patient.packets(id) > 10 })
	}
	if rooms := a.Signaling().Stats().Rooms + b.Signaling().Stats().Rooms; rooms != 1 {
		t.Fatalf("%d rooms across the nodes, want 1", rooms)
	}
}
