package node_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestRoomMediaFlow: three participants publish Opus + VP8 and receive each other's tracks; a fourth
// joins late and receives all three, starting each video on a keyframe; one leaves, the others are told
// and stop receiving its tracks.
func TestRoomMediaFlow(t *testing.T) {
	n := startNode(t)
	names := []string{"alice", "bob", "carol"}
	peers := make([]*peer, len(names))
	tracks := make(map[string][]string) // publisher name → server track ids
	for i, name := range names {
		peers[i] = join(t, n, "ward-7", name, true)
	}
	for _, p := range peers {
		tracks[p.name] = p.publish()
	}

	receivesAll := func(p *peer, from ...string) func() bool {
		return func() bool {
			for _, pub := range from {
				for _, id := range tracks[pub] {
					if p.packets(id) < 10 {
						return false
					}
				}
			}
			return true
		}
	}
	for _, p := range peers {
		var others []string
		for _, q := range peers {
			if q != p {
				others = append(others, q.name)
			}
		}
		eventually(t, 15*time.Second, p.name+" receiving audio and video of "+others[0]+" and "+others[1], receivesAll(p, others...))
		for _, id := range tracks[p.name] {
			if got := p.packets(id); got != 0 {
				t.Errorf("%s receives its own track %s (%d packets)", p.name, id, got)
			}
		}
	}

	late := join(t, n, "ward-7", "dave", true)
	start := time.Now()
	eventually(t, 15*time.Second, "late joiner receiving all three", receivesAll(late, names...))
	t.Logf("late joiner received all 6 tracks after %s", time.Since(start).Round(time.Millisecond))
	for _, name := range names {
		video := tracks[name][1]
		if st := late.stats(video); st == nil || !st.firstKeyframe.Load() {
			t.Errorf("late joiner's first packet of %s's video was not a keyframe", name)
		}
	}

	carol := peers[2]
	if err := carol.c.Leave(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*peer{peers[0], peers[1], late} {
		unpublished := map[string]bool{}
		for len(unpublished) < 2 {
			env := p.waitEvent(5*time.Second, protocol.TypeTrackUnpublished, nil)
			var ev protocol.TrackEvent
			_ = json.Unmarshal(env.Data, &ev)
			if ev.Track.ParticipantID != carol.c.ParticipantID() {
				t.Fatalf("%s: unexpected track_unpublished %+v", p.name, ev.Track)
			}
			unpublished[ev.Track.ID] = true
		}
		p.waitEvent(5*time.Second, protocol.TypeParticipantLeft, func(env protocol.Envelope) bool {
			var ev protocol.ParticipantLeft
			_ = json.Unmarshal(env.Data, &ev)
			return ev.ParticipantID == carol.c.ParticipantID()
		})
	}
	time.Sleep(300 * time.Millisecond) // packets already in flight
	before := map[string]int64{}
	for _, id := range tracks["carol"] {
		before[id] = peers[0].packets(id) + late.packets(id)
	}
	aliceVideo := late.packets(tracks["alice"][1])
	time.Sleep(time.Second)
	for _, id := range tracks["carol"] {
		if after := peers[0].packets(id) + late.packets(id); after != before[id] {
			t.Errorf("carol's track %s still flowing after she left: %d → %d packets", id, before[id], after)
		}
	}
	if late.packets(tracks["alice"][1]) <= aliceVideo {
		t.Errorf("alice's video stopped reaching dave when carol left")
	}
	st := n.SFU().Stats()
	if st.Participants != 3 || st.Tracks != 4 {
		t.Errorf("after carol left the node holds %d participants and %d tracks, want 3 and 4", st.Participants, st.Tracks)
	}
}

// TestSlowSubscriberDoesNotStallOthers: a subscriber that never reads its tracks must not slow the
// delivery to a subscriber that does.
func TestSlowSubscriberDoesNotStallOthers(t *testing.T) {
	n := startNode(t)
	pub := join(t, n, "lecture", "teacher", true)
	stalled := join(t, n, "lecture", "stalled", false)
	good := join(t, n, "lecture", "student", true)
	ids, sources := pub.publishSources()
	eventually(t, 10*time.Second, "both subscribers connected", func() bool {
		return good.packets(ids[1]) > 0 && len(stalled.received) == 0 && n.SFU().Stats().Participants == 3
	})
	startGot := good.packets(ids[1])
	startSent, _ := sources[1].Sent()
	time.Sleep(3 * time.Second)
	got := good.packets(ids[1]) - startGot
	sentNow, _ := sources[1].Sent()
	sent := int64(sentNow - startSent)
	// Loopback loses nothing: the student must get (nearly) every video packet sent in the window.
	if sent == 0 || got < sent*95/100 {
		t.Fatalf("student received %d of %d video packets in 3 s beside a stalled subscriber", got, sent)
	}
	t.Logf("student received %d of %d video packets in 3 s beside a stalled subscriber", got, sent)
}
