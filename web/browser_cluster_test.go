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

// TestBrowserClusterRoomMoves: tab A joins through node-a, tab B through
// node-b; placement puts the room on the less loaded of the two (which one is
// placement's business, TestPickNode's), and the other relays to it; they
// decode each other. The owner stops: the tab on the other node reconnects by
// itself through its own node, which takes the room over; the first tab
// reconnects once its node is back on its address, now relayed; both decode
// each other's video again.
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
	waitState(t, ta, "joined", 15*time.Second)
	var wg sync.WaitGroup
	var errB error
	wg.Go(func() { errB = watchTab(tb, page(b, "Bob"), 30*time.Second).err })
	wg.Wait()
	if errB != nil {
		t.Fatal(errB)
	}
	nodes := map[string]*testNode{"node-a": a, "node-b": b}
	tabOn := map[string]*tab{"node-a": ta, "node-b": tb}
	ownerID := owner()
	if nodes[ownerID] == nil {
		t.Fatalf("room owner %q, want node-a or node-b", ownerID)
	}
	survivorID := map[string]string{"node-a": "node-b", "node-b": "node-a"}[ownerID]
	t.Logf("the room was placed on %s", ownerID)
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

	stoppedAddr := strings.TrimPrefix(nodes[ownerID].URL(), "http://")
	survivorTab := tabOn[survivorID]
	before, err := evalJS[reconnectView](survivorTab.Ctx, reconnectViewJS)
	if err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	nodes[ownerID].Stop()
	v, err := waitJS(survivorTab.Ctx, 20*time.Second, 100*time.Millisecond, reconnectViewJS, func(v reconnectView) bool {
		return v.Connection == "connected" && v.Reconnects.Count > before.Reconnects.Count
	})
	if err != nil {
		t.Fatalf("tab %s did not reconnect through %s: %v (last %+v)", survivorTab.Name, survivorID, err, v)
	}
	t.Logf("tab %s rejoined through %s %s after %s stopped", survivorTab.Name, survivorID, time.Since(stoppedAt).Round(10*time.Millisecond), ownerID)
	if got := owner(); got != survivorID {
		t.Fatalf("room owner after %s stopped: %q, want %s", ownerID, got, survivorID)
	}

	startNode(t, stoppedAddr, withCluster(redisSrv.URL(), ownerID))
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
	t.Logf("both tabs decode each other again %s after %s came back", time.Since(restartedAt).Round(10*time.Millisecond), ownerID)
	for _, tab := range []*tab{ta, tb} {
		if path, err := saveScreenshot(tab.Ctx, dir, "cluster-moved-"+tab.Name); err == nil {
			t.Logf("tab %s after the move: %s", tab.Name, path)
		}
	}
}
