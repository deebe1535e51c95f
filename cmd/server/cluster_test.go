package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/cluster"
	"github.com/huddlehq/huddle/signaling/cluster/redistest"
)

// serverProcess is the server binary running as one cluster node.
type serverProcess struct {
	id     string
	url    string // http://127.0.0.1:port
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
}

func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startServerProcess runs bin as node id of the cluster on redisURL and waits for /healthz.
func startServerProcess(t *testing.T, bin, id, redisURL string) *serverProcess {
	t.Helper()
	return startServerProcessEnv(t, bin, id, redisURL, nil)
}

// startServerProcessEnv is startServerProcess with extra environment variables (e.g. API keys).
func startServerProcessEnv(t *testing.T, bin, id, redisURL string, env []string) *serverProcess {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	p := &serverProcess{id: id, url: "http://" + addr, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "-http", addr, "-udp-port", fmt.Sprint(freePort(t, "udp")), "-tcp-port", "0", "-turn-port", "0", "-relay-ports", "0-0", "-redis", redisURL,
		"-node-id", id, "-log-level", "warn")
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.exited })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not come up: %v", id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *serverProcess) wsURL() string { return "ws" + p.url[len("http"):] + "/ws" }

// callPeer is a participant that publishes audio and video and, whenever its session ends underneath it,
// rejoins through any of its nodes and publishes again, as a user's client does.
type callPeer struct {
	t    *testing.T
	name string
	urls []string // its own node first

	mu       sync.Mutex
	client   *client.Client
	received map[string]*atomic.Int64 // packets by track id, across sessions
	rejoins  int

	stop chan struct{}
	done chan struct{}
}

func newCallPeer(t *testing.T, name string, urls ...string) *callPeer {
	p := &callPeer{t: t, name: name, urls: urls, received: make(map[string]*atomic.Int64),
		stop: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan error, 1)
	go p.run(ready)
	if err := <-ready; err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(p.close)
	return p
}

func (p *callPeer) run(ready chan<- error) {
	defer close(p.done)
	first := true
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, _, err := client.Rejoin(ctx, p.urls, client.Options{OnTrack: p.count}, "clinic", p.name)
		if err == nil {
			err = p.publish(c)
		}
		cancel()
		if first {
			ready <- err
			first = false
		}
		if err != nil {
			p.t.Errorf("%s: rejoin: %v", p.name, err)
			return
		}
		p.mu.Lock()
		p.client = c
		p.mu.Unlock()
		go func() {
			for {
				select {
				case env := <-c.Events():
					if env.Type == "stream_state" || env.Type == "error" {
						p.t.Logf("%s: %s %s", p.name, env.Type, env.Data)
					}
				case <-c.Done():
					return
				}
			}
		}()
		select {
		case <-c.Done(): // the node died or the room moved: go again
			p.mu.Lock()
			p.rejoins++
			p.mu.Unlock()
			_ = c.Close()
		case <-p.stop:
			_ = c.Close()
			return
		}
	}
}

// publish sends synthetic Opus and VP8 until the session ends.
func (p *callPeer) publish(c *client.Client) error {
	audio, err := media.NewOpus("audio", p.name)
	if err != nil {
		return err
	}
	video, err := media.NewVP8("video", p.name, media.Spec{BitrateBps: 300_000, FPS: 15, KeyframeInterval: 3 * time.Second})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Publish(ctx, client.LocalTrack{Track: audio.Track(), Source: "microphone"},
		client.LocalTrack{Track: video.Track(), Source: "camera", OnKeyframeRequest: video.RequestKeyframe}); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	run, stop := context.WithCancel(context.Background())
	go func() { <-c.Done(); stop() }()
	go func() { _ = audio.Run(run) }()
	go func() { _ = video.Run(run) }()
	return nil
}

func (p *callPeer) count(rt client.RemoteTrack) {
	if rt.Track.Kind().String() != "video" {
		return
	}
	n := new(atomic.Int64)
	p.mu.Lock()
	p.received[rt.ID] = n
	p.mu.Unlock()
	go nodetest.ReadPackets(rt, func(*rtp.Packet, int) { n.Add(1) })
}

func (p *callPeer) rejoinCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rejoins
}

// videoPackets is the total of video packets received, across sessions and tracks.
func (p *callPeer) videoPackets() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var total int64
	for _, n := range p.received {
		total += n.Load()
	}
	return total
}

func (p *callPeer) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// waitVideo waits until p receives more video than now, and says when it did.
func (p *callPeer) waitVideo(t *testing.T, within time.Duration, what string) time.Time {
	t.Helper()
	base := p.videoPackets()
	deadline := time.Now().Add(within)
	for p.videoPackets() < base+5 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no video within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Now()
}

// TestClusterOwnerKilled: two server processes share a room through Redis, one client on each. The
// room's owner is killed with SIGKILL; both clients reconnect by themselves (the one on the survivor is
// told the room moved, the other loses its socket), the room is re-homed on the survivor, and video
// flows again both ways. The time from the kill to video flowing again is measured.
func TestClusterOwnerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two server processes")
	}
	redisSrv := redistest.Start(t)
	bin := buildServer(t)
	nodes := map[string]*serverProcess{}
	for _, id := range []string{"node-a", "node-b"} {
		nodes[id] = startServerProcess(t, bin, id, redisSrv.URL())
	}
	a, b := nodes["node-a"], nodes["node-b"]
	ada := newCallPeer(t, "ada", a.wsURL(), b.wsURL())
	bob := newCallPeer(t, "bob", b.wsURL(), a.wsURL())
	ada.waitVideo(t, 10*time.Second, "ada receives bob before the kill")
	bob.waitVideo(t, 10*time.Second, "bob receives ada before the kill")

	rdb := cluster.NewClient(redisSrv.Addr)
	defer rdb.Close()
	ownerID, err := rdb.Get(context.Background(), cluster.DefaultPrefix+"room:clinic").Result()
	if err != nil {
		t.Fatalf("room claim: %v", err)
	}
	owner := nodes[ownerID]
	if err := owner.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-owner.exited

	// Both sessions were on the dead owner's room and must start again (packets already in flight on the
	// old sessions must not count as media flowing again); then measure from the kill to the later of
	// the two receiving video.
	deadline := time.Now().Add(20 * time.Second)
	for ada.rejoinCount() < 1 || bob.rejoinCount() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("rejoins: ada %d, bob %d; both sessions were on the dead owner and must have rejoined", ada.rejoinCount(), bob.rejoinCount())
		}
		time.Sleep(20 * time.Millisecond)
	}
	adaBack := ada.waitVideo(t, 20*time.Second, "ada receives bob after the kill")
	bobBack := bob.waitVideo(t, 20*time.Second, "bob receives ada after the kill")
	back := max(adaBack.Sub(killed), bobBack.Sub(killed))
	t.Logf("owner %s killed: video flowing both ways again after %s (ada %s, bob %s)", ownerID, back.Round(10*time.Millisecond),
		adaBack.Sub(killed).Round(10*time.Millisecond), bobBack.Sub(killed).Round(10*time.Millisecond))
	if back > 10*time.Second {
		t.Errorf("media flowed again %s after the kill; the bound is 10 s", back)
	}
	newOwner, err := rdb.Get(context.Background(), cluster.DefaultPrefix+"room:clinic").Result()
	if err != nil || newOwner == ownerID {
		t.Errorf("room re-homed on %q (%v), want the survivor", newOwner, err)
	}
	// No ghosts: the survivor's room holds ada and bob once each.
	survivor := nodes[newOwner]
	ac := &admin.Client{BaseURL: survivor.url}
	parts, err := ac.Participants(context.Background(), "clinic")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, p := range parts {
		names[p.Name]++
	}
	if len(parts) != 2 || names["ada"] != 1 || names["bob"] != 1 {
		t.Errorf("participants after the failover: %v, want ada and bob once each", names)
	}
}

// TestClusterDrainOnSIGTERM: a node told to stop (SIGTERM) keeps serving its room, new rooms go to the
// other node, and once its room has ended it leaves the cluster and exits cleanly.
func TestClusterDrainOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two server processes")
	}
	redisSrv := redistest.Start(t)
	bin := buildServer(t)
	nodes := map[string]*serverProcess{
		"node-a": startServerProcess(t, bin, "node-a", redisSrv.URL()),
		"node-b": startServerProcess(t, bin, "node-b", redisSrv.URL()),
	}
	ada := newCallPeer(t, "ada", nodes["node-a"].wsURL())
	bob := newCallPeer(t, "bob", nodes["node-a"].wsURL())
	ada.waitVideo(t, 10*time.Second, "ada receives bob")
	bob.waitVideo(t, 10*time.Second, "bob receives ada")
	rdb := cluster.NewClient(redisSrv.Addr)
	defer rdb.Close()
	// Placement puts the room on the least-loaded node, and CPU load counts: drain whichever it chose.
	ownerID, err := rdb.Get(context.Background(), cluster.DefaultPrefix+"room:clinic").Result()
	if err != nil || nodes[ownerID] == nil {
		t.Fatalf("room owner %q (%v)", ownerID, err)
	}
	a := nodes[ownerID]
	otherID := map[string]string{"node-a": "node-b", "node-b": "node-a"}[ownerID]

	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range 10 { // the drain has begun
		time.Sleep(100 * time.Millisecond)
		t.Logf("after SIGTERM: ada %d, bob %d video packets", ada.videoPackets(), bob.videoPackets())
	}
	for range 3 {
		bob.waitVideo(t, 3*time.Second, "bob still receives ada on the draining node")
	}
	select {
	case <-a.exited:
		t.Fatal("the draining node exited while its room was running")
	default:
	}
	// A new room joined through the draining node is placed on the other one.
	c, _, err := client.Rejoin(context.Background(), []string{a.wsURL()}, client.Options{}, "new-room", "carol")
	if err != nil {
		t.Fatalf("join of a new room through the draining node: %v", err)
	}
	if owner, _ := rdb.Get(context.Background(), cluster.DefaultPrefix+"room:new-room").Result(); owner != otherID {
		t.Errorf("new room placed on %q, want %s (the node not draining)", owner, otherID)
	}
	_ = c.Close()

	ada.close()
	bob.close()
	select {
	case <-a.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("the drained node did not exit after its room ended")
	}
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("drained node exit code %d, want 0", code)
	}
	if n, _ := rdb.Exists(context.Background(), cluster.DefaultPrefix+"node:"+ownerID).Result(); n != 0 {
		t.Error("the drained node is still registered")
	}
}
