package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestClassroomHandsAndGrants: students publish nothing (refused insufficient_grant); hands queue in the
// order raised and everyone sees the queue; the teacher grants a student the microphone (its hand goes
// down), the other students receive its audio; revoked, the track is unpublished for them and the
// student's re-publish is refused. The grant also holds for a student's rejoin.
func TestClassroomHandsAndGrants(t *testing.T) {
	n := startKeyedNode(t, nil)
	classroom := roomPolicy(auth.Policy{Mode: auth.ModeClassroom})
	teacher, tj := mustJoinToken(t, n, "class-9", "Teacher", mint(t, n, "class-9", "teacher", auth.RoleHost, classroom))
	if tj.RoomState.Mode != "classroom" {
		t.Fatalf("teacher joined: %+v", tj.RoomState)
	}
	var students [3]*peer
	var ids [3]string
	tokens := [3]string{}
	for i, name := range []string{"Ann", "Ben", "Cid"} {
		tokens[i] = mint(t, n, "class-9", strings.ToLower(name), auth.RoleAttendee, nil)
		var j protocol.Joined
		students[i], j = mustJoinToken(t, n, "class-9", name, tokens[i])
		if len(j.Grants.Publish) != 0 || !j.Grants.Chat {
			t.Fatalf("%s grants: %+v", name, j.Grants)
		}
		ids[i] = j.ParticipantID
	}
	ann, ben, cid := students[0], students[1], students[2]

	if _, err := ann.publishAudio(); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("student publishing without a grant: %v, want insufficient_grant", err)
	}

	// Ben raises his hand, then Ann: the queue is in that order, for everyone.
	if err := ben.c.RaiseHand(ctx5(t), true); err != nil {
		t.Fatal(err)
	}
	if err := ann.c.RaiseHand(ctx5(t), true); err != nil {
		t.Fatal(err)
	}
	if err := ann.c.RaiseHand(ctx5(t), true); err != nil { // raising twice changes nothing
		t.Fatal(err)
	}
	for _, p := range []*peer{teacher, ann, ben, cid} {
		p.waitRoomState(hands(ids[1], ids[0]))
	}
	if err := cid.c.LowerHand(ctx5(t), ids[0]); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("student lowering another's hand: %v", err)
	}
	if err := cid.c.SetGrants(ctx5(t), ids[2], []string{"microphone"}); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("student granting itself: %v", err)
	}
	if err := teacher.c.SetGrants(ctx5(t), "PNOBODY", []string{"microphone"}); errorCode(err) != protocol.CodeUnknownParticipant {
		t.Fatalf("granting nobody: %v", err)
	}

	// The teacher gives Ben the floor: he hears of it, his hand goes down, he publishes, Ann and Cid hear him.
	if err := teacher.c.SetGrants(ctx5(t), ids[1], []string{"microphone"}); err != nil {
		t.Fatal(err)
	}
	changed := decodeData[protocol.GrantsChanged](t, ben.waitEvent(5*time.Second, protocol.TypeGrantsChanged, nil))
	if !slicesEqual(changed.Grants.Publish, []string{"microphone"}) || !changed.Grants.Subscribe || !changed.Grants.Chat || len(changed.Unpublished) != 0 {
		t.Fatalf("grants_changed: %+v", changed)
	}
	teacher.waitRoomState(hands(ids[0]))
	track, err := ben.publishAudio()
	if err != nil {
		t.Fatalf("granted student publishing: %v", err)
	}
	eventually(t, 15*time.Second, "Ann and Cid receiving Ben's audio", func() bool {
		return ann.packets(track) > 0 && cid.packets(track) > 0
	})
	if st := ann.stats(track); st.kind != "audio" {
		t.Fatalf("Ann receives Ben's track as %s", st.kind)
	}

	// Revoked: the track is unpublished for everyone and a new publish is refused.
	if err := teacher.c.SetGrants(ctx5(t), ids[1], nil); err != nil {
		t.Fatal(err)
	}
	changed = decodeData[protocol.GrantsChanged](t, ben.waitEvent(5*time.Second, protocol.TypeGrantsChanged, func(env protocol.Envelope) bool {
		return strings.Contains(string(env.Data), track)
	}))
	if len(changed.Grants.Publish) != 0 || !slicesEqual(changed.Unpublished, []string{track}) {
		t.Fatalf("revoking grants_changed: %+v", changed)
	}
	for _, p := range []*peer{ann, cid, teacher} {
		p.waitEvent(5*time.Second, protocol.TypeTrackUnpublished, trackEvent(track))
	}
	if _, err := ben.publishAudio(); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("re-publish after revocation: %v, want insufficient_grant", err)
	}
	if tracks := n.SFU().Stats().Tracks; tracks != 0 {
		t.Fatalf("%d tracks left in the media plane", tracks)
	}

	// The teacher lowers Ann's hand.
	if err := teacher.c.LowerHand(ctx5(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	cid.waitRoomState(hands())

	// A grant holds for the student's rejoin, whatever its token says.
	if err := teacher.c.SetGrants(ctx5(t), ids[2], []string{"microphone", "camera"}); err != nil {
		t.Fatal(err)
	}
	cid.waitEvent(5*time.Second, protocol.TypeGrantsChanged, nil)
	cid.close()
	_, again := mustJoinToken(t, n, "class-9", "Cid", tokens[2])
	if !slicesEqual(again.Grants.Publish, []string{"microphone", "camera"}) {
		t.Fatalf("rejoined student grants: %+v", again.Grants)
	}
}

// TestMuteAll: mute_all mutes every non-moderator's audio (default) and leaves the moderators' and the
// video alone; each publisher hears muted_by_moderator, everyone track_muted; the publisher cannot
// unmute. A second mute_all for video mutes the cameras.
func TestMuteAll(t *testing.T) {
	n := startKeyedNode(t, nil)
	host, _ := mustJoinToken(t, n, "panel", "Chair", mint(t, n, "panel", "chair", auth.RoleHost, roomPolicy(auth.Policy{Mode: auth.ModeConference})))
	a, _ := mustJoinToken(t, n, "panel", "Ann", mint(t, n, "panel", "ann", auth.RoleAttendee, nil))
	b, _ := mustJoinToken(t, n, "panel", "Ben", mint(t, n, "panel", "ben", auth.RoleAttendee, nil))
	hostIDs, aIDs, bIDs := host.publish(), a.publish(), b.publish()
	eventually(t, 15*time.Second, "six tracks published", func() bool { return n.SFU().Stats().Tracks == 6 })

	if err := a.c.MuteAll(ctx5(t)); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("attendee muting all: %v", err)
	}
	if err := host.c.MuteAll(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	for _, pub := range []struct {
		p     *peer
		audio string
	}{{a, aIDs[0]}, {b, bIDs[0]}} {
		m := decodeData[protocol.Mute](t, pub.p.waitEvent(5*time.Second, protocol.TypeMutedByModerator, nil))
		if m.TrackID != pub.audio || !m.Muted {
			t.Fatalf("%s: muted_by_moderator %+v, want its audio %s", pub.p.name, m, pub.audio)
		}
		host.waitEvent(5*time.Second, protocol.TypeTrackMuted, trackEvent(pub.audio))
	}
	if _, err := a.c.Request(ctx5(t), protocol.TypeMute, protocol.Mute{TrackID: aIDs[0], Muted: false}); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("unmuting a moderator's mute: %v", err)
	}
	ps, err := adminClient(t, n).Participants(ctx5(t), "panel")
	if err != nil {
		t.Fatal(err)
	}
	blocked := map[string]bool{}
	for _, p := range ps {
		for _, tr := range p.Tracks {
			blocked[tr.ID] = tr.Blocked
		}
	}
	want := map[string]bool{hostIDs[0]: false, hostIDs[1]: false, aIDs[0]: true, aIDs[1]: false, bIDs[0]: true, bIDs[1]: false}
	for id, w := range want {
		if blocked[id] != w {
			t.Fatalf("track %s blocked %v, want %v (all: %v)", id, blocked[id], w, blocked)
		}
	}

	if err := host.c.MuteAll(ctx5(t), "video"); err != nil {
		t.Fatal(err)
	}
	m := decodeData[protocol.Mute](t, b.waitEvent(5*time.Second, protocol.TypeMutedByModerator, func(env protocol.Envelope) bool {
		return strings.Contains(string(env.Data), bIDs[1])
	}))
	if !m.Muted {
		t.Fatalf("camera not muted: %+v", m)
	}
}

// TestSpotlightAndSettings: spotlight and room_settings reach everyone as room_state; they need the
// moderate grant; a locked room refuses attendees (moderators still join and see it locked); the
// spotlight goes when its participant leaves.
func TestSpotlightAndSettings(t *testing.T) {
	n := startKeyedNode(t, nil)
	host, _ := mustJoinToken(t, n, "stage", "Chair", mint(t, n, "stage", "chair", auth.RoleHost, roomPolicy(auth.Policy{Mode: auth.ModeConference})))
	speaker, sj := mustJoinToken(t, n, "stage", "Speaker", mint(t, n, "stage", "speaker", auth.RoleAttendee, nil))
	viewer, _ := mustJoinToken(t, n, "stage", "Viewer", mint(t, n, "stage", "viewer", auth.RoleAttendee, nil))

	if err := viewer.c.Spotlight(ctx5(t), sj.ParticipantID); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("attendee spotlighting: %v", err)
	}
	if err := host.c.Spotlight(ctx5(t), "PNOBODY"); errorCode(err) != protocol.CodeUnknownParticipant {
		t.Fatalf("spotlight on nobody: %v", err)
	}
	if err := host.c.Spotlight(ctx5(t), sj.ParticipantID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*peer{host, speaker, viewer} {
		p.waitRoomState(func(st protocol.RoomState) bool { return st.Spotlight == sj.ParticipantID && st.Mode == "conference" })
	}

	off, on := false, true
	if err := viewer.c.RoomSettings(ctx5(t), nil, &on); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("attendee locking: %v", err)
	}
	if err := host.c.RoomSettings(ctx5(t), &off, &on); err != nil {
		t.Fatal(err)
	}
	viewer.waitRoomState(func(st protocol.RoomState) bool {
		return st.Locked && !st.ChatEnabled && st.Spotlight == sj.ParticipantID
	})
	if _, _, err := joinToken(t, n, "stage", "Late", mint(t, n, "stage", "late", auth.RoleAttendee, nil)); errorCode(err) != protocol.CodeRoomLocked {
		t.Fatalf("joining a locked room: %v", err)
	}
	_, cj := mustJoinToken(t, n, "stage", "Co-chair", mint(t, n, "stage", "co-chair", auth.RoleHost, nil))
	if !cj.RoomState.Locked || !cj.Policy.Locked || cj.RoomState.ChatEnabled || cj.RoomState.Spotlight != sj.ParticipantID {
		t.Fatalf("moderator joining a locked room: %+v %+v", cj.Policy, cj.RoomState)
	}
	if err := host.c.RoomSettings(ctx5(t), nil, &off); err != nil {
		t.Fatal(err)
	}
	viewer.waitRoomState(func(st protocol.RoomState) bool { return !st.Locked })
	if _, _, err := joinToken(t, n, "stage", "Late", mint(t, n, "stage", "late", auth.RoleAttendee, nil)); err != nil {
		t.Fatalf("joining the unlocked room: %v", err)
	}

	speaker.close()
	viewer.waitRoomState(func(st protocol.RoomState) bool { return st.Spotlight == "" })

	// Bad input is a bad_request and the session goes on.
	for _, raw := range []string{
		`{"type":"spotlight","id":"b1","data":{}}`,
		`{"type":"room_settings","id":"b2","data":{}}`,
		`{"type":"room_settings","id":"b3","data":{"locked":"yes"}}`,
		`{"type":"mute_all","id":"b4","data":{"kinds":["smell"]}}`,
		`{"type":"set_grants","id":"b5","data":{"participantId":"P1","publish":["tv"]}}`,
		`{"type":"admit","id":"b6","data":{}}`,
		`{"type":"raise_hand","id":"b7","data":{"raised":1}}`,
	} {
		if err := host.c.SendRaw([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		e := decodeData[protocol.Error](t, host.waitEvent(5*time.Second, protocol.TypeError, nil))
		if e.Code != protocol.CodeBadRequest || e.Message == "" {
			t.Fatalf("%s: %+v, want bad_request", raw, e)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := host.c.Spotlight(ctx, ""); err != nil {
		t.Fatalf("session after bad input: %v", err)
	}
}
