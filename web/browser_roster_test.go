package web_test

// The teacher sees the class (issue 14): in a classroom the students publish
// nothing until allowed, so they have no tile; the teacher gets a roster strip
// under the stage instead (web/static/js/roster.js), one entry per student
// with a raised hand shown and an "Allow to speak" button that sends the same
// grant as the People panel's hand queue. Students keep seeing only the
// teacher. (web/browser_classroom_test.go covers the hand queue, grants from
// the menus and what the other students receive.)

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/huddlehq/huddle/signaling/auth"
)

// rosterEntry is one student in window.huddle.room().roster.
type rosterEntry struct {
	ParticipantID string `json:"participantId"`
	Name          string `json:"name"`
	Hand          bool   `json:"hand"`
	MaySpeak      bool   `json:"maySpeak"`
}

const rosterJS = `window.huddle && window.huddle.room ? window.huddle.room().roster : []`

// TestBrowserTeacherRoster: four students in the teacher's roster, one hand
// up, the teacher allows that student to speak from the roster and takes the
// microphone back; laptop and phone screenshots. About 30 s.
func TestBrowserTeacherRoster(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	dir := artifactsDir(t)
	const room = "class-roster"
	classroom := &auth.Policy{Mode: auth.ModeClassroom}

	teacher := openTab(t, browser, "teacher")
	joinThroughLink(t, teacher, joinLinkURL(n.URL(), room, n.mint(room, "mr-okafor", "Mr Okafor", auth.RoleHost, classroom)), "Mr Okafor")
	if _, err := waitJS(teacher.Ctx, 20*time.Second, 100*time.Millisecond,
		`window.huddle ? window.huddle.cameraTrackId() || '' : ''`, func(s string) bool { return s != "" }); err != nil {
		t.Fatalf("teacher: no camera published after joining: %v", err)
	}
	teacherID, _ := evalJS[string](teacher.Ctx, `window.huddle.participantId`)
	// Before anyone comes the strip is there, saying so.
	if empty, err := waitJS(teacher.Ctx, 15*time.Second, 100*time.Millisecond,
		`(() => { const e = document.getElementById('roster-empty'); return document.getElementById('roster').hidden || e.hidden ? '' : e.textContent; })()`,
		func(s string) bool { return s != "" }); err != nil || !strings.Contains(empty, "No students") {
		t.Errorf("teacher: empty roster says %q (%v), want that no students have joined", empty, err)
	}

	// One long name, to see the strip cut it off tidily rather than spill over.
	names := []string{"Ann", "Benedetta Lombardi-Castellano", "Cid", "Dee"}
	students := make([]*tab, len(names))
	ids := make([]string, len(names))
	for i, name := range names {
		students[i] = openTab(t, browser, strings.ToLower(strings.Fields(name)[0]))
		joinThroughLink(t, students[i], joinLinkURL(n.URL(), room, n.mint(room, "student-"+strings.ToLower(strings.Fields(name)[0]), name, auth.RoleAttendee, classroom)), name)
	}
	for i, tb := range students {
		v, err := waitRoom(tb, 20*time.Second, func(v roomView) bool {
			return v.State == "joined" && len(v.Room.People) == 5 && slices.Equal(v.Room.Layout.Tiles, []string{teacherID})
		})
		if err != nil {
			t.Fatalf("student %s: want only the teacher's tile and five people listed: %v (saw tiles %v, %d people)", names[i], err, v.Room.Layout.Tiles, len(v.Room.People))
		}
		ids[i] = v.ParticipantID
	}
	ben, cid := students[1], students[2]
	benID := ids[1]

	// The teacher's roster: the four students, no hand up, nobody allowed to speak.
	roster, err := waitJS(teacher.Ctx, 20*time.Second, 100*time.Millisecond, rosterJS, func(r []rosterEntry) bool { return len(r) == 4 })
	if err != nil {
		t.Fatalf("teacher: roster %+v (%v), want the four students", roster, err)
	}
	var listed []string
	for _, e := range roster {
		listed = append(listed, e.Name)
		if e.Hand || e.MaySpeak {
			t.Errorf("teacher: roster entry %+v, want no hand and not allowed to speak yet", e)
		}
	}
	if !sameSet(listed, names) {
		t.Errorf("teacher: roster lists %q, want %q", listed, names)
	}
	if tv, _ := evalJS[roomView](teacher.Ctx, roomViewJS); len(tv.Room.Layout.Tiles) != 0 {
		t.Errorf("teacher: student tiles %v, want none (they are in the roster)", tv.Room.Layout.Tiles)
	}

	// Ben raises a hand: exactly his is up in the roster, and he comes first.
	clickByID(t, ben, "raise-hand")
	roster, err = waitJS(teacher.Ctx, 15*time.Second, 100*time.Millisecond, rosterJS, func(r []rosterEntry) bool {
		return len(r) == 4 && r[0].ParticipantID == benID && r[0].Hand
	})
	if err != nil {
		t.Fatalf("teacher: roster %+v (%v), want Ben first with his hand up", roster, err)
	}
	for _, e := range roster[1:] {
		if e.Hand {
			t.Errorf("teacher: roster entry %+v has a hand up; only Ben raised his", e)
		}
	}
	if b := controlOf(t, teacher, "roster-mic-"+benID); b.Label != "Allow Benedetta Lombardi-Castellano to speak (grants the microphone)" || !b.usable() {
		t.Errorf("teacher: Ben's roster button %+v, want a usable Allow to speak", b)
	}
	checkRoster(t, teacher, "laptop 1280x800")
	shot(t, teacher, dir, "roster-teacher-hand-1280x800")
	emulatePhone(t, teacher, 390, 844)
	checkRoster(t, teacher, "phone 390x844")
	shot(t, teacher, dir, "roster-teacher-hand-phone-390x844")
	if err := chromedp.Do(teacher.Ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("restoring the teacher's laptop viewport: %v", err)
	}

	// One click allows Ben to speak: his microphone unlocks, the roster says he may speak.
	clickByID(t, teacher, "roster-mic-"+benID)
	if sv, err := waitStudent(t, ben, 15*time.Second, func(v studentView) bool { return v.mayPublish("microphone") && v.Mic.usable() }); err != nil {
		t.Fatalf("Ben: microphone not unlocked after the teacher allowed it from the roster: %v (saw %+v)", err, sv)
	}
	roster, err = waitJS(teacher.Ctx, 15*time.Second, 100*time.Millisecond, rosterJS, func(r []rosterEntry) bool {
		i := slices.IndexFunc(r, func(e rosterEntry) bool { return e.ParticipantID == benID })
		return i >= 0 && r[i].MaySpeak && !r[i].Hand
	})
	if err != nil {
		t.Errorf("teacher: roster %+v (%v), want Ben allowed to speak and his hand down", roster, err)
	}
	if b := controlOf(t, teacher, "roster-mic-"+benID); !strings.HasPrefix(b.Label, "Take the microphone back") {
		t.Errorf("teacher: Ben's roster button %+v, want it to offer taking the microphone back", b)
	}
	checkRoster(t, teacher, "laptop 1280x800")
	shot(t, teacher, dir, "roster-teacher-allowed-1280x800")
	// With the People panel open the strip gives the panel its side, as the stage does.
	clickByID(t, teacher, "toggle-people")
	if gap, err := waitJS(teacher.Ctx, 5*time.Second, 100*time.Millisecond,
		`document.getElementById('people-panel').getBoundingClientRect().left - document.getElementById('roster-list').getBoundingClientRect().right`,
		func(px float64) bool { return px >= 0 }); err != nil {
		t.Errorf("teacher: the People panel covers the roster by %.0f px: %v", -gap, err)
	}
	shot(t, teacher, dir, "roster-teacher-people-open-1280x800")
	clickByID(t, teacher, "people-close")

	// A student still sees only the teacher, and no roster.
	cv, err := waitRoom(cid, 5*time.Second, func(v roomView) bool { return slices.Equal(v.Room.Layout.Tiles, []string{teacherID}) })
	if err != nil {
		t.Errorf("Cid: tiles %v (%v), want only the teacher's", cv.Room.Layout.Tiles, err)
	}
	if r, _ := evalJS[[]rosterEntry](cid.Ctx, rosterJS); len(r) != 0 {
		t.Errorf("Cid: roster %+v, want none for a student", r)
	}
	if hidden, _ := evalJS[bool](cid.Ctx, `document.getElementById('roster').hidden`); !hidden {
		t.Error("Cid: the roster strip is shown to a student")
	}

	// "Take back": the same grant as the tile menu's; Ben's microphone locks again.
	clickByID(t, teacher, "roster-mic-"+benID)
	if sv, err := waitStudent(t, ben, 15*time.Second, func(v studentView) bool { return !v.mayPublish("microphone") && v.Mic.AriaDisabled }); err != nil {
		t.Errorf("Ben: microphone not locked after the teacher took it back from the roster: %v (saw %+v)", err, sv)
	}
	if _, err := waitJS(teacher.Ctx, 15*time.Second, 100*time.Millisecond, rosterJS, func(r []rosterEntry) bool {
		return slices.ContainsFunc(r, func(e rosterEntry) bool { return e.ParticipantID == benID && !e.MaySpeak })
	}); err != nil {
		t.Errorf("teacher: Ben still shown allowed to speak after taking it back: %v", err)
	}
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// checkRoster fails the test for what is wrong with tb's roster strip at the
// current viewport (rosterProblemsJS) and for the call screen's layout.
func checkRoster(t *testing.T, tb *tab, viewport string) {
	t.Helper()
	problems, err := evalJS[[]string](tb.Ctx, rosterProblemsJS)
	if err != nil {
		t.Errorf("tab %s at %s: checking the roster: %v", tb.Name, viewport, err)
	}
	for _, p := range problems {
		t.Errorf("tab %s at %s: roster: %s", tb.Name, viewport, p)
	}
	checkLayout(t, tb, viewport)
}

// rosterProblemsJS lists what is visibly wrong with the roster strip: not
// shown, wider than the screen, over a tile or the controls, a button's text
// cut off, or the first entry (the raised hand) out of sight.
const rosterProblemsJS = `(() => {
  const p = [], vw = window.innerWidth, vh = window.innerHeight;
  const strip = document.getElementById('roster');
  const r = strip.getBoundingClientRect();
  if (strip.hidden || r.height === 0) return ['the roster is not shown'];
  if (document.documentElement.scrollWidth > vw + 1) p.push('page scrolls horizontally');
  if (r.left < -1 || r.right > vw + 1) p.push('strip wider than the screen: ' + JSON.stringify(r));
  const controls = document.querySelector('.controls').getBoundingClientRect();
  if (r.bottom > controls.top + 1) p.push('strip under the controls');
  for (const tile of document.querySelectorAll('#grid > .tile')) {
    const tr = tile.getBoundingClientRect();
    if (tr.bottom > r.top + 1 && tr.top < r.bottom - 1) p.push('strip covers tile ' + tile.querySelector('.tile__name')?.textContent);
  }
  const items = [...strip.querySelectorAll('.roster__item')];
  if (items.length === 0) p.push('no entries');
  const first = items[0] && items[0].getBoundingClientRect();
  if (first && (first.left < r.left - 1 || first.right > r.right + 1 || first.bottom > vh + 1)) p.push('first entry out of sight');
  for (const b of strip.querySelectorAll('button')) {
    if (b.scrollWidth > b.clientWidth + 1) p.push(b.id + ' text overflows');
    if (!(b.getAttribute('aria-label') || '').trim()) p.push(b.id + ' has no name');
  }
  for (const li of items) {
    const name = li.querySelector('.roster__name');
    if (name.getBoundingClientRect().right > li.getBoundingClientRect().right + 1) p.push(name.textContent + ' spills out of its entry');
    if (name.scrollWidth > name.clientWidth + 1 && name.title !== name.textContent) p.push(name.textContent + ' cut off without a title');
  }
  return p;
})()`
