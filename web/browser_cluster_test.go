package web_test

// Cluster mode with the bundled client (issue 5): two nodes share a room
// through a real redis-server. When the room's node goes away the browser on
// the other node is sent to reconnect, rejoins through its own node, which
// re-homes the room, and the call resumes once the other participant is back.

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/signaling/cluster"
	"github.com/huddlehq/huddle/signaling/cluster/redistest"
)

// withCluster puts a test node in cluster mode on a Redis, under id.
func withCluster(redisURL, id string) nodeOption {
	return func(c *node.Config) {
		c.Cluster = node.ClusterConfig{RedisURL: redisURL, NodeID: id, NodeTTL: 1500 * time.Millisecond}
	}
}

// TestBrowserClusterRoomMoves: tab A joins through node-a (which so owns
// the room), tab B through node-b (relayed to node-a); they decode each
// other. node-a stops: B reconnects by itself through node-b, which takes the
// room over; A reconnects once node-a is back on its address, now relayed to
// node-b; both decode each other's video again.
func TestBrowserClusterRoomMoves(t *testing.T) {
	browser := startBrowser(t)
	redisSrv := redistest.Start(t)
	rdb := cluster.NewClient(redisSrv.Addr)
	defer rdb.Close()
	owner := func() string {
		id, _ := rdb.Get(context.Background(), cluster.DefaultPrefix+"room:grand-rounds").Result()
		return id
	}
	a := startNode(t, "", withCluster(redisSrv.URL(), "node-a"))
	b := startNode(t, "", withCluster(redisSrv.URL(), "node-b"))
	dir := artifactsDir(t)

	ta, tb := openTab(t, browser, "A"), openTab(t, browser, "B")
	page := func(n *testNode, name string) string {
		return n.URL() + "/?" + url.Values{"room": {"grand-rounds"}, "name": {name}, "autojoin": {"1"}}.Encode()
	}
	if err := ta.Navigate(page(a, "Ada"), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	waitState(t, ta, "joined", 15*time.Second) // A first: the room is placed on node-a
	var wg sync.WaitGroup
	var errB error
	wg.Go(func() { errB = watchTab(tb, page(b, "Bob"), 30*time.Second).err })
	wg.Wait()
	if errB != nil {
		t.Fatal(errB)
	}
	if got := owner(); got != "node-a" {
		t.Fatalf("room owner %q, want node-a (A joined there first)", got)
	}
	ids := map[*tab]string{}
	for _, tab := range []*tab{ta, tb} {
		v, err := evalJS[reconnectView](tab.Ctx, reconnectViewJS)
		if err != nil {
			t.Fatal(err)
		}
		ids[tab] = v.Participant
	}
	if _, err := waitVideoFrom(ta, ids[tb], 20*time.Second); err != nil {
		t.Fatalf("A before the move: %v", err)
	}

	addrA := strings.TrimPrefix(a.URL(), "http://")
	stoppedAt := time.Now()
	a.Stop()
	v, err := waitJS(tb.Ctx, 20*time.Second, 100*time.Millisecond, reconnectViewJS, func(v reconnectView) bool {
		return v.Connection == "connected" && v.Reconnects.Count >= 1
	})
	if err != nil {
		t.Fatalf("B did not reconnect through node-b: %v (last %+v)", err, v)
	}
	t.Logf("B rejoined through node-b %s after node-a stopped", time.Since(stoppedAt).Round(10*time.Millisecond))
	if got := owner(); got != "node-b" {
		t.Fatalf("room owner after node-a stopped: %q, want node-b", got)
	}

	startNode(t, addrA, withCluster(redisSrv.URL(), "node-a"))
	restartedAt := time.Now()
	for tab, other := range map[*tab]*tab{ta: tb, tb: ta} {
		v, err := waitJS(tab.Ctx, 30*time.Second, 100*time.Millisecond, reconnectViewJS, func(v reconnectView) bool {
			return v.Connection == "connected" && len(v.Tiles) == 1 && v.Tiles[0].ParticipantID != ids[other]
		})
		if err != nil {
			t.Fatalf("tab %s: no fresh tile of the other after the move: %v (last %+v)", tab.Name, err, v)
		}
		if _, err := waitVideoFrom(tab, v.Tiles[0].ParticipantID, 20*time.Second); err != nil {
			t.Fatalf("after the move: %v", err)
		}
	}
	t.Logf("both tabs decode each other again %s after node-a came back", time.Since(restartedAt).Round(10*time.Millisecond))
	for _, tab := range []*tab{ta, tb} {
		if path, err := saveScreenshot(tab.Ctx, dir, "cluster-moved-"+tab.Name); err == nil {
			t.Logf("tab %s after the move: %s", tab.Name, path)
		}
	}
}
