package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// pipeTransport is a session's socket in memory: the test hands it frames, and it keeps what the
// server writes until the buffer is full.
type pipeTransport struct {
	in     chan []byte
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func newPipeTransport() *pipeTransport {
	return &pipeTransport{in: make(chan []byte, 64), out: make(chan []byte, 4096), closed: make(chan struct{})}
}

func (p *pipeTransport) read() ([]byte, error) {
	select {
	case f := <-p.in:
		return f, nil
	case <-p.closed:
		return nil, io.EOF
	}
}

func (p *pipeTransport) write(msg []byte) error {
	select {
	case p.out <- msg:
	default:
	}
	return nil
}

func (p *pipeTransport) keepalive() error            { return nil }
func (p *pipeTransport) shutdown(code int, _ string) { p.once.Do(func() { close(p.closed) }) }
func (p *pipeTransport) release()                    {}

// feed hands the session a frame unless it has ended.
func (p *pipeTransport) feed(frame []byte) {
	select {
	case p.in <- frame:
	case <-p.closed:
	}
}

// startPipeSession runs a dev-trusted session (a host of whatever room it joins) on srv.
func startPipeSession(srv *Server) (*pipeTransport, chan struct{}) {
	tr := newPipeTransport()
	sess := newSession(srv, tr, "127.0.0.1:40000", true)
	done := make(chan struct{})
	if !srv.track(sess) {
		close(done)
		return tr, done
	}
	go func() {
		defer close(done)
		defer srv.untrack(sess)
		sess.run()
	}()
	return tr, done
}

// FuzzMessageSequence sends sequences of messages from three members of one in-process room (two
// hosts and an attendee): each line of the input is one frame, its first byte choosing the sender.
// Whatever they send, nothing panics, and afterwards the server still lets a newcomer into the room.
func FuzzMessageSequence(f *testing.F) {
	for _, seed := range []string{
		"0{\"type\":\"raise_hand\",\"data\":{\"raised\":true}}\n2{\"type\":\"raise_hand\",\"data\":{\"raised\":true}}\n1{\"type\":\"lower_hand\",\"data\":{\"participantId\":\"x\"}}",
		"0{\"type\":\"room_settings\",\"data\":{\"locked\":true,\"chatEnabled\":false}}\n2{\"type\":\"chat\",\"data\":{\"text\":\"hi\"}}",
		"0{\"type\":\"start_recording\"}\n2{\"type\":\"recording_consent\",\"data\":{\"accept\":false}}\n0{\"type\":\"stop_recording\"}",
		"1{\"type\":\"spotlight\",\"data\":{\"participantId\":\"\"}}\n1{\"type\":\"mute_all\",\"data\":{\"kinds\":[\"audio\"]}}\n0{\"type\":\"end_room\"}",
		"2{\"type\":\"publish_offer\",\"data\":{\"sdp\":\"v=0\\r\\nm=audio 9 X 0\\r\\n\"}}\n2{\"type\":\"ice_candidate\",\"data\":{\"target\":\"publish\",\"candidate\":{\"candidate\":\"candidate:1 1 udp 1 127.0.0.1 9 typ host\"}}}",
		"0{\"type\":\"create_invite\",\"data\":{\"role\":\"attendee\"}}\n2{\"type\":\"leave\"}\n2{\"type\":\"ping\"}",
		"1{\"type\":\"join\",\"data\":{\"room\":\"other\",\"name\":\"x\"}}\n0not json\n0{\"type\":\"no_such\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		if len(input) > 64<<10 {
			return
		}
		keys := testKeys(t)
		srv := New(fakeMedia{}, Config{Keys: keys, DevTrustLoopback: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Limits: Limits{StateInterval: time.Millisecond}})
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Close(ctx); err != nil {
				t.Fatalf("server close: %v", err)
			}
		}()
		var members [3]*pipeTransport
		var ended [3]chan struct{}
		attendee := mintToken(t, keys, "fuzz", "student", auth.RoleAttendee, nil)
		for i := range members {
			members[i], ended[i] = startPipeSession(srv)
			token := ""
			if i == 2 {
				token = `,"token":"` + attendee + `"`
			}
			members[i].feed([]byte(`{"type":"join","id":"j","data":{"room":"fuzz","name":"m` + string(rune('0'+i)) + `"` + token + `}}`))
		}
		for _, line := range bytes.Split(input, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			members[int(line[0])%len(members)].feed(append([]byte(nil), line[1:]...))
		}
		// A newcomer still gets an answer to its join: the room and the server carry on.
		probe, probeEnded := startPipeSession(srv)
		probe.feed([]byte(`{"type":"join","id":"probe","data":{"room":"fuzz","name":"probe"}}`))
		deadline := time.After(10 * time.Second)
		for answered := false; !answered; {
			select {
			case msg := <-probe.out:
				var env protocol.Envelope
				answered = json.Unmarshal(msg, &env) == nil && env.ID == "probe" &&
					(env.Type == protocol.TypeJoined || env.Type == protocol.TypeLobby || env.Type == protocol.TypeError)
			case <-deadline:
				t.Fatal("a newcomer's join got no answer after the sequence")
			}
		}
		for i := range members {
			members[i].shutdown(0, "")
			<-ended[i]
		}
		probe.shutdown(0, "")
		<-probeEnded
	})
}
