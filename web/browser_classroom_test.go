package web_test

// A classroom (issue 7): a teacher (host) and three students (attendees who
// publish nothing until granted) follow their join links. Students see the
// teacher, not a wall of empty student tiles (those are in the People
// panel); a student raises a hand, the teacher sees the queue in order and
// allows the microphone from it (the hand goes down), the student's
// microphone unlocks and the other students receive it; the spotlight and
// "Mute all" and the lock reach everyone; taking the microphone back removes the track
// for the others and locks the student's control again; a student without a
// grant who publishes anyway is refused by the server; the teacher turns the
// chat off (a student's input disables, with why) and on again, and a
// student's message reaches the teacher with its sender and time; the
// teacher removes a student (after confirming), who stays out.
// (web/browser_grants_test.go covers the same grants driven through the
// admin API, the moderator's mute in detail and getUserMedia counts.)

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/huddlehq/huddle/signaling/auth"
)

// TestBrowserClassroom: hands, grants, spotlight, mute all, revoke, a refused
// publish and the chat, with a teacher and three students. About 40 s.
func TestBrowserClassroom(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	dir := artifactsDir(t)
	const room = "class-9c"
	classroom := &auth.Policy{Mode: auth.ModeClassroom}

	teacher := openTab(t, browser, "teacher")
	joinThroughLink(t, teacher, joinLinkURL(n.URL(), room, n.mint(room, "ms-rivera", "Ms Rivera", auth.RoleHost, classroom)), "Ms Rivera")
	if _, err := waitJS(teacher.Ctx, 15*time.Second, 100*time.Millisecond,
		`window.huddle ? window.huddle.cameraTrackId() || '' : ''`, func(s string) bool { return s != "" }); err != nil {
		t.Fatalf("teacher: no camera published after joining: %v", err)
	}
	teacherID, _ := evalJS[string](teacher.Ctx, `window.huddle.participantId`)

	names := []string{"Ann", "Ben", "Cid"}
	students := make([]*tab, len(names))
	ids := make([]string, len(names))
	for i, name := range names {
		students[i] = openTab(t, browser, strings.ToLower(name))
		joinThroughLink(t, students[i], joinLinkURL(n.URL(), room, n.mint(room, strings.ToLower(name), name, auth.RoleAttendee, classroom)), name)
	}
	for i, tb := range students {
		// Joined, the teacher's picture decoded, the teacher's tile the only one, everyone listed.
		v, err := waitRoom(tb, 20*time.Second, func(v roomView) bool {
			return v.State == "joined" && len(v.Room.People) == 4 && slices.Equal(v.Room.Layout.Tiles, []string{teacherID})
		})
		if err != nil {
			t.Fatalf("student %s: want only the teacher's tile and four people listed: %v (saw tiles %v, %d people)", names[i], err, v.Room.Layout.Tiles, len(v.Room.People))
		}
		ids[i] = v.ParticipantID
		if _, err := waitVideoFrom(tb, teacherID, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ann, ben, cid := students[0], students[1], students[2]
	annID, benID, cidID := ids[0], ids[1], ids[2]

	// A student: locked publish controls saying why, a "Raise hand" control, the others as rows.
	sv, err := waitStudent(t, ben, 5*time.Second, func(v studentView) bool { return v.Mic.AriaDisabled && v.Cam.AriaDisabled })
	if err != nil || !strings.Contains(strings.ToLower(sv.Mic.Label), "host") {
		t.Errorf("student: mic %+v, camera %+v (%v); want both locked with an explanation", sv.Mic, sv.Cam, err)
	}
	bv, _ := evalJS[roomView](ben.Ctx, roomViewJS)
	if p, ok := bv.person(annID); !ok || p.RoleLabel != "Student" || p.Mic != "none" || p.Tile {
		t.Errorf("Ben's People panel: Ann %+v, want a student row, no microphone, no tile", p)
	}
	if p, ok := bv.person(teacherID); !ok || p.RoleLabel != "Teacher" || p.Mic != "on" {
		t.Errorf("Ben's People panel: teacher %+v, want the teacher with the microphone on", p)
	}
	if hand := controlOf(t, ben, "raise-hand"); hand.Hidden || hand.Pressed != "false" || !strings.Contains(hand.Label, "Raise your hand") {
		t.Errorf("student: raise hand control %+v, want it shown and not pressed", hand)
	}
	clickByID(t, ben, "toggle-people")
	shot(t, ben, dir, "classroom-student-people")
	clickByID(t, ben, "people-close")
	tv, err := waitRoom(teacher, 5*time.Second, func(v roomView) bool { return len(v.Room.People) == 4 })
	if err != nil || len(tv.Room.Layout.Tiles) != 0 {
		t.Errorf("teacher: %d people, student tiles %v (%v); want four people and no tile for a student who publishes nothing", len(tv.Room.People), tv.Room.Layout.Tiles, err)
	}
	if count, _ := evalJS[string](teacher.Ctx, `document.getElementById('call-count').textContent`); count != "4 people" {
		t.Errorf("teacher: header count %q, want 4 people", count)
	}

	// Ann, then Ben, raise a hand: the teacher sees the queue in that order and is told.
	clickByID(t, ann, "raise-hand")
	if _, err := waitRoom(teacher, 5*time.Second, func(v roomView) bool {
		return slices.Equal(v.Room.RoomState.Hands, []string{annID})
	}); err != nil {
		t.Fatalf("teacher: Ann's hand not seen: %v", err)
	}
	clickByID(t, ben, "raise-hand")
	tv, err = waitRoom(teacher, 5*time.Second, func(v roomView) bool {
		return slices.Equal(v.Room.RoomState.Hands, []string{annID, benID}) && strings.Contains(v.Room.Announced, "raised a hand")
	})
	if err != nil {
		t.Fatalf("teacher: hands queue %v, announced %q: %v", tv.Room.RoomState.Hands, tv.Room.Announced, err)
	}
	if hand := controlOf(t, ann, "raise-hand"); hand.Pressed != "true" || !strings.Contains(hand.Label, "Lower your hand") {
		t.Errorf("Ann: raise hand control %+v, want pressed, offering to lower it", hand)
	}
	clickByID(t, teacher, "toggle-people")
	queue, err := waitJS(teacher.Ctx, 5*time.Second, 100*time.Millisecond,
		`[...document.querySelectorAll('#people-hands-list > li')].map((li) => li.querySelector('.people__name').textContent)`,
		func(q []string) bool { return len(q) == 2 })
	if err != nil || queue[0] != "1. Ann" || queue[1] != "2. Ben" {
		t.Errorf("teacher: hands queue on screen %q (%v), want Ann then Ben", queue, err)
	}
	if badge, _ := evalJS[string](teacher.Ctx, `document.getElementById('people-badge').textContent`); badge != "2" {
		t.Errorf("teacher: People badge %q, want 2 raised hands", badge)
	}
	shot(t, teacher, dir, "classroom-teacher-hands")
	// The same on a phone: the panel and its buttons fit.
	emulatePhone(t, teacher, 390, 844)
	if problems, err := evalJS[[]string](teacher.Ctx, panelProblemsJS); err != nil || len(problems) != 0 {
		t.Errorf("teacher on a phone: People panel problems %q (%v)", problems, err)
	}
	shot(t, teacher, dir, "classroom-teacher-hands-phone-390x844")
	if err := chromedp.Do(teacher.Ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("restoring the teacher's laptop viewport: %v", err)
	}
	clickByID(t, teacher, "hand-lower-"+benID)
	if _, err := waitRoom(ben, 5*time.Second, func(v roomView) bool { return len(v.Room.RoomState.Hands) == 1 }); err != nil {
		t.Errorf("Ben: hand not lowered by the teacher: %v", err)
	}

	// The teacher allows Ann's microphone from the queue: her hand goes down, her control unlocks.
	clickByID(t, teacher, "hand-mic-"+annID)
	sv, err = waitStudent(t, ann, 10*time.Second, func(v studentView) bool { return v.mayPublish("microphone") && v.Mic.usable() })
	if err != nil {
		t.Fatalf("Ann: microphone not unlocked after the teacher allowed it: %v (saw %+v)", err, sv)
	}
	// The grant comes first; the lowered hand follows in the next (coalesced) room_state.
	if v, err := waitRoom(ann, 10*time.Second, func(v roomView) bool { return len(v.Room.RoomState.Hands) == 0 }); err != nil {
		t.Errorf("Ann: hands %v after the grant, want hers lowered: %v", v.Room.RoomState.Hands, err)
	}
	clickByID(t, ann, "toggle-mic")
	micTrack := waitOwnTrack(t, ann, annID, "microphone", 10*time.Second)
	for _, tb := range []*tab{ben, cid} {
		waitHostAudio(t, tb, micTrack, 15*time.Second, true)
		if _, err := waitRoom(tb, 5*time.Second, func(v roomView) bool { return slices.Contains(v.Room.Layout.Tiles, annID) }); err != nil {
			t.Errorf("%v: want a tile for Ann now that she speaks", err)
		}
	}
	t.Logf("Ben and Cid receive Ann's microphone %s", micTrack)
	shot(t, ben, dir, "classroom-student-sees-speaker")

	// Spotlight: the teacher puts Ann large for everyone from her tile's menu (with the keyboard), then clears it.
	spotlightByKeyboard(t, teacher, annID)
	if _, err := waitJS(cid.Ctx, 5*time.Second, 100*time.Millisecond, `window.huddle.layout().featured`, func(f string) bool { return f == annID }); err != nil {
		t.Errorf("Cid: Ann not shown large after the spotlight: %v", err)
	}
	shot(t, cid, dir, "classroom-spotlight")
	clickByID(t, teacher, "tile-menu-"+annID)
	clickByID(t, teacher, "menu-spotlight-"+annID)
	if _, err := waitJS(cid.Ctx, 5*time.Second, 100*time.Millisecond, `window.huddle.layout().featured || ''`, func(f string) bool { return f != annID }); err != nil {
		t.Errorf("Cid: Ann still large after the spotlight was cleared: %v", err)
	}

	// Mute all: Ann's microphone is muted by the teacher, and locked for her.
	clickByID(t, teacher, "room-mute-all")
	if sv, err := waitStudent(t, ann, 5*time.Second, func(v studentView) bool { return v.Mic.AriaDisabled && v.LocalAudio == "off" }); err != nil {
		t.Errorf("Ann: not muted by Mute all: %v (saw %+v)", err, sv)
	}
	if _, err := waitRoom(ben, 5*time.Second, func(v roomView) bool { p, _ := v.person(annID); return p.Mic == "muted" }); err != nil {
		t.Errorf("Ben: Ann's microphone not shown muted: %v", err)
	}

	// The teacher takes the microphone back: the track goes for the others, Ann's control locks, her microphone stops.
	clickByID(t, teacher, "tile-menu-"+annID)
	clickByID(t, teacher, "menu-mic-"+annID)
	if sv, err := waitStudent(t, ann, 10*time.Second, func(v studentView) bool {
		return !v.mayPublish("microphone") && v.Mic.AriaDisabled && v.LocalAudio == ""
	}); err != nil {
		t.Errorf("Ann: microphone not stopped after the teacher took it back: %v (saw %+v)", err, sv)
	}
	for _, tb := range []*tab{ben, cid} {
		waitHostAudio(t, tb, micTrack, 10*time.Second, false)
		if _, err := waitRoom(tb, 5*time.Second, func(v roomView) bool { return !slices.Contains(v.Room.Layout.Tiles, annID) }); err != nil {
			t.Errorf("%v: Ann's tile should go with her microphone", err)
		}
	}

	// Cid has no grant; publishing anyway (the client's own check skipped) is refused by the server.
	res, err := evalJS[struct {
		OK   bool   `json:"ok"`
		Code string `json:"code"`
	}](cid.Ctx, `window.huddle.tryPublish('audio')`)
	if err != nil || res.OK || res.Code != "insufficient_grant" {
		t.Errorf("Cid publishing without a grant: %+v (%v), want refused with insufficient_grant", res, err)
	}
	if banners, _ := evalJS[[]string](cid.Ctx, `window.huddle.banners()`); !slices.ContainsFunc(banners, func(s string) bool { return strings.Contains(s, "Cannot send your microphone") }) {
		t.Errorf("Cid: banners %q, want the refusal shown", banners)
	}
	if tracks, _ := evalJS[[]any](teacher.Ctx, `window.huddle.tracksOf(`+jsString(cidID)+`)`); len(tracks) != 0 {
		t.Errorf("teacher: Cid publishes %v after the refusal, want nothing", tracks)
	}

	// Lock class: the state reaches the students, the toggle says so; unlocked again.
	clickByID(t, teacher, "room-lock-toggle")
	if _, err := waitRoom(ben, 5*time.Second, func(v roomView) bool { return v.Room.RoomState.Locked }); err != nil {
		t.Errorf("Ben: the class is not shown locked: %v", err)
	}
	if lock := controlOf(t, teacher, "room-lock-toggle"); lock.Pressed != "true" || !strings.Contains(lock.Label, "locked") {
		t.Errorf("teacher: lock toggle %+v, want pressed and saying the class is locked", lock)
	}
	clickByID(t, teacher, "room-lock-toggle")
	if _, err := waitRoom(ben, 5*time.Second, func(v roomView) bool { return !v.Room.RoomState.Locked }); err != nil {
		t.Errorf("Ben: the class is still shown locked: %v", err)
	}

	// Chat: off for students (Cid's input disables, saying why), on again, and Cid's message reaches the teacher.
	clickByID(t, teacher, "room-chat-toggle")
	clickByID(t, cid, "toggle-chat")
	cv, err := waitRoom(cid, 5*time.Second, func(v roomView) bool { return v.Room.Chat.InputDisabled })
	if err != nil || !strings.Contains(cv.Room.Chat.Note, "teacher turned chat off") {
		t.Errorf("Cid: chat input disabled %v, note %q (%v); want it off, saying the teacher turned it off", cv.Room.Chat.InputDisabled, cv.Room.Chat.Note, err)
	}
	shot(t, cid, dir, "classroom-chat-off")
	if pressed, _ := evalJS[string](teacher.Ctx, `document.getElementById('room-chat-toggle').getAttribute('aria-pressed')`); pressed != "false" {
		t.Errorf("teacher: chat toggle aria-pressed %q with chat off, want false", pressed)
	}
	clickByID(t, teacher, "room-chat-toggle")
	if _, err := waitRoom(cid, 5*time.Second, func(v roomView) bool { return !v.Room.Chat.InputDisabled && v.Room.Chat.Allowed }); err != nil {
		t.Fatalf("Cid: chat not back on: %v", err)
	}
	const question = "Is this on the exam?"
	if err := chromedp.Do(cid.Ctx, chromedp.SendKeys(chromedp.CSS("#chat-input"), question+kb.Enter)); err != nil {
		t.Fatalf("Cid: typing a chat message: %v", err)
	}
	tv, err = waitRoom(teacher, 5*time.Second, func(v roomView) bool { return len(v.Room.Chat.Messages) == 1 })
	if err != nil {
		t.Fatalf("teacher: Cid's message did not arrive: %v", err)
	}
	m := tv.Room.Chat.Messages[0]
	if m.Text != question || m.Name != "Cid" || m.From != cidID || m.At == "" || m.Mine || tv.Room.Chat.Unread != 1 {
		t.Errorf("teacher: chat %+v (unread %d), want Cid's question with a time, counted unread", m, tv.Room.Chat.Unread)
	}
	if badge, _ := evalJS[string](teacher.Ctx, `document.getElementById('chat-badge').textContent`); badge != "1" {
		t.Errorf("teacher: chat badge %q, want 1 unread", badge)
	}
	if v, err := waitRoom(cid, 5*time.Second, func(v roomView) bool { return len(v.Room.Chat.Messages) == 1 }); err != nil || !v.Room.Chat.Messages[0].Mine {
		t.Errorf("Cid: own message not shown as theirs: %v (%+v)", err, v.Room.Chat.Messages)
	}
	clickByID(t, teacher, "toggle-chat")
	shot(t, teacher, dir, "classroom-teacher-chat")
	emulatePhone(t, cid, 390, 844)
	checkLayout(t, cid, "phone 390x844")
	shot(t, cid, dir, "classroom-student-chat-phone-390x844")

	// The teacher removes Cid from the People panel's menu, after confirming; Cid is told and stays out.
	clickByID(t, teacher, "toggle-people")
	clickByID(t, teacher, "person-menu-"+cidID)
	clickByID(t, teacher, "menu-remove-"+cidID)
	if v, err := waitRoom(teacher, 5*time.Second, func(v roomView) bool { return v.Room.Confirm.Open }); err != nil || !strings.Contains(v.Room.Confirm.Title, "Remove Cid") {
		t.Fatalf("teacher: no confirmation before removing Cid: %v (%+v)", err, v.Room.Confirm)
	}
	clickByID(t, teacher, "confirm-ok")
	cv, err = waitRoom(cid, 10*time.Second, func(v roomView) bool { return v.End.Shown && v.Connection == "left" })
	if err != nil || !strings.Contains(cv.End.Title, "removed") || cv.End.Rejoin {
		t.Errorf("Cid after removal: %v (%+v), want the end page saying they were removed, without Rejoin", err, cv.End)
	}
	if _, err := waitRoom(teacher, 5*time.Second, func(v roomView) bool { _, there := v.person(cidID); return !there && len(v.Room.People) == 3 }); err != nil {
		t.Errorf("teacher: Cid still listed after the removal: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // longer than the first reconnect delays
	if v, _ := evalJS[roomView](cid.Ctx, roomViewJS); v.Attempts != 0 || v.Connection != "left" {
		t.Errorf("Cid after removal: %d reconnect attempts, connection %q; want none", v.Attempts, v.Connection)
	}
}

// panelProblemsJS lists what is wrong with the open People panel at the
// current viewport: the panel or a button outside the viewport, a button's
// text cut off, a button without a name.
const panelProblemsJS = `(() => {
  const p = [], vw = window.innerWidth, vh = window.innerHeight;
  const panel = document.getElementById('people-panel');
  const r = panel.getBoundingClientRect();
  if (panel.hidden || r.width === 0) return ['the People panel is not open'];
  if (r.left < -1 || r.right > vw + 1 || r.top < -1 || r.bottom > vh + 1) p.push('panel outside the viewport: ' + JSON.stringify(r));
  for (const b of panel.querySelectorAll('button')) {
    if (b.offsetParent === null) continue;
    const br = b.getBoundingClientRect();
    const name = b.id || b.className;
    if (br.left < r.left - 1 || br.right > r.right + 1) p.push(name + ' sticks out of the panel');
    if (b.scrollWidth > b.clientWidth + 1) p.push(name + ' text overflows');
    if (!(b.getAttribute('aria-label') || b.textContent).trim()) p.push(name + ' has no name');
  }
  return p;
})()`

// spotlightByKeyboard opens participant id's tile menu in tb from the
// keyboard (Enter on its focused button), checks that focus moved into the
// menu with a visible ring, walks down to "Spotlight for everyone" with the
// arrow keys and presses Enter; the menu closes and focus returns to the button.
func spotlightByKeyboard(t *testing.T, tb *tab, id string) {
	t.Helper()
	type focus struct {
		ID   string `json:"id"`
		Ring bool   `json:"ring"`
		Open bool   `json:"open"`
	}
	const focusJS = `(() => {
	  const e = document.activeElement, s = getComputedStyle(e);
	  return {id: e.id, ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
	          open: !!document.querySelector('.action-menu')};
	})()`
	button := "tile-menu-" + id
	if _, err := evalJS[bool](tb.Ctx, `(document.getElementById(`+jsString(button)+`).focus(), true)`); err != nil {
		t.Fatalf("tab %s: focusing %s: %v", tb.Name, button, err)
	}
	if err := chromedp.Do(tb.Ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatalf("pressing Enter: %v", err)
	}
	f, err := waitJS(tb.Ctx, 3*time.Second, 50*time.Millisecond, focusJS, func(f focus) bool { return f.Open && strings.HasPrefix(f.ID, "menu-") })
	if err != nil {
		t.Fatalf("tab %s: Enter on the tile menu did not put focus in an open menu: %v (%+v)", tb.Name, err, f)
	}
	for i := 0; i < 6 && f.ID != "menu-spotlight-"+id; i++ {
		if err := chromedp.Do(tb.Ctx, chromedp.KeyEvent(kb.ArrowDown)); err != nil {
			t.Fatalf("pressing ArrowDown: %v", err)
		}
		if f, err = evalJS[focus](tb.Ctx, focusJS); err != nil {
			t.Fatal(err)
		}
		if !f.Ring {
			t.Errorf("tab %s: menu item %s has no visible focus ring", tb.Name, f.ID)
		}
	}
	if f.ID != "menu-spotlight-"+id {
		t.Fatalf("tab %s: the arrow keys never reached the spotlight item (at %s)", tb.Name, f.ID)
	}
	if err := chromedp.Do(tb.Ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatalf("pressing Enter: %v", err)
	}
	if f, err := waitJS(tb.Ctx, 3*time.Second, 50*time.Millisecond, focusJS, func(f focus) bool { return !f.Open }); err != nil || f.ID != button {
		t.Errorf("tab %s: after choosing, menu open %v, focus on %q (%v); want it closed and focus back on %s", tb.Name, f.Open, f.ID, err, button)
	}
}

// controlOf reads one button of tb as the user meets it.
func controlOf(t *testing.T, tb *tab, id string) controlView {
	t.Helper()
	c, err := evalJS[controlView](tb.Ctx, `(() => {
	  const b = document.getElementById(`+jsString(id)+`);
	  return {disabled: b.disabled, ariaDisabled: b.getAttribute('aria-disabled') === 'true',
	          pressed: b.getAttribute('aria-pressed') || '', label: b.getAttribute('aria-label') || '',
	          title: b.title, hidden: b.hidden};
	})()`)
	if err != nil {
		t.Fatalf("tab %s: reading #%s: %v", tb.Name, id, err)
	}
	return c
}

// waitOwnTrack waits until tb's participant id publishes a track of source
// (the server said so: track_published) and returns its id.
func waitOwnTrack(t *testing.T, tb *tab, id, source string, timeout time.Duration) string {
	t.Helper()
	type track struct {
		ID     string `json:"id"`
		Source string `json:"source"`
	}
	tracks, err := waitJS(tb.Ctx, timeout, 100*time.Millisecond, `window.huddle.tracksOf(`+jsString(id)+`)`,
		func(ts []track) bool {
			return slices.ContainsFunc(ts, func(x track) bool { return x.Source == source })
		})
	if err != nil {
		t.Fatalf("tab %s: no %s published: %v (tracks %+v)", tb.Name, source, err, tracks)
	}
	for _, x := range tracks {
		if x.Source == source {
			return x.ID
		}
	}
	return ""
}
