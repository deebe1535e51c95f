package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestJoinTokens: a node with keys refuses every bad token with its code, and admits a good one with the
// identity, role, grants and policy it carries.
func TestJoinTokens(t *testing.T) {
	n := startKeyedNode(t, nil)
	other, err := auth.NewKeyring(auth.Key{ID: testKey.ID, Secret: strings.Repeat("z", 40)})
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.Mint(auth.Claims{Room: "clinic", RegisteredClaims: jwt.RegisteredClaims{Subject: "x"}}, time.Hour)
	past := func(c *auth.Claims) {
		c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-2*time.Hour)), jwt.NewNumericDate(time.Now().Add(-time.Hour))
	}
	cases := []struct {
		name, room, token, code string
	}{
		{"no token", "clinic", "", protocol.CodeTokenMissing},
		{"malformed", "clinic", "not-a-jwt", protocol.CodeTokenMalformed},
		{"forged", "clinic", forged, protocol.CodeTokenInvalid},
		{"expired", "clinic", mint(t, n, "clinic", "late", auth.RoleAttendee, past), protocol.CodeTokenExpired},
		{"not yet valid", "clinic", mint(t, n, "clinic", "early", auth.RoleAttendee, func(c *auth.Claims) {
			c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour))
		}), protocol.CodeTokenNotYetValid},
		{"wrong room", "classroom", mint(t, n, "clinic", "ada", auth.RoleHost, nil), protocol.CodeTokenWrongRoom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := joinToken(t, n, tc.room, "someone", tc.token)
			if errorCode(err) != tc.code {
				t.Fatalf("join: %v, want %s", err, tc.code)
			}
			// The socket stays usable: the same client joins with a good token.
			good := mint(t, n, tc.room, "retry-"+strings.ReplaceAll(tc.name, " ", "-"), auth.RoleAttendee, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := p.c.JoinWithToken(ctx, tc.room, "", good); err != nil {
				t.Fatalf("join after a refused token: %v", err)
			}
		})
	}

	tok := mint(t, n, "clinic", "dr-ada", auth.RoleHost, func(c *auth.Claims) {
		c.Name = "Dr Ada"
		c.Policy = &auth.Policy{Mode: auth.ModeConsultation, Lobby: true}
	})
	host, joined := mustJoinToken(t, n, "clinic", "", tok)
	if joined.Identity != "dr-ada" || joined.Role != "host" || !joined.Grants.Moderate || !joined.Grants.Subscribe ||
		len(joined.Grants.Publish) != 4 || joined.Policy.Mode != "consultation" || !joined.Policy.Lobby {
		t.Fatalf("joined: %+v", joined)
	}
	// The consultation's attendee waits in the lobby until the host admits it (lobby_test.go), then sees
	// the host by name, identity and role.
	_, adm := joinWaiting(t, n, "clinic", "Pat", mint(t, n, "clinic", "patient-7", auth.RoleAttendee, nil))
	if err := host.c.Admit(ctx5(t), waiting(host.waitLobby(func(ws []protocol.Waiter) bool { return len(ws) == 1 }), "patient-7")); err != nil {
		t.Fatal(err)
	}
	pj, err := adm.Wait(ctx5(t))
	if err != nil || len(pj.Participants) != 1 || pj.Participants[0].Name != "Dr Ada" || pj.Participants[0].Role != "host" ||
		pj.Policy.Mode != "consultation" || pj.Grants.Moderate || !slicesEqual(pj.Grants.Publish, []string{"camera", "microphone"}) {
		t.Fatalf("attendee joined: %+v %v", pj, err)
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestPublishNeedsGrant: an attendee of a classroom (no publish grant) offering tracks is refused and the
// room carries on as before; an attendee allowed only a microphone cannot pass a camera off as one.
func TestPublishNeedsGrant(t *testing.T) {
	n := startKeyedNode(t, nil)
	teacher, _ := mustJoinToken(t, n, "class-7", "teacher", mint(t, n, "class-7", "teacher", auth.RoleHost, func(c *auth.Claims) {
		c.Policy = &auth.Policy{Mode: auth.ModeClassroom}
	}))
	student, sj := mustJoinToken(t, n, "class-7", "student", mint(t, n, "class-7", "student", auth.RoleAttendee, nil))
	if len(sj.Grants.Publish) != 0 || !sj.Grants.Subscribe {
		t.Fatalf("classroom attendee grants: %+v", sj.Grants)
	}
	ids := teacher.publish()
	eventually(t, 10*time.Second, "student receiving the teacher", func() bool { return student.packets(ids[1]) > 0 })
	before := n.SFU().Stats()

	audio, video := mustSources(t, "student")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := student.c.Publish(ctx, audio, video); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("student publish: %v, want insufficient_grant", err)
	}
	teacher.noEvent(time.Second, protocol.TypeTrackPublished, func(env protocol.Envelope) bool {
		return strings.Contains(string(env.Data), student.c.ParticipantID())
	})
	if after := n.SFU().Stats(); after.Tracks != before.Tracks || after.Participants != before.Participants {
		t.Fatalf("the room changed: %+v → %+v", before, after)
	}
	got := student.packets(ids[1])
	eventually(t, 5*time.Second, "student still receiving", func() bool { return student.packets(ids[1]) > got+10 })

	// A microphone-only attendee declares its camera as a microphone: the SDP says video.
	mic, _ := mustJoinToken(t, n, "class-7", "speaker", mint(t, n, "class-7", "speaker", auth.RoleAttendee, func(c *auth.Claims) {
		c.Grants = &auth.Grants{Publish: []string{auth.SourceMicrophone}, Subscribe: true}
	}))
	_, cam := mustSources(t, "speaker")
	cam.Source = "microphone"
	if _, err := mic.c.Publish(ctx, cam); errorCode(err) != protocol.CodeBadRequest {
		t.Fatalf("camera declared as a microphone: %v, want bad_request", err)
	}
	if after := n.SFU().Stats(); after.Tracks != before.Tracks {
		t.Fatalf("tracks %d → %d", before.Tracks, after.Tracks)
	}
}

// TestObserverIsInvisible: an observer receives the room's media, appears in no one's participant list
// or join/leave events, and cannot publish.
func TestObserverIsInvisible(t *testing.T) {
	n := startKeyedNode(t, nil)
	host, _ := mustJoinToken(t, n, "ward", "host", mint(t, n, "ward", "host", auth.RoleHost, nil))
	ids := host.publish()
	obs, oj := mustJoinToken(t, n, "ward", "supervisor", mint(t, n, "ward", "supervisor", auth.RoleObserver, nil))
	if len(oj.Participants) != 1 || oj.Role != "observer" || len(oj.Grants.Publish) != 0 {
		t.Fatalf("observer joined: %+v", oj)
	}
	eventually(t, 10*time.Second, "observer receiving the host", func() bool { return obs.packets(ids[1]) > 0 })
	_, aj := mustJoinToken(t, n, "ward", "nurse", mint(t, n, "ward", "nurse", auth.RoleAttendee, nil))
	for _, p := range aj.Participants {
		if p.ID == obs.c.ParticipantID() {
			t.Fatalf("a later joiner sees the observer: %+v", aj.Participants)
		}
	}
	audio, _ := mustSources(t, "supervisor")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := obs.c.Publish(ctx, audio); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("observer publish: %v", err)
	}
	obs.close()
	isObserver := func(env protocol.Envelope) bool { return strings.Contains(string(env.Data), obs.c.ParticipantID()) }
	// The host heard of the nurse joining, and of nobody else, the observer's leave included.
	host.waitEvent(5*time.Second, protocol.TypeParticipantJoined, nil)
	host.noEvent(time.Second, protocol.TypeParticipantJoined, isObserver)
	host.noEvent(0, protocol.TypeParticipantLeft, isObserver)
	ps, err := adminClient(t, n).Participants(ctx, "ward")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Role == auth.RoleObserver {
			t.Fatalf("observer still listed after leaving: %+v", p)
		}
	}
}

// TestHostRemovesAndBans: a host removes an attendee, who is disconnected and may come back with its
// token; removed with a ban, the same token is refused.
func TestHostRemovesAndBans(t *testing.T) {
	n := startKeyedNode(t, nil)
	host, _ := mustJoinToken(t, n, "consult", "dr", mint(t, n, "consult", "dr", auth.RoleHost, nil))
	patientToken := mint(t, n, "consult", "patient", auth.RoleAttendee, nil)
	patient, _ := mustJoinToken(t, n, "consult", "patient", patientToken)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// An attendee may not remove anyone.
	if err := patient.c.RemoveParticipant(ctx, host.c.ParticipantID(), false); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("attendee removing the host: %v", err)
	}
	if err := host.c.RemoveParticipant(ctx, patient.c.ParticipantID(), false); err != nil {
		t.Fatal(err)
	}
	patient.closedWith(protocol.CodeRemoved)
	host.waitEvent(5*time.Second, protocol.TypeParticipantLeft, nil)

	back, _ := mustJoinToken(t, n, "consult", "patient", patientToken)
	if err := host.c.RemoveParticipant(ctx, back.c.ParticipantID(), true); err != nil {
		t.Fatal(err)
	}
	back.closedWith(protocol.CodeRemoved)
	if _, _, err := joinToken(t, n, "consult", "patient", patientToken); errorCode(err) != protocol.CodeBanned {
		t.Fatalf("banned rejoin: %v, want banned", err)
	}
	if err := host.c.RemoveParticipant(ctx, "PNOBODY", false); errorCode(err) != protocol.CodeUnknownParticipant {
		t.Fatalf("removing nobody: %v", err)
	}
	// The ban outlives everyone leaving; an admin lifts it.
	host.close()
	eventually(t, 5*time.Second, "room empty", func() bool { return n.SFU().Stats().Participants == 0 })
	if _, _, err := joinToken(t, n, "consult", "patient", patientToken); errorCode(err) != protocol.CodeBanned {
		t.Fatalf("banned rejoin into the emptied room: %v", err)
	}
	if err := adminClient(t, n).Unban(ctx, "consult", "patient"); err != nil {
		t.Fatal(err)
	}
	mustJoinToken(t, n, "consult", "patient", patientToken)
}

// TestDevModeTrustsLocalJoins: without keys a tokenless join from this machine is a host's.
func TestDevModeTrustsLocalJoins(t *testing.T) {
	n := startNode(t)
	p, joined := mustJoinToken(t, n, "dev", "Ada", "")
	if joined.Role != "host" || joined.Identity != "Ada" || !joined.Grants.Moderate {
		t.Fatalf("dev join: %+v", joined)
	}
	// The node's own key still verifies tokens it minted (the admin API mints them in dev mode).
	_, tj := mustJoinToken(t, n, "dev", "", mint(t, n, "dev", "viewer", auth.RoleObserver, nil))
	if tj.Role != "observer" {
		t.Fatalf("token join in dev mode: %+v", tj)
	}
	p.noEvent(500*time.Millisecond, protocol.TypeParticipantJoined, nil)
}

// TestSubscribeNeedsGrant: a participant without the subscribe grant gets no subscribe offer and so no
// media; granted subscribe by an admin, it gets the offer held back and the media.
func TestSubscribeNeedsGrant(t *testing.T) {
	n := startKeyedNode(t, nil)
	host, _ := mustJoinToken(t, n, "radio", "host", mint(t, n, "radio", "host", auth.RoleHost, nil))
	ids := host.publish()
	deaf, dj := mustJoinToken(t, n, "radio", "caller", mint(t, n, "radio", "caller", auth.RoleAttendee, func(c *auth.Claims) {
		c.Grants = &auth.Grants{Publish: []string{auth.SourceMicrophone}}
	}))
	if dj.Grants.Subscribe {
		t.Fatalf("grants %+v", dj.Grants)
	}
	time.Sleep(time.Second)
	if deaf.packets(ids[0]) != 0 || deaf.c.SubscribeConnection().RemoteDescription() != nil {
		t.Fatal("a participant without the subscribe grant got a subscribe offer")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := adminClient(t, n).UpdateGrants(ctx, "radio", "caller", auth.Grants{Publish: []string{auth.SourceMicrophone}, Subscribe: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "caller receiving once granted", func() bool { return deaf.packets(ids[0]) > 0 })
}

// TestModeratorMute: a host mutes an attendee's microphone over its socket; the attendee is told and
// cannot unmute it; an attendee cannot mute anyone.
func TestModeratorMute(t *testing.T) {
	n := startKeyedNode(t, nil)
	host, _ := mustJoinToken(t, n, "ward", "host", mint(t, n, "ward", "host", auth.RoleHost, nil))
	patient, _ := mustJoinToken(t, n, "ward", "patient", mint(t, n, "ward", "patient", auth.RoleAttendee, nil))
	ids := patient.publish()
	eventually(t, 10*time.Second, "host receiving the patient", func() bool { return host.packets(ids[0]) > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := patient.c.MuteParticipant(ctx, ids[0], true); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("attendee muting: %v", err)
	}
	if err := host.c.MuteParticipant(ctx, ids[0], true); err != nil {
		t.Fatal(err)
	}
	if ev := decodeData[protocol.Mute](t, patient.waitEvent(5*time.Second, protocol.TypeMutedByModerator, nil)); ev.TrackID != ids[0] || !ev.Muted {
		t.Fatalf("muted_by_moderator %+v", ev)
	}
	tm := decodeData[protocol.TrackEvent](t, host.waitEvent(5*time.Second, protocol.TypeTrackMuted, nil))
	if tm.Track.ID != ids[0] || !tm.Track.Muted {
		t.Fatalf("track_muted %+v", tm.Track)
	}
	if err := patient.c.Send(protocol.TypeMute, protocol.Mute{TrackID: ids[0], Muted: false}); err != nil {
		t.Fatal(err)
	}
	if e := decodeData[protocol.Error](t, patient.waitEvent(5*time.Second, protocol.TypeError, nil)); e.Code != protocol.CodeInsufficientGrant {
		t.Fatalf("self-unmute: %+v", e)
	}
	if err := host.c.MuteParticipant(ctx, "TR_none", true); errorCode(err) != protocol.CodeUnknownTrack {
		t.Fatalf("muting no track: %v", err)
	}
}
