package signaling

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// fakeMedia is a media plane that admits everyone and carries no media: enough for the control plane's
// rooms, lobbies, policies and invitations. Its participants publish nothing.
type fakeMedia struct{}

var errNoFakeMedia = errors.New("the fake media plane carries no media")

func (fakeMedia) Join(_, _ string, _ sfu.ParticipantEvents, onJoined func([]sfu.TrackInfo)) (MediaParticipant, error) {
	onJoined(nil) // synchronously, as the SFU does: `joined` goes out under the room's lock
	return fakeParticipant{}, nil
}

func (fakeMedia) Offers(sfu.CheckTransport) bool { return false }

func (fakeMedia) StartCheck(context.Context, sfu.CheckTransport, string, time.Duration) (string, Check, error) {
	return "", nil, errNoFakeMedia
}

type fakeParticipant struct{}

func (fakeParticipant) Publish(string, []sfu.TrackSource) (string, []sfu.AssignedTrack, error) {
	return "", nil, errNoFakeMedia
}
func (fakeParticipant) AcceptSubscriberAnswer(string) error                            { return errNoFakeMedia }
func (fakeParticipant) AddICECandidate(sfu.Target, webrtc.ICECandidateInit) error      { return nil }
func (fakeParticipant) SetMuted(string, bool) error                                    { return sfu.ErrUnknownTrack }
func (fakeParticipant) Unpublish(string) error                                         { return sfu.ErrUnknownTrack }
func (fakeParticipant) SetSubscriptionSettings(string, sfu.SubscriptionSettings) error { return nil }
func (fakeParticipant) Block(string, bool) error                                       { return sfu.ErrUnknownTrack }
func (fakeParticipant) Published() []sfu.TrackInfo                                     { return nil }
func (fakeParticipant) Rates() map[string][]sfu.LayerRate                              { return nil }
func (fakeParticipant) Close()                                                         {}
func (fakeParticipant) Record(string, sfu.RecordSink) (*sfu.RecordTap, error) {
	return nil, sfu.ErrUnknownTrack
}

// testKeys is the keyring of the keyed test servers.
func testKeys(t *testing.T) *auth.Keyring {
	t.Helper()
	keys, err := auth.NewKeyring(auth.Key{ID: "APIunit", Secret: strings.Repeat("u", 40)})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// testServer is a signalling server over fakeMedia behind an httptest server, closed when the test ends.
type testServer struct {
	t    *testing.T
	srv  *Server
	http *httptest.Server
}

// startServer runs a server with cfg (a silent logger unless cfg has one).
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv := New(fakeMedia{}, cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	return &testServer{t: t, srv: srv, http: hs}
}

// dial opens a socket to the server, closed when the test ends.
func (ts *testServer) dial() *websocket.Conn {
	ts.t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.http.URL, "http")+"/ws", nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// mintToken signs a join token for identity in room, named as the identity.
func mintToken(t *testing.T, keys *auth.Keyring, room, identity string, role auth.Role, policy *auth.Policy) string {
	t.Helper()
	tok, err := keys.Mint(auth.Claims{Room: room, Name: identity, Role: role, Policy: policy,
		RegisteredClaims: jwt.RegisteredClaims{Subject: identity}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// joinAs dials and joins room with token; the reply (joined, lobby or error) is returned with the socket.
func (ts *testServer) joinAs(room, token string) (*websocket.Conn, protocol.Envelope) {
	ts.t.Helper()
	conn := ts.dial()
	send(ts.t, conn, protocol.TypeJoin, "join", protocol.Join{Room: room, Token: token, Name: "someone"})
	return conn, read(ts.t, conn)
}

// mustJoin joins room with token and fails the test unless the reply is want (joined or lobby).
func (ts *testServer) mustJoin(room, token, want string) *websocket.Conn {
	ts.t.Helper()
	conn, env := ts.joinAs(room, token)
	if env.Type != want || env.ID != "join" {
		ts.t.Fatalf("join %s: got %s %s, want %s", room, env.Type, env.Data, want)
	}
	return conn
}

// settle waits until whoever holds the room's lock has let go of it. A joiner's reply is queued under
// the lock but may reach the test before the lock holder has queued what the members hear of the join;
// once the lock is free, they have.
func (ts *testServer) settle(room string) {
	if r := ts.srv.lookup(room); r != nil {
		// A broadcast the room spaced out (coalesceLocked) is due within Limits.StateInterval: wait for it.
		for {
			r.mu.Lock()
			due := r.stateSend.timer != nil || r.lobbySend.timer != nil
			r.mu.Unlock()
			if !due {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// untilPong sends a ping and returns everything the socket received before its pong. Whatever a room
// queued for the socket before the ping was handled comes first, so after settle this reads it all.
func untilPong(t *testing.T, conn *websocket.Conn) []protocol.Envelope {
	t.Helper()
	send(t, conn, protocol.TypePing, "sync", nil)
	var got []protocol.Envelope
	for {
		env := read(t, conn)
		if env.Type == protocol.TypePong && env.ID == "sync" {
			return got
		}
		got = append(got, env)
	}
}

// ofType returns the messages of typ, decoded.
func ofType[T any](t *testing.T, envs []protocol.Envelope, typ string) []T {
	t.Helper()
	var out []T
	for _, env := range envs {
		if env.Type == typ {
			out = append(out, decodeData[T](t, env))
		}
	}
	return out
}

// request sends one message and returns its reply (the next message with its id).
func request(t *testing.T, conn *websocket.Conn, typ, id string, data any) protocol.Envelope {
	t.Helper()
	send(t, conn, typ, id, data)
	for {
		if env := read(t, conn); env.ID == id {
			return env
		}
	}
}

// errorCode is the code of an error reply, or "" for another reply.
func errorCode(t *testing.T, env protocol.Envelope) string {
	t.Helper()
	if env.Type != protocol.TypeError {
		return ""
	}
	return decodeData[protocol.Error](t, env).Code
}

func decodeData[T any](t *testing.T, env protocol.Envelope) T {
	t.Helper()
	var v T
	if perr := protocol.DecodeData(env, &v); perr != nil {
		// DecodeData validates: server messages have no Validate, so this is a JSON error.
		t.Fatalf("%s data %s: %v", env.Type, env.Data, perr)
	}
	return v
}
