package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/cluster"
	"github.com/huddlehq/huddle/signaling/cluster/redistest"
	"github.com/huddlehq/huddle/signaling/protocol"
)

const (
	failoverKeyID  = "APIfailover"
	failoverSecret = "failover-test-secret-of-at-least-32-bytes"
	failoverRoom   = "lesson"
)

// startKeyedProcess is startServerProcess with API keys, so that roles come from tokens.
func startKeyedProcess(t *testing.T, bin, id, redisURL string) *serverProcess {
	t.Helper()
	return startServerProcessEnv(t, bin, id, redisURL, []string{"HUDDLE_API_KEY=" + failoverKeyID, "HUDDLE_API_SECRET=" + failoverSecret})
}

// member is one signalling session that keeps the last room_state it was sent.
type member struct {
	name   string
	c      *client.Client
	joined protocol.Joined
	mu     sync.Mutex
	state  protocol.RoomState
}

func (m *member) roomState() protocol.RoomState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// joinAs joins the lesson at url with a token for identity and role.
func joinAs(t *testing.T, keys *auth.Keyring, url, identity string, role auth.Role) (*member, error) {
	t.Helper()
	claims := auth.Claims{Room: failoverRoom, Name: identity, Role: role, Policy: &auth.Policy{Mode: auth.ModeClassroom}}
	claims.Subject = identity
	token, err := keys.Mint(claims, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{})
	if err != nil {
		return nil, err
	}
	joined, err := c.JoinWithToken(ctx, failoverRoom, identity, token)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	m := &member{name: identity, c: c, joined: joined}
	m.state = joined.RoomState
	go func() {
		for {
			select {
			case env := <-c.Events():
				if env.Type == protocol.TypeRoomState {
					var st protocol.RoomState
					if json.Unmarshal(env.Data, &st) == nil {
						m.mu.Lock()
						m.state = st
						m.mu.Unlock()
					}
				}
			case <-c.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { _ = c.Close() })
	return m, nil
}

func mustJoin(t *testing.T, keys *auth.Keyring, url, identity string, role auth.Role) *member {
	t.Helper()
	m, err := joinAs(t, keys, url, identity, role)
	if err != nil {
		t.Fatalf("%s joins: %v", identity, err)
	}
	return m
}

func refusedWith(err error) string {
	var perr *protocol.Error
	if errors.As(err, &perr) {
		return perr.Code
	}
	return fmt.Sprint(err)
}

// TestFailoverKeepsRoomRules: two server processes and a real redis-server. In a classroom the teacher
// bans bob, locks the room, grants carol the microphone, carol and dave raise their hands and dave is
// spotlit. The room's owner is killed with SIGKILL; everyone rejoins on the survivor, which re-homes the
// room with its rules: bob is refused `banned`, a new student `room_locked`, carol may still publish her
// microphone, and the hands queue and the spotlight are as before (for the new participant ids).
func TestFailoverKeepsRoomRules(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two server processes")
	}
	redisSrv := redistest.Start(t)
	bin := buildServer(t)
	keys, err := auth.NewKeyring(auth.Key{ID: failoverKeyID, Secret: failoverSecret})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]*serverProcess{}
	for _, id := range []string{"node-a", "node-b"} {
		nodes[id] = startKeyedProcess(t, bin, id, redisSrv.URL())
	}
	a := nodes["node-a"]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	teacher := mustJoin(t, keys, a.wsURL(), "teacher", auth.RoleHost)
	carol := mustJoin(t, keys, a.wsURL(), "carol", auth.RoleAttendee)
	dave := mustJoin(t, keys, a.wsURL(), "dave", auth.RoleAttendee)
	bob := mustJoin(t, keys, a.wsURL(), "bob", auth.RoleAttendee)

	if err := teacher.c.RemoveParticipant(ctx, bob.joined.ParticipantID, true); err != nil {
		t.Fatalf("ban bob: %v", err)
	}
	locked := true
	if err := teacher.c.RoomSettings(ctx, nil, &locked); err != nil {
		t.Fatalf("lock: %v", err)
	}
	if err := teacher.c.SetGrants(ctx, carol.joined.ParticipantID, []string{"microphone"}); err != nil {
		t.Fatalf("grant carol: %v", err)
	}
	for _, m := range []*member{carol, dave} {
		if err := m.c.RaiseHand(ctx, true); err != nil {
			t.Fatalf("%s raises a hand: %v", m.name, err)
		}
	}
	if err := teacher.c.Spotlight(ctx, dave.joined.ParticipantID); err != nil {
		t.Fatalf("spotlight dave: %v", err)
	}
	want := []string{carol.joined.ParticipantID, dave.joined.ParticipantID}
	eventually(t, 5*time.Second, "the teacher sees both hands and the spotlight", func() bool {
		st := teacher.roomState()
		return slices.Equal(st.Hands, want) && st.Spotlight == dave.joined.ParticipantID && st.Locked
	})

	// The owner writes the rules asynchronously: wait until Redis has them all before the kill (a write
	// still queued in a process that is killed is lost with it, whatever the design).
	rdb := cluster.NewClient(redisSrv.Addr)
	defer rdb.Close()
	eventually(t, 5*time.Second, "the room's rules in Redis", func() bool {
		d, err := rdb.HGet(ctx, cluster.DefaultPrefix+"room-state:"+failoverRoom, "d").Result()
		if err != nil {
			return false
		}
		var snap struct {
			Policy *auth.Policy
			Bans   []string
			Grants map[string]auth.Grants
			Hands  []string
			Spot   string `json:"spotlight"`
		}
		return json.Unmarshal([]byte(d), &snap) == nil && snap.Policy != nil && snap.Policy.Locked &&
			slices.Equal(snap.Bans, []string{"bob"}) && len(snap.Grants["carol"].Publish) == 1 &&
			slices.Equal(snap.Hands, []string{"carol", "dave"}) && snap.Spot == "dave"
	})

	ownerID, err := rdb.Get(ctx, cluster.DefaultPrefix+"room:"+failoverRoom).Result()
	if err != nil {
		t.Fatalf("room claim: %v", err)
	}
	owner := nodes[ownerID]
	var survivor *serverProcess
	for id, n := range nodes {
		if id != ownerID {
			survivor = n
		}
	}
	if err := owner.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-owner.exited
	for _, m := range []*member{teacher, carol, dave} {
		select {
		case <-m.c.Done():
		case <-time.After(15 * time.Second):
			t.Fatalf("%s's session outlived its node", m.name)
		}
	}

	// Everyone rejoins on the survivor, the teacher first (a locked room admits its moderators). The
	// survivor takes the room over once the dead owner's claim expires (node_ttl).
	var teacher2 *member
	eventually(t, 20*time.Second, "the teacher rejoins on the survivor", func() bool {
		m, err := joinAs(t, keys, survivor.wsURL(), "teacher", auth.RoleHost)
		if err != nil {
			t.Logf("teacher rejoin: %v", err)
			return false
		}
		teacher2 = m
		return true
	})
	carol2 := mustJoin(t, keys, survivor.wsURL(), "carol", auth.RoleAttendee)
	dave2 := mustJoin(t, keys, survivor.wsURL(), "dave", auth.RoleAttendee)

	if _, err := joinAs(t, keys, survivor.wsURL(), "bob", auth.RoleAttendee); refusedWith(err) != protocol.CodeBanned {
		t.Errorf("bob after the failover: %v, want banned", err)
	}
	if _, err := joinAs(t, keys, survivor.wsURL(), "erin", auth.RoleAttendee); refusedWith(err) != protocol.CodeRoomLocked {
		t.Errorf("a new student after the failover: %v, want room_locked", err)
	}
	if g := carol2.joined.Grants; !slices.Contains(g.Publish, "microphone") {
		t.Errorf("carol's grants after the failover: %+v, want the microphone", carol2.joined.Grants)
	}
	if g := dave2.joined.Grants; len(g.Publish) > 0 {
		t.Errorf("dave's grants after the failover: %+v, want none to publish (classroom)", dave2.joined.Grants)
	}
	want = []string{carol2.joined.ParticipantID, dave2.joined.ParticipantID}
	eventually(t, 5*time.Second, "the hands and the spotlight back as they were", func() bool {
		st := teacher2.roomState()
		return slices.Equal(st.Hands, want) && st.Spotlight == dave2.joined.ParticipantID && st.Locked && st.Mode == auth.ModeClassroom
	})
	t.Logf("after the failover the teacher sees %+v", teacher2.roomState())
}

// eventually polls cond every 50 ms until it holds, failing the test after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
