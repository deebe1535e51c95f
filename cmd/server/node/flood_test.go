package node_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestHandFloodCostsTheRoomNothing: during a live class one student toggles raise_hand a thousand
// times a second. The sender is refused with rate_limited; the other members get at most a handful of
// room_state messages a second; and the teacher's video keeps reaching another student: in no second
// of the flood do its packets stop arriving. With the node's limits as shipped the flooder is soon
// disconnected; with the disconnection set out of reach, the flood goes on for three seconds and the
// room still does not feel it.
func TestHandFloodCostsTheRoomNothing(t *testing.T) {
	t.Run("disconnected", func(t *testing.T) { handFlood(t, 0) })
	t.Run("sustained", func(t *testing.T) { handFlood(t, 1_000_000) })
}

func handFlood(t *testing.T, maxStrikes int) {
	n := startKeyedNode(t, func(c *node.Config) {
		if maxStrikes > 0 {
			c.Limits.MaxStrikes = maxStrikes
		}
	})
	class := roomPolicy(auth.Policy{Mode: auth.ModeClassroom})
	teacher, _ := mustJoinToken(t, n, "class-9", "teacher", mint(t, n, "class-9", "teacher", auth.RoleHost, class))
	watcher, _ := mustJoinToken(t, n, "class-9", "watcher", mint(t, n, "class-9", "watcher", auth.RoleAttendee, class))

	flooder, _ := mustJoinToken(t, n, "class-9", "flooder", mint(t, n, "class-9", "flooder", auth.RoleAttendee, class))
	var mu sync.Mutex
	refusals := 0
	go func() { // the flooder's own socket: the refusals it gets
		for {
			select {
			case env := <-flooder.c.Events():
				var e protocol.Error
				if env.Type == protocol.TypeError && json.Unmarshal(env.Data, &e) == nil && e.Code == protocol.CodeRateLimited {
					mu.Lock()
					refusals++
					mu.Unlock()
				}
			case <-flooder.c.Done():
				return
			}
		}
	}()

	ids := teacher.publish()
	video := ids[1]
	eventually(t, 10*time.Second, "the watcher receiving the teacher", func() bool { return watcher.packets(video) > 0 })

	// Count the watcher's room_state messages and sample its packets every 100 ms during the flood.
	var states int
	stop := make(chan struct{})
	statesDone := make(chan struct{})
	go func() {
		defer close(statesDone)
		for {
			select {
			case <-stop:
				return
			case env, ok := <-watcher.c.Events():
				if !ok {
					return
				}
				if env.Type == protocol.TypeRoomState {
					states++
				}
			}
		}
	}()

	const floodFor = 3 * time.Second
	start := time.Now()
	var longestSilence time.Duration
	lastPackets, lastMoved := watcher.packets(video), time.Now()
	sample := time.NewTicker(100 * time.Millisecond)
	defer sample.Stop()
	raised := true
	sent := 0
	for time.Since(start) < floodFor {
		select {
		case <-sample.C:
			if p := watcher.packets(video); p > lastPackets {
				lastPackets, lastMoved = p, time.Now()
			}
			longestSilence = max(longestSilence, time.Since(lastMoved))
		default:
		}
		// 1000 a second: one toggle per millisecond, without waiting for the answers.
		if err := flooder.c.Send(protocol.TypeRaiseHand, protocol.RaiseHand{Raised: &raised}); err != nil {
			break // the server closed the flooder
		}
		raised = !raised
		sent++
		if ahead := time.Duration(sent)*time.Millisecond - time.Since(start); ahead > 0 {
			time.Sleep(ahead) // keeps the average at 1000/s however coarse the sleeps
		}
	}
	took := time.Since(start)
	close(stop)
	<-statesDone

	mu.Lock()
	gotRefusals := refusals
	mu.Unlock()
	if gotRefusals == 0 {
		t.Errorf("the flooder sent %d raise_hand in %v and was never refused with rate_limited", sent, took)
	}
	perSecond := float64(states) / took.Seconds()
	// At most one per StateInterval (100 ms by default) and the first at once: a handful a second.
	if most := 2 + int(took/(100*time.Millisecond)); states > most {
		t.Errorf("the watcher got %d room_state in %v (%.1f a second), want at most %d", states, took, perSecond, most)
	}
	if longestSilence > time.Second {
		t.Errorf("the teacher's video stopped reaching the watcher for %v during the flood", longestSilence)
	}
	if maxStrikes == 0 {
		select {
		case <-flooder.c.Done():
		case <-time.After(10 * time.Second):
			t.Error("the flooder is still connected after a flood of refused messages")
		}
	} else if took < floodFor {
		t.Errorf("the sustained flood ended after %v", took)
	}
	t.Logf("flood: %d raise_hand sent in %v, %d refused; the watcher got %d room_state (%.1f/s); longest video gap %v",
		sent, took.Round(time.Millisecond), gotRefusals, states, perSecond, longestSilence.Round(time.Millisecond))
}
