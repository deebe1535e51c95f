package node_test

import (
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/loadtest/netem"
	"github.com/huddlehq/huddle/signaling/protocol"
)

const testKeyframeInterval = 3 * time.Second

// TestSimulcastLayerSelection: a subscriber that asks for q receives only q; asking for f it switches
// within one keyframe interval; another subscriber that asks for nothing gets f on a clean link with no
// loss throughout.
func TestSimulcastLayerSelection(t *testing.T) {
	n := startNode(t)
	pub := publishSimulcast(t, join(t, n, "sim", "teacher", false), testKeyframeInterval)
	student := joinSimulcast(t, n, "sim", "student", nil)
	clean := joinSimulcast(t, n, "sim", "clean", nil)

	sm := student.waitMeter(t, pub.videoID)
	if err := student.c.SetTrackSettings(protocol.TrackSettings{TrackID: pub.videoID, MaxLayer: "q"}); err != nil {
		t.Fatal(err)
	}
	// A stream_state decided before the request reached the server may still arrive (the first
	// allocation, a raise): what is asserted is the state the request leads to and keeps.
	student.waitSettled(t, 10*time.Second, pub.videoID, "layer q", layerIs("q"), time.Second)
	time.Sleep(300 * time.Millisecond) // packets of the previous layer already in flight
	sm.reset()
	time.Sleep(2 * time.Second)
	perLayer, other := sm.counts()
	t.Logf("student asking for q, 2 s: packets per layer %v, untagged %d", perLayer, other)
	if perLayer[0] < 20 || perLayer[1] != 0 || perLayer[2] != 0 || other != 0 {
		t.Fatalf("asking for q received %v packets per layer (q, h, f) and %d untagged", perLayer, other)
	}

	asked := time.Now()
	if err := student.c.SetTrackSettings(protocol.TrackSettings{TrackID: pub.videoID, MaxLayer: "f"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, testKeyframeInterval+time.Second, "the student to receive f", func() bool { return !sm.first(2).IsZero() })
	t.Logf("q→f switch: first f packet %v after asking", sm.first(2).Sub(asked).Round(time.Millisecond))
	student.waitState(t, 5*time.Second, pub.videoID, "layer f", layerIs("f"))

	// The subscriber on a clean link got f from its first allocation and lost nothing since.
	cm := clean.waitMeter(t, pub.videoID)
	eventually(t, 10*time.Second, "the clean subscriber to receive f", func() bool { return !cm.first(2).IsZero() })
	cm.reset()
	time.Sleep(3 * time.Second)
	perLayer, _ = cm.counts()
	missing, total := cm.missing(50)
	t.Logf("clean subscriber, 3 s: packets per layer %v, missing %d of %d", perLayer, missing, total)
	if perLayer[0] != 0 || perLayer[1] != 0 || perLayer[2] < 300 {
		t.Errorf("clean subscriber left f: packets per layer %v", perLayer)
	}
	if missing != 0 {
		t.Errorf("clean subscriber lost %d of %d packets", missing, total)
	}
}

// TestSimulcastFollowsBandwidth: a subscriber behind a throttled link is moved down, paused when not
// even q fits (and told why), and moved back up to f when the cap lifts; a subscriber on a clean link
// keeps f with no loss throughout.
func TestSimulcastFollowsBandwidth(t *testing.T) {
	n := startNode(t)
	relay, err := netem.New(n.MediaAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	pub := publishSimulcast(t, join(t, n, "bw", "teacher", false), testKeyframeInterval)
	clean := joinSimulcast(t, n, "bw", "clean", nil)
	slow := joinSimulcast(t, n, "bw", "hospital-wifi", relay)

	sm := slow.waitMeter(t, pub.videoID)
	cm := clean.waitMeter(t, pub.videoID)
	slow.waitState(t, 15*time.Second, pub.videoID, "layer f before throttling", layerIs("f"))
	eventually(t, 10*time.Second, "the clean subscriber to receive f", func() bool { return !cm.first(2).IsZero() })
	cm.reset()

	start := time.Now()
	relay.SetRate(900_000)
	st := slow.waitState(t, 20*time.Second, pub.videoID, "a lower layer at 900 kbps", func(st protocol.StreamState) bool {
		return st.State == protocol.StreamActive && (st.Layer == "q" || st.Layer == "h")
	})
	t.Logf("capped at 900 kbps: moved to %s after %v", st.Layer, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	relay.SetRate(100_000)
	slow.waitState(t, 20*time.Second, pub.videoID, "paused for bandwidth at 100 kbps", func(st protocol.StreamState) bool {
		return st.State == protocol.StreamPaused && st.Reason == protocol.PausedBandwidth
	})
	t.Logf("capped at 100 kbps: paused for bandwidth after %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	relay.SetRate(0)
	slow.waitState(t, 60*time.Second, pub.videoID, "back to f once the cap lifts", layerIs("f"))
	t.Logf("cap lifted: back to f after %v", time.Since(start).Round(time.Millisecond))
	sm.reset()
	eventually(t, 5*time.Second, "f packets at the formerly throttled subscriber", func() bool { return !sm.first(2).IsZero() })

	perLayer, _ := cm.counts()
	missing, total := cm.missing(50)
	t.Logf("clean subscriber meanwhile: packets per layer %v, missing %d of %d", perLayer, missing, total)
	if perLayer[0] != 0 || perLayer[1] != 0 {
		t.Errorf("the clean subscriber left f while the other one was throttled: %v", perLayer)
	}
	if missing != 0 {
		t.Errorf("the clean subscriber lost %d of %d packets", missing, total)
	}
}

// TestNACKRecoveredFromCache: packets dropped on the way to a subscriber are recovered from the SFU's
// cache when the subscriber NACKs them.
func TestNACKRecoveredFromCache(t *testing.T) {
	n := startNode(t)
	relay, err := netem.New(n.MediaAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	pub := publishSimulcast(t, join(t, n, "nack", "teacher", false), testKeyframeInterval)
	sub := joinSimulcast(t, n, "nack", "student", relay)
	m := sub.waitMeter(t, pub.videoID)
	eventually(t, 10*time.Second, "video flowing", func() bool { p, _ := m.counts(); return p[0]+p[1]+p[2] > 100 })

	// Drop the first transmission of every 25th video packet (audio packets are under 200 bytes).
	var mu sync.Mutex // the relay calls the drop function from one goroutine per client flow
	dropped := make(map[uint16]bool)
	relay.SetDrop(func(dir netem.Direction, pkt []byte) bool {
		if dir != netem.Downlink || !netem.IsRTP(pkt) || len(pkt) < 200 {
			return false
		}
		seq := uint16(pkt[2])<<8 | uint16(pkt[3])
		mu.Lock()
		defer mu.Unlock()
		if seq%25 != 0 || dropped[seq] {
			return false
		}
		dropped[seq] = true
		return true
	})
	before := n.SFU().Stats().Retransmitted
	m.reset()
	time.Sleep(4 * time.Second)
	relay.SetDrop(nil)
	time.Sleep(500 * time.Millisecond)
	missing, total := m.missing(10)
	resent := n.SFU().Stats().Retransmitted - before
	mu.Lock()
	drops := len(dropped)
	mu.Unlock()
	t.Logf("dropped %d packets on the way; SFU resent %d; missing after retransmission %d of %d", drops, resent, missing, total)
	if drops < 10 {
		t.Fatalf("only %d packets dropped: the test did not exercise NACKs", drops)
	}
	if missing != 0 {
		t.Errorf("%d of %d packets never arrived", missing, total)
	}
	if resent < uint64(drops) {
		t.Errorf("SFU retransmitted %d packets for %d dropped", resent, drops)
	}
}

// TestDynacastPausesUnwantedLayers: when every subscriber asks for q, the publisher is told to stop
// sending h and f; when one asks for f again, f is resumed and reaches it.
func TestDynacastPausesUnwantedLayers(t *testing.T) {
	n := startNode(t)
	pub := publishSimulcast(t, join(t, n, "dyn", "teacher", false), testKeyframeInterval)
	sub := joinSimulcast(t, n, "dyn", "student", nil)
	m := sub.waitMeter(t, pub.videoID)
	active := func(env protocol.Envelope) map[string]bool {
		var msg protocol.PublisherLayers
		if err := json.Unmarshal(env.Data, &msg); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, l := range msg.Layers {
			out[l.RID] = l.Active
		}
		return out
	}
	// At first only q is wanted (nobody subscribes); the subscriber's allocation then wants f.
	pub.waitEvent(10*time.Second, protocol.TypePublisherLayers, func(env protocol.Envelope) bool { return active(env)["f"] })
	eventually(t, 5*time.Second, "f to reach the subscriber", func() bool { return !m.first(2).IsZero() })

	asked := time.Now()
	if err := sub.c.SetTrackSettings(protocol.TrackSettings{TrackID: pub.videoID, MaxLayer: "q"}); err != nil {
		t.Fatal(err)
	}
	pub.waitEvent(10*time.Second, protocol.TypePublisherLayers, func(env protocol.Envelope) bool {
		a := active(env)
		return a["q"] && !a["h"] && !a["f"]
	})
	t.Logf("h and f paused at the publisher %v after the last subscriber asked for q", time.Since(asked).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond)
	fBefore, _ := pub.sim.Sent("f")
	time.Sleep(time.Second)
	fAfter, _ := pub.sim.Sent("f")
	if fAfter != fBefore {
		t.Errorf("publisher still sends f after dynacast paused it (%d packets in 1 s)", fAfter-fBefore)
	}

	m.reset()
	if err := sub.c.SetTrackSettings(protocol.TrackSettings{TrackID: pub.videoID}); err != nil {
		t.Fatal(err)
	}
	pub.waitEvent(5*time.Second, protocol.TypePublisherLayers, func(env protocol.Envelope) bool { return active(env)["f"] })
	eventually(t, 5*time.Second, "f to reach the subscriber after dynacast resumed it", func() bool { return !m.first(2).IsZero() })
}

// TestActiveSpeakers: a publisher whose microphone carries loud audio levels is announced as speaking;
// when it falls silent, the list empties.
func TestActiveSpeakers(t *testing.T) {
	n := startNode(t)
	pub := publishSimulcast(t, join(t, n, "talk", "teacher", false), testKeyframeInterval)
	listener := join(t, n, "talk", "student", true)
	speakers := func(env protocol.Envelope) []protocol.Speaker {
		var msg protocol.ActiveSpeakers
		if err := json.Unmarshal(env.Data, &msg); err != nil {
			t.Fatal(err)
		}
		return msg.Speakers
	}
	pub.audio.SetAudioLevel(20, true) // -20 dBov: speaking
	env := listener.waitEvent(5*time.Second, protocol.TypeActiveSpeakers, func(env protocol.Envelope) bool {
		s := speakers(env)
		return len(s) == 1 && s[0].ParticipantID == pub.c.ParticipantID()
	})
	t.Logf("speaking: %s", env.Data)
	pub.audio.SetAudioLevel(127, false) // silence
	listener.waitEvent(5*time.Second, protocol.TypeActiveSpeakers, func(env protocol.Envelope) bool { return len(speakers(env)) == 0 })
}

// TestSimulcastWantedLayerNotFlowing: the publisher's encoder never sends f (short of bandwidth), though
// a subscriber's allocation wants it and dynacast asks for it. The subscriber gets the best layer that
// flows, h, not the lowest or nothing; when f starts, it moves up to f.
func TestSimulcastWantedLayerNotFlowing(t *testing.T) {
	n := startNode(t)
	pub := publishSimulcast(t, join(t, n, "starved", "teacher", false), testKeyframeInterval, "f")
	time.Sleep(1500 * time.Millisecond) // the server measures q and h flowing, f silent
	student := joinSimulcast(t, n, "starved", "student", nil)
	sm := student.waitMeter(t, pub.videoID)
	eventually(t, 5*time.Second, "the student to receive h", func() bool { return !sm.first(1).IsZero() })
	time.Sleep(300 * time.Millisecond)
	sm.reset()
	time.Sleep(2 * time.Second)
	perLayer, other := sm.counts()
	t.Logf("f not flowing, 2 s: packets per layer %v, untagged %d", perLayer, other)
	if perLayer[1] < 40 || perLayer[0] != 0 || perLayer[2] != 0 {
		t.Fatalf("with f not flowing the subscriber got %v packets per layer (q, h, f); want h only", perLayer)
	}

	pub.sim.SetLayerActive("f", true) // the encoder has the bandwidth again
	eventually(t, 5*time.Second, "the student to move up to f", func() bool { return !sm.first(2).IsZero() })
	student.waitState(t, 5*time.Second, pub.videoID, "layer f", layerIs("f"))
}
