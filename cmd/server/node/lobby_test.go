package node_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestLobbyAdmit: in a consultation (lobby implied) the patient waits while the clinician streams: it is
// not in the media plane and gets no offer, no media, no participant list, no participant_joined, no
// chat and no room_state, and every message but ping gets in_lobby. The clinicians learn who waits
// (a second one right after its joined). Admitted, the patient gets joined with the participants and
// tracks and then media; rejoining, it skips the lobby.
func TestLobbyAdmit(t *testing.T) {
	n := startKeyedNode(t, nil)
	consult := roomPolicy(auth.Policy{Mode: auth.ModeConsultation})
	doctor, dj := mustJoinToken(t, n, "consult-1", "Dr Ada", mint(t, n, "consult-1", "dr-ada", auth.RoleHost, consult))
	if !dj.Policy.Lobby || dj.RoomState.Mode != "consultation" || !dj.RoomState.ChatEnabled || dj.RoomState.Hands == nil {
		t.Fatalf("doctor joined: policy %+v, state %+v", dj.Policy, dj.RoomState)
	}
	ids := doctor.publish()
	eventually(t, 10*time.Second, "the doctor's tracks published", func() bool { return n.SFU().Stats().Tracks == 2 })

	patientToken := mint(t, n, "consult-1", "patient-7", auth.RoleAttendee, consult)
	patient, adm := joinWaiting(t, n, "consult-1", "Pat", patientToken)
	if adm.Lobby == nil || adm.Joined != nil || adm.Lobby.Room != "consult-1" || adm.Lobby.Message == "" {
		t.Fatalf("patient not in the lobby: %+v", adm)
	}
	ws := doctor.waitLobby(func(ws []protocol.Waiter) bool { return waiting(ws, "patient-7") != "" })
	patientID := waiting(ws, "patient-7")
	if ws[0].Name != "patient-7" || ws[0].Since == "" { // the test tokens name people by identity
		t.Fatalf("lobby update: %+v", ws)
	}

	// While the patient waits, the room goes on: a second clinician joins (and learns who waits), the
	// doctor chats, raises a hand and spotlights.
	nurse, nj := mustJoinToken(t, n, "consult-1", "Nurse", mint(t, n, "consult-1", "nurse", auth.RoleHost, nil))
	if len(nj.Participants) != 1 || nj.Participants[0].Identity != "dr-ada" {
		t.Fatalf("nurse sees %+v; the waiter must not be listed", nj.Participants)
	}
	nurse.waitLobby(func(ws []protocol.Waiter) bool { return waiting(ws, "patient-7") == patientID })
	if err := doctor.c.Chat(ctx5(t), "the patient must not read this"); err != nil {
		t.Fatal(err)
	}
	if err := doctor.c.RaiseHand(ctx5(t), true); err != nil {
		t.Fatal(err)
	}
	if err := doctor.c.Spotlight(ctx5(t), dj.ParticipantID); err != nil {
		t.Fatal(err)
	}
	nurse.waitRoomState(func(st protocol.RoomState) bool { return st.Spotlight == dj.ParticipantID })
	for _, typ := range []string{protocol.TypeChat, protocol.TypeRaiseHand, protocol.TypeSubscribeAnswer, protocol.TypePublishOffer, protocol.TypeJoin} {
		_, err := patient.c.Request(ctx5(t), typ, map[string]any{"text": "hi", "raised": true, "sdp": "v=0", "room": "consult-1", "name": "x"})
		if errorCode(err) != protocol.CodeInLobby {
			t.Fatalf("%s from the lobby: %v, want in_lobby", typ, err)
		}
	}
	if _, err := patient.c.Request(ctx5(t), protocol.TypePing, nil); err != nil {
		t.Fatalf("ping from the lobby: %v", err)
	}
	patient.quiet(1500 * time.Millisecond) // no participant_joined, chat, room_state, track event, candidate
	if patient.c.SubscribeConnection().RemoteDescription() != nil || patient.packets(ids[0]) != 0 || patient.packets(ids[1]) != 0 {
		t.Fatal("the waiter got a subscribe offer or media")
	}
	if st := n.SFU().Stats(); st.Participants != 2 {
		t.Fatalf("media plane holds %d participants, want the two clinicians", st.Participants)
	}
	room, err := adminClient(t, n).Room(ctx5(t), "consult-1")
	if err != nil || room.Participants != 2 || room.Waiting != 1 {
		t.Fatalf("admin room: %+v %v", room, err)
	}

	// A patient may not let anyone in; the doctor admits.
	if err := nurse.c.Admit(ctx5(t), "PNOBODY"); errorCode(err) != protocol.CodeUnknownParticipant {
		t.Fatalf("admit nobody: %v", err)
	}
	if err := doctor.c.Admit(ctx5(t), patientID); err != nil {
		t.Fatal(err)
	}
	joined, err := adm.Wait(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if joined.ParticipantID != patientID || len(joined.Participants) != 2 || len(joined.Tracks) != 2 ||
		joined.RoomState.Spotlight != dj.ParticipantID || len(joined.RoomState.Hands) != 1 || !slicesEqual(joined.Grants.Publish, []string{"camera", "microphone"}) {
		t.Fatalf("patient joined: %+v", joined)
	}
	doctor.waitEvent(5*time.Second, protocol.TypeParticipantJoined, func(env protocol.Envelope) bool {
		return strings.Contains(string(env.Data), patientID)
	})
	doctor.waitLobby(func(ws []protocol.Waiter) bool { return len(ws) == 0 })
	eventually(t, 15*time.Second, "the admitted patient receiving the doctor's media", func() bool {
		return patient.packets(ids[0]) > 0 && patient.packets(ids[1]) > 0
	})
	if err := patient.c.Admit(ctx5(t), patientID); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("patient admitting: %v", err)
	}
	// The admitted patient takes part: its publish goes through (its reader adopted the admission).
	if _, err := patient.publishAudio(); err != nil {
		t.Fatalf("admitted patient publishing: %v", err)
	}

	// Reconnecting, the patient skips the lobby.
	patient.close()
	doctor.waitEvent(5*time.Second, protocol.TypeParticipantLeft, func(env protocol.Envelope) bool {
		return strings.Contains(string(env.Data), patientID)
	})
	_, again := joinWaiting(t, n, "consult-1", "Pat", patientToken)
	if again.Joined == nil || again.Lobby != nil {
		t.Fatalf("rejoining patient waits again: %+v", again)
	}
}

// TestLobbyDeclineLeaveEnd: a declined waiter gets lobby_declined and is disconnected; a waiter who
// leaves disappears from lobby_update; end_room disconnects the members and the waiters with
// room_closed and the room is gone.
func TestLobbyDeclineLeaveEnd(t *testing.T) {
	n := startKeyedNode(t, nil)
	lobby := roomPolicy(auth.Policy{Mode: auth.ModeConference, Lobby: true})
	host, _ := mustJoinToken(t, n, "town-hall", "Chair", mint(t, n, "town-hall", "chair", auth.RoleHost, lobby))
	attendee := func(identity string) string { return mint(t, n, "town-hall", identity, auth.RoleAttendee, nil) }

	stranger, sa := joinWaiting(t, n, "town-hall", "Stranger", attendee("stranger"))
	walker, wa := joinWaiting(t, n, "town-hall", "Walker", attendee("walker"))
	if sa.Lobby == nil || wa.Lobby == nil {
		t.Fatal("joiners of a room with a lobby did not wait")
	}
	ws := host.waitLobby(func(ws []protocol.Waiter) bool { return len(ws) == 2 })
	if ws[0].Identity != "stranger" || ws[1].Identity != "walker" {
		t.Fatalf("lobby order: %+v", ws)
	}

	if err := host.c.Decline(ctx5(t), waiting(ws, "stranger")); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.Wait(ctx5(t)); errorCode(err) != protocol.CodeLobbyDeclined {
		t.Fatalf("declined wait: %v", err)
	}
	select {
	case <-stranger.c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("declined waiter still connected")
	}
	host.waitLobby(func(ws []protocol.Waiter) bool { return len(ws) == 1 && ws[0].Identity == "walker" })
	if err := host.c.Decline(ctx5(t), waiting(ws, "stranger")); errorCode(err) != protocol.CodeUnknownParticipant {
		t.Fatalf("declining twice: %v", err)
	}

	walker.close()
	host.waitLobby(func(ws []protocol.Waiter) bool { return len(ws) == 0 })

	member, _ := joinWaiting(t, n, "town-hall", "Member", attendee("member"))
	memberID := waiting(host.waitLobby(func(ws []protocol.Waiter) bool { return len(ws) == 1 }), "member")
	if err := host.c.Admit(ctx5(t), memberID); err != nil {
		t.Fatal(err)
	}
	late, la := joinWaiting(t, n, "town-hall", "Late", attendee("late"))
	host.waitLobby(func(ws []protocol.Waiter) bool { return waiting(ws, "late") != "" })
	if la.Lobby == nil {
		t.Fatal("late joiner did not wait")
	}

	if err := member.c.EndRoom(ctx5(t)); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("attendee ending the call: %v", err)
	}
	if err := host.c.EndRoom(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	member.closedWith(protocol.CodeRoomClosed)
	host.closedWith(protocol.CodeRoomClosed)
	if _, err := la.Wait(ctx5(t)); errorCode(err) != protocol.CodeRoomClosed {
		t.Fatalf("waiter when the call ended: %v", err)
	}
	select {
	case <-late.c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("waiter still connected after end_room")
	}
	eventually(t, 5*time.Second, "the ended room forgotten", func() bool {
		_, err := adminClient(t, n).Room(ctx5(t), "town-hall")
		return err != nil && strings.Contains(err.Error(), "room_not_found")
	})
}

// TestLobbyFull: at most 50 wait; the 51st is refused (lobby_full, the session goes on) until a place
// frees up. Raw sockets: a waiter needs nothing more.
func TestLobbyFull(t *testing.T) {
	n := startKeyedNode(t, nil)
	policy := roomPolicy(auth.Policy{Lobby: true})
	join := func(i int) (*websocket.Conn, protocol.Envelope) {
		conn, _, err := websocket.DefaultDialer.Dial(wsURL(n), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		env := sendJoin(t, conn, mint(t, n, "busy", fmt.Sprintf("w%d", i), auth.RoleAttendee, policy))
		return conn, env
	}
	var first *websocket.Conn
	for i := range protocol.MaxLobbyWaiters {
		conn, env := join(i)
		if env.Type != protocol.TypeLobby {
			t.Fatalf("waiter %d: %s %s", i, env.Type, env.Data)
		}
		if i == 0 {
			first = conn
		}
	}
	extra, env := join(protocol.MaxLobbyWaiters)
	if env.Type != protocol.TypeError || !strings.Contains(string(env.Data), protocol.CodeLobbyFull) {
		t.Fatalf("51st waiter: %s %s", env.Type, env.Data)
	}
	_ = first.Close()
	token := mint(t, n, "busy", "w-extra", auth.RoleAttendee, nil)
	deadline := time.Now().Add(5 * time.Second)
	for env = sendJoin(t, extra, token); env.Type != protocol.TypeLobby; env = sendJoin(t, extra, token) {
		if time.Now().After(deadline) {
			t.Fatalf("no place in the lobby after a waiter left: %s %s", env.Type, env.Data)
		}
		time.Sleep(100 * time.Millisecond)
	}
	room, err := adminClient(t, n).Room(ctx5(t), "busy")
	if err != nil || room.Waiting != protocol.MaxLobbyWaiters || room.Participants != 0 {
		t.Fatalf("admin room: %+v %v", room, err)
	}
}

// sendJoin sends a join with token on a raw socket and returns the reply.
func sendJoin(t *testing.T, conn *websocket.Conn, token string) protocol.Envelope {
	t.Helper()
	msg, _ := protocol.Encode(protocol.TypeJoin, "j", protocol.Join{Room: "busy", Token: token})
	if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, frame, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var env protocol.Envelope
		if json.Unmarshal(frame, &env) == nil && env.ID == "j" {
			return env
		}
	}
}
