package node_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestChat: a message reaches everyone admitted, its sender included, trimmed, with who sent it and
// when; with the chat off a student is refused (chat_disabled) and the teacher is not; without the
// chat grant, and for a hidden observer, chat is refused; malformed chat is a bad_request and the
// session goes on.
func TestChat(t *testing.T) {
	n := startKeyedNode(t, nil)
	teacher, tj := mustJoinToken(t, n, "class-c", "Teacher", mint(t, n, "class-c", "teacher", auth.RoleHost,
		roomPolicy(auth.Policy{Mode: auth.ModeClassroom})))
	ann, aj := mustJoinToken(t, n, "class-c", "Ann", mint(t, n, "class-c", "ann", auth.RoleAttendee, nil))
	ben, _ := mustJoinToken(t, n, "class-c", "Ben", mint(t, n, "class-c", "ben", auth.RoleAttendee, nil))
	observer, _ := mustJoinToken(t, n, "class-c", "Inspector", mint(t, n, "class-c", "inspector", auth.RoleObserver,
		func(c *auth.Claims) { c.Grants = &auth.Grants{Subscribe: true, Chat: true} }))
	mute, _ := mustJoinToken(t, n, "class-c", "Mute", mint(t, n, "class-c", "mute", auth.RoleAttendee,
		func(c *auth.Claims) { c.Grants = &auth.Grants{Subscribe: true} }))

	before := time.Now().Add(-time.Second)
	if err := ann.c.Chat(ctx5(t), "  Is this on the exam?  "); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*peer{teacher, ann, ben, observer, mute} {
		msg := decodeData[protocol.ChatMessage](t, p.waitEvent(5*time.Second, protocol.TypeChat, nil))
		at, err := time.Parse(time.RFC3339Nano, msg.At)
		if msg.From != aj.ParticipantID || msg.Name != "ann" || msg.Text != "Is this on the exam?" || err != nil ||
			at.Before(before) || !strings.Contains(msg.At, ".") {
			t.Fatalf("%s got %+v (%v)", p.name, msg, err)
		}
	}

	if err := mute.c.Chat(ctx5(t), "hello"); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("chat without the grant: %v", err)
	}
	if err := observer.c.Chat(ctx5(t), "hello"); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("chat from a hidden observer: %v", err)
	}
	for _, text := range []string{"", "   ", strings.Repeat("x", protocol.MaxChatLength+1)} {
		if err := ben.c.Chat(ctx5(t), text); errorCode(err) != protocol.CodeBadRequest {
			t.Fatalf("chat %.20q: %v, want bad_request", text, err)
		}
	}
	if err := ben.c.Chat(ctx5(t), strings.Repeat("y", protocol.MaxChatLength)); err != nil {
		t.Fatalf("chat at the limit: %v", err)
	}
	teacher.waitEvent(5*time.Second, protocol.TypeChat, func(env protocol.Envelope) bool {
		return strings.Contains(string(env.Data), strings.Repeat("y", protocol.MaxChatLength))
	})

	off, on := false, true
	if err := ann.c.RoomSettings(ctx5(t), &off, nil); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("student turning the chat off: %v", err)
	}
	if err := teacher.c.RoomSettings(ctx5(t), &off, nil); err != nil {
		t.Fatal(err)
	}
	ben.waitRoomState(func(st protocol.RoomState) bool { return !st.ChatEnabled })
	if err := ben.c.Chat(ctx5(t), "psst"); errorCode(err) != protocol.CodeChatDisabled {
		t.Fatalf("student chat with the chat off: %v, want chat_disabled", err)
	}
	if err := teacher.c.Chat(ctx5(t), "Quiet, please."); err != nil {
		t.Fatalf("teacher chat with the chat off: %v", err)
	}
	msg := decodeData[protocol.ChatMessage](t, ben.waitEvent(5*time.Second, protocol.TypeChat, func(env protocol.Envelope) bool {
		return strings.Contains(string(env.Data), "Quiet")
	}))
	if msg.From != tj.ParticipantID {
		t.Fatalf("teacher's message: %+v", msg)
	}
	ann.noEvent(500*time.Millisecond, protocol.TypeChat, func(env protocol.Envelope) bool { return strings.Contains(string(env.Data), "psst") })
	if err := teacher.c.RoomSettings(ctx5(t), &on, nil); err != nil {
		t.Fatal(err)
	}
	ben.waitRoomState(func(st protocol.RoomState) bool { return st.ChatEnabled })
	if err := ben.c.Chat(ctx5(t), "thanks"); err != nil {
		t.Fatalf("student chat with the chat back on: %v", err)
	}
}

// TestChatFlood: a client sending chat as fast as it can gets rate_limited after a burst, the others
// receive only what was let through, and its session goes on.
func TestChatFlood(t *testing.T) {
	n := startKeyedNode(t, nil)
	flooder, _ := mustJoinToken(t, n, "flood", "Flo", mint(t, n, "flood", "flo", auth.RoleAttendee, nil))
	reader, _ := mustJoinToken(t, n, "flood", "Rea", mint(t, n, "flood", "rea", auth.RoleAttendee, nil))
	sent, limited := 0, 0
	for i := range 40 {
		err := flooder.c.Chat(ctx5(t), fmt.Sprintf("spam %d", i))
		switch {
		case err == nil:
			sent++
		case errorCode(err) == protocol.CodeRateLimited:
			limited++
		default:
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if limited == 0 || sent < 5 || sent > 15 {
		t.Fatalf("40 messages at once: %d sent, %d rate_limited; want the burst of 5 (and a few refills) through", sent, limited)
	}
	got := 0
	for got < sent {
		reader.waitEvent(5*time.Second, protocol.TypeChat, nil)
		got++
	}
	reader.noEvent(300*time.Millisecond, protocol.TypeChat, nil)
	time.Sleep(time.Second)
	if err := flooder.c.Chat(ctx5(t), "sorry"); err != nil {
		t.Fatalf("chat after a pause: %v", err)
	}
	t.Logf("40 messages at once: %d through, %d refused with rate_limited", sent, limited)
}
