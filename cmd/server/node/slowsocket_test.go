package node_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestSlowSocketIsDropped: a participant that stops reading its socket while asking for replies fills
// its outgoing queue; the server drops that session and the room's media goes on.
func TestSlowSocketIsDropped(t *testing.T) {
	n := startNode(t)
	teacher := join(t, n, "class", "teacher", true)
	student := join(t, n, "class", "student", true)
	ids, sources := teacher.publishSources(media.Spec{BitrateBps: 300_000, FPS: 15})
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
	// The student's video goes on: 10 more packets before the teacher has sent 100 more (judged by the
	// teacher's own send count, so a machine still busy with the flood is not taken for a stalled call).
	before := student.packets(ids[1])
	sentBefore, _ := sources[1].Sent()
	for student.packets(ids[1]) < before+10 {
		if sent, _ := sources[1].Sent(); sent > sentBefore+100 {
			t.Fatalf("the student's video stopped: %d packets while the teacher sent %d", student.packets(ids[1])-before, sent-sentBefore)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}
