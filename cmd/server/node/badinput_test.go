package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// rawSocket is a bare WebSocket for sending what a well-behaved client never would.
type rawSocket struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialRaw(t *testing.T, url string) *rawSocket {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = conn.Close() })
	return &rawSocket{t: t, conn: conn}
}

func (r *rawSocket) send(frame string) {
	r.t.Helper()
	if err := r.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		r.t.Fatal(err)
	}
}

// next returns the next message that is not a room event or negotiation the test did not ask for.
func (r *rawSocket) next() protocol.Envelope {
	r.t.Helper()
	_ = r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := r.conn.ReadMessage()
		if err != nil {
			r.t.Fatalf("read: %v", err)
		}
		var env protocol.Envelope
		if err := json.Unmarshal(data, &env); err != nil {
			r.t.Fatalf("server sent non-JSON %q", data)
		}
		switch env.Type {
		case protocol.TypeICECandidate, protocol.TypeSubscribeOffer, protocol.TypeTrackPublished,
			protocol.TypeTrackUnpublished, protocol.TypeParticipantJoined, protocol.TypeParticipantLeft,
			protocol.TypeStreamState, protocol.TypeActiveSpeakers, protocol.TypePublisherLayers:
		default:
			return env
		}
	}
}

func (r *rawSocket) expectError(code string) protocol.Error {
	r.t.Helper()
	env := r.next()
	if env.Type != protocol.TypeError {
		r.t.Fatalf("want error %s, got %s %s", code, env.Type, env.Data)
	}
	var e protocol.Error
	_ = json.Unmarshal(env.Data, &e)
	if e.Code != code || e.Message == "" {
		r.t.Fatalf("want error %s with a message, got %+v", code, e)
	}
	return e
}

// TestBadInput sends every kind of bad input while a call is running in the same room: each gets an error
// with a code, the session goes on, the call's media never stops, and every goroutine ends afterwards.
func TestBadInput(t *testing.T) {
	n := startNode(t)
	baseline := runtime.NumGoroutine()

	func() {
		pub := join(t, n, "clinic", "clinician", true)
		sub := join(t, n, "clinic", "patient", true)
		ids := pub.publish()
		defer pub.close()
		defer sub.close()
		eventually(t, 10*time.Second, "patient receiving video", func() bool { return sub.packets(ids[1]) > 0 })

		bad := dialRaw(t, wsURL(n))
		cases := []struct{ name, frame, code string }{
			{"malformed JSON", `{"type": "join", `, protocol.CodeBadJSON},
			{"not an object", `[1,2,3]`, protocol.CodeBadJSON},
			{"no type", `{"data": {}}`, protocol.CodeBadRequest},
			{"unknown type", `{"type": "teleport"}`, protocol.CodeUnknownType},
			{"before join", `{"type": "publish_offer", "data": {"sdp": "v=0"}}`, protocol.CodeNotJoined},
			{"join without data", `{"type": "join"}`, protocol.CodeBadRequest},
			{"join without room", `{"type": "join", "data": {"name": "x"}}`, protocol.CodeBadRequest},
			{"join with a bad room name", `{"type": "join", "data": {"room": "a/b", "name": "x"}}`, protocol.CodeBadRequest},
			{"oversized message", `{"type": "ping", "pad": "` + strings.Repeat("x", protocol.MaxMessageSize) + `"}`, protocol.CodeMessageTooLarge},
		}
		for _, tc := range cases {
			bad.send(tc.frame)
			bad.expectError(tc.code)
		}
		bad.send(`{"type": "join", "id": "j", "data": {"room": "clinic", "name": "intruder"}}`)
		if env := bad.next(); env.Type != protocol.TypeJoined || env.ID != "j" {
			t.Fatalf("join after bad input: got %s %s", env.Type, env.Data)
		}
		joinedCases := []struct{ name, frame, code string }{
			{"second join", `{"type": "join", "data": {"room": "clinic", "name": "again"}}`, protocol.CodeAlreadyJoined},
			{"invalid SDP", `{"type": "publish_offer", "data": {"sdp": "this is not SDP"}}`, protocol.CodeInvalidSDP},
			{"offer without sdp", `{"type": "publish_offer", "data": {"tracks": []}}`, protocol.CodeBadRequest},
			{"bad source", `{"type": "publish_offer", "data": {"sdp": "v=0", "tracks": [{"mid": "0", "source": "radio"}]}}`, protocol.CodeBadRequest},
			{"answer that does not fit the offer", `{"type": "subscribe_answer", "data": {"sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"}}`, protocol.CodeInvalidSDP},
			{"candidate for no connection", `{"type": "ice_candidate", "data": {"target": "sideways", "candidate": {"candidate": ""}}}`, protocol.CodeBadRequest},
			{"mute someone else's track", `{"type": "mute", "data": {"trackId": "` + ids[0] + `", "muted": true}}`, protocol.CodeUnknownTrack},
			{"unpublish nothing", `{"type": "unpublish", "data": {"trackId": "TR_none"}}`, protocol.CodeUnknownTrack},
			{"settings for no such track", `{"type": "track_settings", "data": {"trackId": "TR_none", "maxLayer": "q"}}`, protocol.CodeUnknownTrack},
			{"settings with a bad priority", `{"type": "track_settings", "data": {"trackId": "` + ids[1] + `", "priority": "urgent"}}`, protocol.CodeBadRequest},
			{"settings with a negative size", `{"type": "track_settings", "data": {"trackId": "` + ids[1] + `", "width": -5}}`, protocol.CodeBadRequest},
			{"duplicate layer rids", `{"type": "publish_offer", "data": {"sdp": "v=0", "tracks": [{"mid": "0", "source": "camera", "layers": [{"rid": "q"}, {"rid": "q"}]}]}}`, protocol.CodeBadRequest},
		}
		for _, tc := range joinedCases {
			bad.send(tc.frame)
			e := bad.expectError(tc.code)
			t.Logf("%s → %s: %s", tc.name, e.Code, e.Message)
		}
		bad.send(`{"type": "ping", "id": "p"}`)
		if env := bad.next(); env.Type != protocol.TypePong || env.ID != "p" {
			t.Fatalf("session did not go on after bad input: got %s", env.Type)
		}

		// A frame over the hard limit ends that socket (close 1009) and nothing else.
		huge := dialRaw(t, wsURL(n))
		_ = huge.conn.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", protocol.MaxFrameSize+1)))
		_ = huge.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := huge.conn.ReadMessage()
		var closeErr *websocket.CloseError
		if !errors.As(err, &closeErr) || closeErr.Code != websocket.CloseMessageTooBig {
			t.Fatalf("oversized frame: want close 1009, got %v", err)
		}

		before := sub.packets(ids[1])
		time.Sleep(time.Second)
		if sub.packets(ids[1]) <= before {
			t.Fatal("the patient's video stopped during the bad input")
		}
		_ = bad.conn.Close()
	}()

	eventually(t, 10*time.Second, "the node to forget every session", func() bool {
		return n.SFU().Stats().Participants == 0 && n.Signaling().Stats().Sessions == 0
	})
	goroutinesSettle(t, baseline)
}

// TestPeerVanishesMidHandshake: a client that sends its offer and disappears leaves no participant,
// room or goroutine behind.
func TestPeerVanishesMidHandshake(t *testing.T) {
	n := startNode(t)
	baseline := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		p := join(t, n, "consult", "patient", true)
		audio, video := mustSources(t, p.name)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, _ = p.c.Publish(ctx, audio, video) // the reply may never come: the socket is gone
		}()
		time.Sleep(time.Duration(i*20) * time.Millisecond) // vanish at different points of the handshake
		p.c.Disconnect()
		_ = p.c.PublishConnection().Close()
		_ = p.c.SubscribeConnection().Close()
	}
	eventually(t, 10*time.Second, "no participants or rooms left", func() bool {
		st := n.SFU().Stats()
		return st.Participants == 0 && st.Rooms == 0 && n.Signaling().Stats().Rooms == 0
	})
	goroutinesSettle(t, baseline)
}
