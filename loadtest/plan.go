package loadtest

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Roles of participants.
const (
	RolePublisher  = "publisher"  // camera and microphone (and maybe a screen share); receives the others
	RoleAudio      = "audio"      // microphone only; receives the others
	RoleSubscriber = "subscriber" // receives only
)

// participantSpec is one planned participant.
type participantSpec struct {
	Room, Name, Role    string
	Camera, Mic, Screen bool
	// StartOffset delays its sources' first frame, so that publishers are not in lockstep.
	StartOffset time.Duration
	// Node indexes the cluster node (Options.URL) it connects to.
	Node      int
	roomIndex int
	seed      uint64
}

// plan lists the participants in join order: every room's publishers first (so that whoever joins
// later finds media flowing), then the audio-only publishers, then the subscribers in a seeded random
// order over the rooms. With several nodes, each room's participants take them in turn in join order,
// room r starting at node r. The same options and seed give the same plan.
func plan(o Options) []participantSpec {
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x6c6f6164))
	room := func(r int) string { return fmt.Sprintf("%s-%d", o.RoomPrefix, r+1) }
	var out []participantSpec
	add := func(s participantSpec) {
		s.StartOffset = time.Duration(rng.Int64N(int64(time.Second / 30)))
		s.seed = rng.Uint64()
		out = append(out, s)
	}
	for i := range o.Publishers {
		for r := range o.Rooms {
			add(participantSpec{Room: room(r), roomIndex: r, Name: fmt.Sprintf("pub%d", i+1), Role: RolePublisher,
				Camera: true, Mic: true, Screen: i < o.ScreenShares})
		}
	}
	for i := range o.AudioPublishers {
		for r := range o.Rooms {
			add(participantSpec{Room: room(r), roomIndex: r, Name: fmt.Sprintf("mic%d", i+1), Role: RoleAudio, Mic: true})
		}
	}
	subs := make([]participantSpec, 0, o.Rooms*o.Subscribers)
	for i := range o.Subscribers {
		for r := range o.Rooms {
			subs = append(subs, participantSpec{Room: room(r), roomIndex: r, Name: fmt.Sprintf("sub%d", i+1), Role: RoleSubscriber})
		}
	}
	rng.Shuffle(len(subs), func(i, j int) { subs[i], subs[j] = subs[j], subs[i] })
	for _, s := range subs {
		add(s)
	}
	nodes := len(o.nodeURLs())
	joined := make([]int, o.Rooms) // per room, participants planned so far
	for i := range out {
		r := out[i].roomIndex
		out[i].Node = (r + joined[r]) % nodes
		joined[r]++
	}
	return out
}
