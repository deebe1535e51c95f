package node_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/loadtest/media"

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
		if st := late.stats(video); st == nil {
			t.Errorf("late joiner has no stats of %s's video", name)
		} else if problem := st.firstFrameProblem(t, "late joiner, "+name+"'s video"); problem != "" {
			t.Error(problem)
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

	// A newcomer's tracks reuse the m-lines carol's tracks left behind: the subscribe SDP does not grow.
	eventually(t, 5*time.Second, "dave's subscribe connection to settle", func() bool {
		return late.c.SubscribeConnection().SignalingState() == webrtc.SignalingStateStable
	})
	mlines := strings.Count(late.c.SubscribeConnection().RemoteDescription().SDP, "\r\nm=")
	erin := join(t, n, "ward-7", "erin", true)
	tracks["erin"] = erin.publish()
	eventually(t, 15*time.Second, "dave receiving erin", receivesAll(late, "erin"))
	if after := strings.Count(late.c.SubscribeConnection().RemoteDescription().SDP, "\r\nm="); after != mlines {
		t.Errorf("dave's subscribe SDP went from %d to %d m-lines; erin's tracks should reuse carol's", mlines, after)
	}
}

// TestSlowSubscriberDoesNotStallOthers: a subscriber that never reads its tracks must not slow the
// delivery to a subscriber that does.
func TestSlowSubscriberDoesNotStallOthers(t *testing.T) {
	n := startNode(t)
	pub := join(t, n, "lecture", "teacher", true)
	stalled := join(t, n, "lecture", "stalled", false)
	good := join(t, n, "lecture", "student", true)
	ids, sources := pub.publishSources(media.Spec{BitrateBps: 300_000, FPS: 15})
	eventually(t, 10*time.Second, "both subscribers connected", func() bool {
		return good.packets(ids[1]) > 0 && len(stalled.received) == 0 && n.SFU().Stats().Participants == 3
	})
	startGot := good.packets(ids[1])
	startSent, _ := sources[1].Sent()
	time.Sleep(3 * time.Second)
	sentNow, _ := sources[1].Sent()
	sent := int64(sentNow - startSent)
	// The student must get (nearly) every video packet sent in the window. Packets still on their way
	// when it closed may arrive while the publisher sends its next 60 (about a second of video): a student
	// held up behind the stalled subscriber would fall further behind instead.
	var got int64
	for {
		got = good.packets(ids[1]) - startGot
		if sent > 0 && got >= sent*95/100 {
			break
		}
		if later, _ := sources[1].Sent(); sent == 0 || later > sentNow+60 {
			t.Fatalf("student received %d of the %d video packets sent in 3 s beside a stalled subscriber", got, sent)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("student received %d of the %d video packets sent in 3 s beside a stalled subscriber", got, sent)
}

// TestH264AndMute: an H.264 camera is forwarded as H.264 (same profile) and starts on an IDR; muting a
// track reaches everyone as track_muted.
func TestH264AndMute(t *testing.T) {
	n := startNode(t)
	clinician := join(t, n, "consult-h264", "clinician", true)
	patient := join(t, n, "consult-h264", "patient", true)
	ids, _ := clinician.publishSources(media.Spec{H264: true, FPS: 15, BitrateBps: 300_000})
	audioID, videoID := ids[0], ids[1]
	eventually(t, 10*time.Second, "patient receiving H.264", func() bool { return patient.packets(videoID) > 20 })
	st := patient.stats(videoID)
	if st.mime != webrtc.MimeTypeH264 || !strings.Contains(st.fmtp, "profile-level-id=42e01f") || !strings.Contains(st.fmtp, "packetization-mode=1") {
		t.Fatalf("patient receives %s %q, want H.264 constrained baseline, packetization mode 1", st.mime, st.fmtp)
	}
	if problem := st.firstFrameProblem(t, "the patient's H.264"); problem != "" {
		t.Fatal(problem + " (IDR)")
	}

	if err := clinician.c.Send(protocol.TypeMute, protocol.Mute{TrackID: audioID, Muted: true}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*peer{clinician, patient} {
		p.waitEvent(5*time.Second, protocol.TypeTrackMuted, func(env protocol.Envelope) bool {
			var ev protocol.TrackEvent
			_ = json.Unmarshal(env.Data, &ev)
			return ev.Track.ID == audioID && ev.Track.Muted && ev.Track.Source == "microphone"
		})
	}
}
