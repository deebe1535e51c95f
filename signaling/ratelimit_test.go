package signaling

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

func TestClassOf(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		want msgClass
	}{
		{protocol.TypePublishOffer, classNegotiation},
		{protocol.TypeSubscribeAnswer, classNegotiation},
		{protocol.TypeTrackSettings, classSettings},
		{protocol.TypeICECandidate, classICE},
		{protocol.TypeSetGrants, classModeration},
		{protocol.TypeStartRecording, classModeration},
		{protocol.TypeRaiseHand, classHands},
		{protocol.TypeRecordingConsent, classHands},
		{protocol.TypeChat, classChat},
		{protocol.TypePing, classOther},
		{protocol.TypeCheckOffer, classChecks},
		{"no_such_type", classOther},
	} {
		if got := classOf(tc.typ); got != tc.want {
			t.Errorf("classOf(%q) = %s, want %s", tc.typ, classNames[got], classNames[tc.want])
		}
	}
}

// TestSessionLimitsCharge: a class's burst passes, the next is refused, the bucket refills at its rate,
// classes do not share budgets, and MaxStrikes refusals within the window close the session while
// refusals spread wider than the window do not.
func TestSessionLimitsCharge(t *testing.T) {
	l := DefaultLimits()
	l.Hands = Rate{PerSecond: 2, Burst: 3}
	l.MaxStrikes, l.StrikeWindow = 5, time.Second
	sl := newSessionLimits(l)
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if _, v := sl.charge(protocol.TypeRaiseHand, t0); v != allowed {
			t.Fatalf("raise %d of a burst of 3: %v", i+1, v)
		}
	}
	if _, v := sl.charge(protocol.TypeRaiseHand, t0); v != refused {
		t.Fatalf("the fourth at once: %v, want refused", v)
	}
	if _, v := sl.charge(protocol.TypeChat, t0); v != allowed {
		t.Fatalf("chat after the hands' budget is spent: %v, want allowed (its own budget)", v)
	}
	if _, v := sl.charge(protocol.TypeRaiseHand, t0.Add(500*time.Millisecond)); v != allowed {
		t.Fatalf("half a second later at 2/s: %v, want allowed", v)
	}
	// Refusals one every 300 ms: at most four fall inside any second, never five.
	at := t0.Add(500 * time.Millisecond)
	for i := range 20 {
		at = at.Add(300 * time.Millisecond)
		sl.buckets[classHands].AllowN(at, 3) // empty it
		if _, v := sl.charge(protocol.TypeRaiseHand, at); v == tooMany {
			t.Fatalf("refusal %d spread over time closed the session", i+1)
		}
	}
	// Five within the window close it.
	var v limitVerdict
	for range 5 {
		_, v = sl.charge(protocol.TypeRaiseHand, at)
	}
	if v != tooMany {
		t.Fatalf("five refusals at once: %v, want tooMany", v)
	}
	if err := sl.refusal(classHands, protocol.TypeRaiseHand); err.Code != protocol.CodeRateLimited || !strings.Contains(err.Message, "hands") {
		t.Errorf("refusal: %+v", err)
	}
}

// TestSDPBounds: offers no browser sends are refused with invalid_sdp and the reason before they are
// parsed: 5,000 m-lines, a 60 KB attribute line, more candidates than a session may send (in its
// SDPs and trickled together).
func TestSDPBounds(t *testing.T) {
	keys := testKeys(t)
	ts := startServer(t, Config{Keys: keys, Limits: Limits{MaxCandidates: 10}})
	conn := ts.mustJoin("r", mintToken(t, keys, "r", "pub", auth.RoleHost, nil), protocol.TypeJoined)
	header := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	mline := "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\n"
	var many strings.Builder
	many.WriteString(header)
	for range 5000 { // bare m-lines: the SDP (170 KB) must fit a message for its bounds to be what refuses it
		many.WriteString("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n")
	}
	long := header + fmt.Sprintf(mline, 0) + "a=fmtp:111 " + strings.Repeat("x", 60<<10) + "\r\n"
	var cands strings.Builder
	cands.WriteString(header + fmt.Sprintf(mline, 0))
	for i := range 11 {
		fmt.Fprintf(&cands, "a=candidate:%d 1 udp 2122260223 127.0.0.1 %d typ host\r\n", i, 50000+i)
	}
	for _, tc := range []struct {
		name, sdp, reason string
	}{
		{"5000 m-lines", many.String(), "more than 16 m-lines"},
		{"a 60 KB line", long, "over the limit of 4096"},
		{"11 candidates, 10 allowed", cands.String(), "too many ICE candidates"},
	} {
		env := request(t, conn, protocol.TypePublishOffer, "p", protocol.PublishOffer{SDP: tc.sdp})
		if code := errorCode(t, env); code != protocol.CodeInvalidSDP {
			t.Errorf("%s (%d bytes): %s %s, want invalid_sdp", tc.name, len(tc.sdp), env.Type, env.Data)
			continue
		}
		if msg := decodeData[protocol.Error](t, env).Message; !strings.Contains(msg, tc.reason) {
			t.Errorf("%s: %q, want the reason %q", tc.name, msg, tc.reason)
		}
	}
	// Trickled candidates count too: ten pass (no reply), the eleventh is refused.
	for i := range 11 {
		send(t, conn, protocol.TypeICECandidate, fmt.Sprintf("c%d", i), protocol.ICECandidate{Target: "publish",
			Candidate: &protocol.ICECandidateInit{Candidate: fmt.Sprintf("candidate:%d 1 udp 1 127.0.0.1 %d typ host", i, 5000+i)}})
	}
	var refusedIDs []string
	for _, env := range untilPong(t, conn) {
		if errorCode(t, env) == protocol.CodeInvalidSDP {
			refusedIDs = append(refusedIDs, env.ID)
		} else if env.Type == protocol.TypeError {
			t.Errorf("trickled candidate %s: %s", env.ID, env.Data)
		}
	}
	if len(refusedIDs) != 1 || refusedIDs[0] != "c10" {
		t.Errorf("refused trickled candidates %v, want [c10]", refusedIDs)
	}
	if env := request(t, conn, protocol.TypePing, "alive", nil); env.Type != protocol.TypePong {
		t.Errorf("the session after the refusals: %s", env.Type)
	}
}

// TestRoomStateCoalesced: however fast a moderator changes the room, members get at most one
// room_state per StateInterval (plus the first at once), and the last one carries the final state.
func TestRoomStateCoalesced(t *testing.T) {
	keys := testKeys(t)
	limits := Limits{Moderation: Rate{PerSecond: 1e6, Burst: 1e6}, StateInterval: 100 * time.Millisecond}
	ts := startServer(t, Config{Keys: keys, Limits: limits})
	host := ts.mustJoin("class", mintToken(t, keys, "class", "teacher", auth.RoleHost, nil), protocol.TypeJoined)
	student := ts.mustJoin("class", mintToken(t, keys, "class", "student", auth.RoleAttendee, nil), protocol.TypeJoined)
	ts.settle("class")
	untilPong(t, student)

	const changes = 400
	start := time.Now()
	for i := range changes {
		on := i%2 == 1 // ends on: chat enabled
		send(t, host, protocol.TypeRoomSettings, fmt.Sprintf("s%d", i), protocol.RoomSettings{ChatEnabled: &on})
	}
	for i := 0; i < changes; { // the acks
		if env := read(t, host); env.Type == protocol.TypeAck {
			i++
		}
	}
	took := time.Since(start)
	ts.settle("class")
	states := ofType[protocol.RoomState](t, untilPong(t, student), protocol.TypeRoomState)
	most := int(took/limits.StateInterval) + 2
	if len(states) == 0 || len(states) > most {
		t.Fatalf("%d changes in %v reached the student as %d room_state messages, want 1 to %d", changes, took, len(states), most)
	}
	if !states[len(states)-1].ChatEnabled {
		t.Errorf("the last room_state says chat off; the last change turned it on")
	}
	t.Logf("%d changes in %v: %d room_state messages", changes, took.Round(time.Millisecond), len(states))
}
