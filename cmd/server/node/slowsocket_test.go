package node_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestSlowSocketIsDropped: a participant that stops reading its socket while asking for replies fills
// its outgoing queue; the server drops that session and the room's media goes on.
func TestSlowSocketIsDropped(t *testing.T) {
	n := startNode(t)
	teacher := join(t, n, "class", "teacher", true)
	student := join(t, n, "class", "student", true)
	ids := teacher.publish()
	eventually(t, 10*time.Second, "student receiving video", func() bool { return student.packets(ids[1]) > 0 })

	slow := dialRaw(t, wsURL(n))
	slow.send(`{"type": "join", "data": {"room": "class", "name": "sleeper"}}`)
	var slowID string
	for slowID == "" {
		if env := slow.next(); env.Type == protocol.TypeJoined {
			var j protocol.Joined
			_ = json.Unmarshal(env.Data, &j)
			slowID = j.ParticipantID
		}
	}
	// Ask for pongs with long ids and never read them, until the server gives up on this socket.
	ping := []byte(`{"type":"ping","id":"` + string(make64('p')) + `"}`)
	deadline := time.Now().Add(20 * time.Second)
	sent := 0
	for time.Now().Before(deadline) {
		_ = slow.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if err := slow.conn.WriteMessage(websocket.TextMessage, ping); err != nil {
			break // the server closed the socket
		}
		sent++
	}
	t.Logf("sent %d pings before the server dropped the slow socket", sent)
	student.waitEvent(10*time.Second, protocol.TypeParticipantLeft, func(env protocol.Envelope) bool {
		var ev protocol.ParticipantLeft
		_ = json.Unmarshal(env.Data, &ev)
		return ev.ParticipantID == slowID
	})
	before := student.packets(ids[1])
	time.Sleep(500 * time.Millisecond)
	if student.packets(ids[1]) <= before {
		t.Fatal("the student's video stopped")
	}
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}
