package signaling

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// noMedia is a media plane that nobody may reach: a lobby waiter must never be registered with it.
type noMedia struct{ t *testing.T }

func (m noMedia) Join(room, participantID string, _ sfu.ParticipantEvents, _ func([]sfu.TrackInfo)) (MediaParticipant, error) {
	m.t.Errorf("a waiter of room %s reached the media plane as %s", room, participantID)
	return nil, context.Canceled
}

func (noMedia) Offers(sfu.CheckTransport) bool { return false }

func (m noMedia) StartCheck(context.Context, sfu.CheckTransport, string, time.Duration) (string, Check, error) {
	m.t.Error("a connectivity check reached the media plane")
	return "", nil, context.Canceled
}

// TestLobbyWaitOutlivesJoinTimeout: the join timeout closes a socket that never joins, but not one
// waiting in a lobby, however long the host takes; the waiter's socket still answers ping.
func TestLobbyWaitOutlivesJoinTimeout(t *testing.T) {
	keys, err := auth.NewKeyring(auth.Key{ID: "APIunit", Secret: strings.Repeat("u", 40)})
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 300 * time.Millisecond
	srv := New(noMedia{t}, Config{JoinTimeout: timeout, Keys: keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	}()
	dial := func() *websocket.Conn {
		conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	token, err := keys.Mint(auth.Claims{Room: "ward", Role: auth.RoleAttendee, Policy: &auth.Policy{Lobby: true},
		RegisteredClaims: jwt.RegisteredClaims{Subject: "patient"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	idle := dial()
	waiter := dial()
	send(t, waiter, protocol.TypeJoin, "j", protocol.Join{Room: "ward", Name: "Pat", Token: token})
	if env := read(t, waiter); env.Type != protocol.TypeLobby || env.ID != "j" {
		t.Fatalf("join reply: %s %s", env.Type, env.Data)
	}

	// The socket that never joined is told and closed after the timeout.
	if env := read(t, idle); env.Type != protocol.TypeError || !strings.Contains(string(env.Data), protocol.CodeNotJoined) {
		t.Fatalf("idle socket: %s %s", env.Type, env.Data)
	}
	time.Sleep(3 * timeout)
	send(t, waiter, protocol.TypePing, "p", nil)
	if env := read(t, waiter); env.Type != protocol.TypePong || env.ID != "p" {
		t.Fatalf("waiter after %s: %s %s", 3*timeout, env.Type, env.Data)
	}
	// The idle socket's session ends once its close handshake does (the test's client never answers, so
	// after the server's drain).
	deadline := time.Now().Add(2 * time.Second)
	for srv.Stats().Sessions != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions open, want the waiter's", srv.Stats().Sessions)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func send(t *testing.T, conn *websocket.Conn, typ, id string, data any) {
	t.Helper()
	msg, err := protocol.Encode(typ, id, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, conn *websocket.Conn) protocol.Envelope {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, frame, err := conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var env protocol.Envelope
	if err := json.Unmarshal(frame, &env); err != nil {
		t.Fatal(err)
	}
	return env
}
