package node_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestAdminAPIAuth: without a token 401, with a bad or expired one 401, with a host's join token (no
// admin grant) 403; a room-scoped admin token reaches its room only.
func TestAdminAPIAuth(t *testing.T) {
	n := startKeyedNode(t, nil)
	expired := mint(t, n, "", "ops", auth.RoleHost, func(c *auth.Claims) {
		c.Grants = &auth.Grants{Admin: true}
		c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-2*time.Hour)), jwt.NewNumericDate(time.Now().Add(-time.Hour))
	})
	roomAdmin := mint(t, n, "clinic", "clinic-ops", auth.RoleHost, func(c *auth.Claims) { c.Grants = &auth.Grants{Admin: true} })
	cases := []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"no token", "rooms", "", 401, protocol.CodeTokenMissing},
		{"garbage", "rooms", "x.y.z", 401, protocol.CodeTokenMalformed},
		{"expired", "rooms", expired, 401, protocol.CodeTokenExpired},
		{"host join token", "rooms", mint(t, n, "clinic", "dr", auth.RoleHost, nil), 403, protocol.CodeInsufficientGrant},
		{"room admin elsewhere", "rooms/ward/participants", roomAdmin, 403, protocol.CodeInsufficientGrant},
		{"room admin at home (no such room yet)", "rooms/clinic/participants", roomAdmin, 404, admin.CodeRoomNotFound},
		{"admin", "rooms", adminClient(t, n).Token, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &admin.Client{BaseURL: n.URL(), Token: tc.token}
			var err error
			if strings.HasSuffix(tc.path, "participants") {
				_, err = c.Participants(context.Background(), strings.Split(tc.path, "/")[1])
			} else {
				_, err = c.Rooms(context.Background())
			}
			var apiErr *admin.APIError
			switch {
			case tc.status == 200 && err != nil:
				t.Fatal(err)
			case tc.status != 200 && (!errors.As(err, &apiErr) || apiErr.Status != tc.status || apiErr.Code != tc.code):
				t.Fatalf("got %v, want %d %s", err, tc.status, tc.code)
			}
		})
	}
	// Not under the web client's catch-all: an unknown admin path is a JSON 404.
	resp, err := http.Get(n.URL() + admin.Prefix + "nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 && resp.StatusCode != 404 {
		t.Fatalf("unknown admin path: %d", resp.StatusCode)
	}
}

// TestAdminManagesRooms drives a consultation through the admin API: a room with a cap, a locked room,
// the participant list, a moderator's mute the publisher cannot undo, a revoked camera grant that
// unpublishes the camera and sticks across a rejoin, a ban, a minted token, and closing the room.
func TestAdminManagesRooms(t *testing.T) {
	n := startKeyedNode(t, nil)
	api := adminClient(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Without the lobby a consultation has by default (lobby_test.go covers it): this test is about the cap.
	if _, err := api.CreateRoom(ctx, "consult-9", auth.Policy{Mode: auth.ModeConsultation, MaxParticipants: 2, NoLobby: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateRoom(ctx, "sealed", auth.Policy{Locked: true}); err != nil {
		t.Fatal(err)
	}
	rooms, err := api.Rooms(ctx)
	if err != nil || len(rooms) != 2 || !rooms[0].Managed || rooms[0].Policy.MaxParticipants != 2 {
		t.Fatalf("rooms: %+v %v", rooms, err)
	}

	// Locked: attendees are refused, a moderator gets in.
	if _, _, err := joinToken(t, n, "sealed", "a", mint(t, n, "sealed", "a", auth.RoleAttendee, nil)); errorCode(err) != protocol.CodeRoomLocked {
		t.Fatalf("join a locked room: %v", err)
	}
	mustJoinToken(t, n, "sealed", "chair", mint(t, n, "sealed", "chair", auth.RoleHost, nil))

	// The cap counts visible participants only. The admin mints the patient's token.
	dr, _ := mustJoinToken(t, n, "consult-9", "dr", mint(t, n, "consult-9", "dr", auth.RoleHost, nil))
	minted, err := api.MintToken(ctx, admin.TokenRequest{Room: "consult-9", Identity: "patient", Name: "Pat", Role: "attendee", TTL: "10m"})
	if err != nil || !strings.Contains(minted.JoinURL, "token=") {
		t.Fatalf("mint: %+v %v", minted, err)
	}
	patient, pj := mustJoinToken(t, n, "consult-9", "", minted.Token)
	if pj.Identity != "patient" || pj.Role != "attendee" {
		t.Fatalf("minted token joined as %+v", pj)
	}
	if _, _, err := joinToken(t, n, "consult-9", "x", mint(t, n, "consult-9", "third", auth.RoleAttendee, nil)); errorCode(err) != protocol.CodeRoomFull {
		t.Fatalf("third participant: %v, want room_full", err)
	}
	mustJoinToken(t, n, "consult-9", "sup", mint(t, n, "consult-9", "supervisor", auth.RoleObserver, nil))

	ids := patient.publish() // audio, video
	eventually(t, 10*time.Second, "doctor receiving the patient", func() bool { return dr.packets(ids[0]) > 0 && dr.packets(ids[1]) > 0 })
	ps, err := api.Participants(ctx, "consult-9")
	if err != nil || len(ps) != 3 {
		t.Fatalf("participants: %+v %v", ps, err)
	}
	var listed admin.ParticipantInfo
	for _, p := range ps {
		if p.Identity == "patient" {
			listed = p
		}
	}
	if listed.Name != "Pat" || len(listed.Tracks) != 2 || listed.Grants.Moderate {
		t.Fatalf("patient listed as %+v", listed)
	}

	// A moderator's mute: forwarding stops, the publisher is told and cannot unmute.
	muted, err := api.MuteTracks(ctx, "consult-9", "patient", admin.MuteRequest{Source: "microphone", Muted: true})
	if err != nil || len(muted) != 1 || muted[0] != ids[0] {
		t.Fatalf("mute: %v %v", muted, err)
	}
	ev := decodeData[protocol.Mute](t, patient.waitEvent(5*time.Second, protocol.TypeMutedByModerator, nil))
	if ev.TrackID != ids[0] || !ev.Muted {
		t.Fatalf("muted_by_moderator %+v", ev)
	}
	time.Sleep(300 * time.Millisecond) // packets in flight
	frozen := dr.packets(ids[0])
	if err := patient.c.Send(protocol.TypeMute, protocol.Mute{TrackID: ids[0], Muted: false}); err != nil {
		t.Fatal(err)
	}
	if e := decodeData[protocol.Error](t, patient.waitEvent(5*time.Second, protocol.TypeError, nil)); e.Code != protocol.CodeInsufficientGrant {
		t.Fatalf("self-unmute: %+v", e)
	}
	time.Sleep(500 * time.Millisecond)
	if got := dr.packets(ids[0]); got > frozen+2 {
		t.Fatalf("muted microphone still forwarded: %d → %d packets", frozen, got)
	}
	if _, err := api.MuteTracks(ctx, "consult-9", "patient", admin.MuteRequest{TrackID: ids[0], Muted: false}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "microphone forwarded again", func() bool { return dr.packets(ids[0]) > frozen+10 })

	// Revoking the camera unpublishes it, tells the patient, and holds across a rejoin with the same token.
	if _, err := api.UpdateGrants(ctx, "consult-9", "patient", auth.Grants{Publish: []string{"microphone"}, Subscribe: true}); err != nil {
		t.Fatal(err)
	}
	gc := decodeData[protocol.GrantsChanged](t, patient.waitEvent(5*time.Second, protocol.TypeGrantsChanged, nil))
	if len(gc.Unpublished) != 1 || gc.Unpublished[0] != ids[1] || !slicesEqual(gc.Grants.Publish, []string{"microphone"}) {
		t.Fatalf("grants_changed %+v", gc)
	}
	dr.waitEvent(5*time.Second, protocol.TypeTrackUnpublished, func(env protocol.Envelope) bool { return strings.Contains(string(env.Data), ids[1]) })
	patient.close()
	dr.waitEvent(5*time.Second, protocol.TypeParticipantLeft, nil) // the cap of 2 has room again
	back, bj := mustJoinToken(t, n, "consult-9", "", minted.Token)
	if !slicesEqual(bj.Grants.Publish, []string{"microphone"}) {
		t.Fatalf("rejoin restored the grants: %+v", bj.Grants)
	}
	_, video := mustSources(t, "patient")
	if _, err := back.c.Publish(ctx, video); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("camera after revocation: %v", err)
	}

	// Removal with a ban through the API.
	if err := api.RemoveParticipant(ctx, "consult-9", "patient", true); err != nil {
		t.Fatal(err)
	}
	back.closedWith(protocol.CodeRemoved)
	if _, _, err := joinToken(t, n, "consult-9", "", minted.Token); errorCode(err) != protocol.CodeBanned {
		t.Fatalf("banned rejoin: %v", err)
	}
	if err := api.RemoveParticipant(ctx, "consult-9", "nobody", false); !isAPIError(err, 404, admin.CodeParticipantNotFound) {
		t.Fatalf("remove nobody: %v", err)
	}

	// Closing the room disconnects everyone in it and forgets it.
	if err := api.CloseRoom(ctx, "consult-9"); err != nil {
		t.Fatal(err)
	}
	dr.closedWith(protocol.CodeRoomClosed)
	eventually(t, 5*time.Second, "the room to go", func() bool {
		_, err := api.Participants(ctx, "consult-9")
		return isAPIError(err, 404, admin.CodeRoomNotFound)
	})
}

func isAPIError(err error, status int, code string) bool {
	var apiErr *admin.APIError
	return errors.As(err, &apiErr) && apiErr.Status == status && apiErr.Code == code
}
