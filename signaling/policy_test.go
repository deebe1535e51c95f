package signaling

import (
	"slices"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestPolicyBelongsToTheRoom: a room without a policy takes the first token's that carries one, also
// after members joined with plain tokens; they hear the new mode (room_state), moderators hear of a
// waiter (lobby_update), and members whose default grants the mode changes get grants_changed. A room
// with a policy keeps it whatever later tokens say; a moderator's lock survives an adopted policy; a
// join the room refuses leaves the room without a policy.
func TestPolicyBelongsToTheRoom(t *testing.T) {
	consultation := &auth.Policy{Mode: auth.ModeConsultation}
	type member struct {
		identity string
		role     auth.Role
		policy   *auth.Policy
	}
	tests := []struct {
		name       string
		members    []member // join in order, each joined at once
		lock       bool     // the first member locks the room before the newcomer comes
		newcomer   member
		wantReply  string              // joined, lobby, or an error code
		wantMode   string              // the room's mode afterwards
		wantLocked bool                // the room's lock afterwards
		wantStates bool                // every member gets room_state with wantMode
		regranted  map[string][]string // members (by identity) that get grants_changed: the sources they may publish
	}{
		{
			name:    "plain host, then the patient's consultation link",
			members: []member{{"dr-ada", auth.RoleHost, nil}}, newcomer: member{"patient-7", auth.RoleAttendee, consultation},
			wantReply: protocol.TypeLobby, wantMode: auth.ModeConsultation, wantStates: true,
		},
		{
			name:      "plain host and student, then the teacher's classroom",
			members:   []member{{"head", auth.RoleHost, nil}, {"student", auth.RoleAttendee, nil}, {"speaker", auth.RolePresenter, nil}},
			newcomer:  member{"teacher", auth.RoleHost, &auth.Policy{Mode: auth.ModeClassroom}},
			wantReply: protocol.TypeJoined, wantMode: auth.ModeClassroom, wantStates: true,
			regranted: map[string][]string{"student": {}}, // attendees publish nothing in a classroom
		},
		{
			name:    "the first token's policy stays",
			members: []member{{"chair", auth.RoleHost, &auth.Policy{Mode: auth.ModeConference}}}, newcomer: member{"patient-7", auth.RoleAttendee, consultation},
			wantReply: protocol.TypeJoined, wantMode: auth.ModeConference,
		},
		{
			name:    "a moderator's lock survives the adopted policy",
			members: []member{{"dr-ada", auth.RoleHost, nil}}, lock: true, newcomer: member{"dr-bob", auth.RoleHost, consultation},
			wantReply: protocol.TypeJoined, wantMode: auth.ModeConsultation, wantLocked: true, wantStates: true,
		},
		{
			name:    "a refused join leaves the room without a policy",
			members: []member{{"dr-ada", auth.RoleHost, nil}}, newcomer: member{"late", auth.RoleHost, &auth.Policy{Mode: auth.ModeConference, MaxParticipants: 1}},
			wantReply: protocol.CodeRoomFull, wantMode: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := testKeys(t)
			ts := startServer(t, Config{Keys: keys})
			const room = "consult-42"
			conns := make([]*websocket.Conn, len(tt.members))
			for i, m := range tt.members {
				conns[i] = ts.mustJoin(room, mintToken(t, keys, room, m.identity, m.role, m.policy), protocol.TypeJoined)
			}
			if tt.lock {
				on := true
				if env := request(t, conns[0], protocol.TypeRoomSettings, "lock", protocol.RoomSettings{Locked: &on}); env.Type != protocol.TypeAck {
					t.Fatalf("lock: %s %s", env.Type, env.Data)
				}
			}
			ts.settle(room)
			for _, c := range conns { // what the members got so far is not the newcomer's doing
				untilPong(t, c)
			}

			_, reply := ts.joinAs(room, mintToken(t, keys, room, tt.newcomer.identity, tt.newcomer.role, tt.newcomer.policy))
			got := reply.Type
			if code := errorCode(t, reply); code != "" {
				got = code
			}
			if got != tt.wantReply {
				t.Fatalf("newcomer's join: %s %s, want %s", reply.Type, reply.Data, tt.wantReply)
			}
			if reply.Type == protocol.TypeJoined {
				if j := decodeData[protocol.Joined](t, reply); j.RoomState.Mode != tt.wantMode || j.Policy.Mode != tt.wantMode || j.RoomState.Locked != tt.wantLocked {
					t.Fatalf("newcomer joined with policy %+v, state %+v; want mode %q locked %v", j.Policy, j.RoomState, tt.wantMode, tt.wantLocked)
				}
			}
			ts.settle(room) // the newcomer's reply may arrive before the members' messages are queued
			if p := ts.srv.lookup(room).info().Policy; p.Mode != tt.wantMode || p.Locked != tt.wantLocked {
				t.Fatalf("room policy %+v, want mode %q locked %v", p, tt.wantMode, tt.wantLocked)
			}

			for i, m := range tt.members {
				envs := untilPong(t, conns[i])
				states := ofType[protocol.RoomState](t, envs, protocol.TypeRoomState)
				switch {
				case tt.wantStates && (len(states) != 1 || states[0].Mode != tt.wantMode || states[0].Locked != tt.wantLocked):
					t.Errorf("%s: room_state %+v, want one with mode %q locked %v", m.identity, states, tt.wantMode, tt.wantLocked)
				case !tt.wantStates && len(states) != 0:
					t.Errorf("%s: room_state %+v, want none", m.identity, states)
				}
				changes := ofType[protocol.GrantsChanged](t, envs, protocol.TypeGrantsChanged)
				want, regrant := tt.regranted[m.identity]
				switch {
				case regrant && (len(changes) != 1 || !slices.Equal(changes[0].Grants.Publish, want)):
					t.Errorf("%s: grants_changed %+v, want one publishing %v", m.identity, changes, want)
				case !regrant && len(changes) != 0:
					t.Errorf("%s: grants_changed %+v, want none", m.identity, changes)
				}
				if regrant && slices.IndexFunc(envs, func(e protocol.Envelope) bool { return e.Type == protocol.TypeRoomState }) >
					slices.IndexFunc(envs, func(e protocol.Envelope) bool { return e.Type == protocol.TypeGrantsChanged }) {
					t.Errorf("%s: grants_changed before the room_state that explains it: %v", m.identity, envs)
				}
				updates := ofType[protocol.LobbyUpdate](t, envs, protocol.TypeLobbyUpdate)
				waits := reply.Type == protocol.TypeLobby && m.role == auth.RoleHost
				switch {
				case waits && (len(updates) != 1 || len(updates[0].Waiting) != 1 || updates[0].Waiting[0].Identity != tt.newcomer.identity):
					t.Errorf("%s: lobby_update %+v, want one listing %s", m.identity, updates, tt.newcomer.identity)
				case !waits && len(updates) != 0:
					t.Errorf("%s: lobby_update %+v, want none", m.identity, updates)
				}
				if waits && slices.IndexFunc(envs, func(e protocol.Envelope) bool { return e.Type == protocol.TypeRoomState }) >
					slices.IndexFunc(envs, func(e protocol.Envelope) bool { return e.Type == protocol.TypeLobbyUpdate }) {
					t.Errorf("%s: the waiter announced before the mode that makes it wait: %v", m.identity, envs)
				}
			}
		})
	}
}
