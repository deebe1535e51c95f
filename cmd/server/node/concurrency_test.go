package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestConcurrentJoinsSeeEveryone: twenty clients join one room at once. Each must end up seeing exactly
// the nineteen others — those listed in its `joined` plus those announced by participant_joined — with
// nobody announced twice, and the node must hold one room.
func TestConcurrentJoinsSeeEveryone(t *testing.T) {
	n := startNode(t)
	const count = 20
	clients := make([]*client.Client, count)
	views := make([]map[string]int, count)
	var wg sync.WaitGroup
	errs := make(chan error, count)
	for i := range count {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			c, err := client.Dial(ctx, wsURL(n), client.Options{})
			if err != nil {
				errs <- err
				return
			}
			clients[i] = c
			joined, err := c.Join(ctx, "all-hands", fmt.Sprintf("site-%02d", i))
			if err != nil {
				errs <- err
				return
			}
			views[i] = map[string]int{}
			for _, p := range joined.Participants {
				views[i][p.ID]++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range clients {
			_ = c.Close()
		}
	})

	all := map[string]bool{}
	for _, c := range clients {
		all[c.ParticipantID()] = true
	}
	for i, c := range clients {
		deadline := time.After(10 * time.Second)
		for len(views[i]) < count-1 {
			select {
			case env := <-c.Events():
				if env.Type != protocol.TypeParticipantJoined {
					continue
				}
				var ev protocol.ParticipantJoined
				_ = json.Unmarshal(env.Data, &ev)
				views[i][ev.Participant.ID]++
			case <-deadline:
				t.Fatalf("client %d sees %d of %d others", i, len(views[i]), count-1)
			}
		}
		var seen []string
		for id, times := range views[i] {
			if times != 1 || !all[id] || id == c.ParticipantID() {
				t.Errorf("client %d: participant %s seen %d times (known: %v, self: %v)", i, id, times, all[id], id == c.ParticipantID())
			}
			seen = append(seen, id)
		}
		sort.Strings(seen)
		if len(seen) != count-1 {
			t.Errorf("client %d sees %d others, want %d", i, len(seen), count-1)
		}
	}
	if st := n.Signaling().Stats(); st.Rooms != 1 || st.Sessions != count {
		t.Fatalf("node holds %d rooms and %d sessions, want 1 and %d", st.Rooms, st.Sessions, count)
	}
}

// TestJoinLeaveChurn: clients join and leave one room in a tight loop, so joins race with the last
// leaver closing the room. Every join must succeed into the one live room, and afterwards the node must
// hold nothing.
func TestJoinLeaveChurn(t *testing.T) {
	n := startNode(t)
	const workers, rounds = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c, err := client.Dial(ctx, wsURL(n), client.Options{})
				if err == nil {
					_, err = c.Join(ctx, "churn", fmt.Sprintf("w%d-r%d", w, r))
					_ = c.Close()
				}
				cancel()
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	eventually(t, 10*time.Second, "the node to hold no room and no participant", func() bool {
		st, sg := n.SFU().Stats(), n.Signaling().Stats()
		return st.Rooms == 0 && st.Participants == 0 && sg.Rooms == 0 && sg.Sessions == 0
	})
}
