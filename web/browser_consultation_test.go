package web_test

// A consultation (issue 7): the clinician (host) and the patient (attendee)
// follow their join links to a room whose policy is a consultation, so the
// patient waits in the lobby: they see their own preview and a calm waiting
// card, and receive nothing of the clinician who is already publishing. The
// clinician sees who waits and since when, turns the patient away once (the
// patient is told so), the patient leaves the lobby once by themselves, and
// then the clinician admits them; both decode each other, the patient
// large with the clinician small in an inset (also on a 390x844 phone), and
// the clinician's "End consultation" ends it for the patient, who does not
// try to reconnect.

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/huddlehq/huddle/signaling/auth"
)

// lobbyFactsJS reads what a waiter sees: the waiting card, our own preview, the Leave button.
const lobbyFactsJS = `(() => {
  const card = document.getElementById('lobby-wait');
  const v = document.querySelector('#grid > .tile--local video');
  const leave = document.getElementById('leave');
  return {card: !card.hidden && card.getBoundingClientRect().height > 0, text: card.textContent,
          preview: !!v && v.videoWidth > 0, leave: leave.offsetParent !== null && !leave.disabled,
          tiles: document.querySelectorAll('#grid > .tile').length};
})()`

type lobbyFacts struct {
	Card    bool   `json:"card"`
	Text    string `json:"text"`
	Preview bool   `json:"preview"`
	Leave   bool   `json:"leave"`
	Tiles   int    `json:"tiles"`
}

// waitlistFactsJS reads the clinician's waiting list card and the People button's badge.
const waitlistFactsJS = `(() => {
  const card = document.getElementById('waitlist');
  const badge = document.getElementById('people-badge');
  return {shown: !card.hidden && card.getBoundingClientRect().height > 0, text: card.textContent,
          badge: badge.hidden ? '' : badge.textContent,
          peopleLabel: document.getElementById('toggle-people').getAttribute('aria-label') || ''};
})()`

type waitlistFacts struct {
	Shown       bool   `json:"shown"`
	Text        string `json:"text"`
	Badge       string `json:"badge"`
	PeopleLabel string `json:"peopleLabel"`
}

// insetProblemsJS lists what is wrong with a 1:1 consultation's layout: the
// other person must fill the stage and our own picture must be a small inset
// inside the stage that hides neither the other's name nor their pin button.
const insetProblemsJS = `(() => {
  const p = [];
  const stage = document.getElementById('stage');
  if (!stage.classList.contains('stage--inset')) p.push('the stage is not in the inset layout');
  const remote = document.querySelector('#grid > .tile:not(.tile--local)');
  const local = document.querySelector('#grid > .tile--local');
  if (!remote || !local) return ['missing tiles: remote ' + !!remote + ', local ' + !!local];
  const s = stage.getBoundingClientRect(), r = remote.getBoundingClientRect(), l = local.getBoundingClientRect();
  const inside = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1 && a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  const overlap = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  if (!inside(r, s)) p.push('the other person is not inside the stage: ' + JSON.stringify(r));
  if (!inside(l, s)) p.push('the self view is not inside the stage: ' + JSON.stringify(l));
  if (l.width * 2.5 > r.width) p.push('the self view is not small: ' + l.width + ' vs ' + r.width);
  const fill = Math.max(r.width / s.width, r.height / s.height);
  if (fill < 0.8) p.push('the other person does not fill the stage: ' + fill.toFixed(2));
  for (const sel of ['.tile__label', '.tile__pin']) {
    const e = remote.querySelector(sel);
    if (e && overlap(l, e.getBoundingClientRect())) p.push('the self view covers the other tile\'s ' + sel);
  }
  return p;
})()`

// TestBrowserConsultation: lobby, decline, admit, the 1:1 layout on a laptop
// and a phone, and the end of the consultation. About 30 s.
func TestBrowserConsultation(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	dir := artifactsDir(t)
	const room = "consult-42"
	consult := &auth.Policy{Mode: auth.ModeConsultation}
	clinician := openTab(t, browser, "clinician")
	patient := openTab(t, browser, "patient")
	installScript(t, patient, wireTapJS)

	joinThroughLink(t, clinician, joinLinkURL(n.URL(), room, n.mint(room, "dr-ada", "Dr Ada", auth.RoleHost, consult)), "Dr Ada")
	if _, err := waitJS(clinician.Ctx, 15*time.Second, 100*time.Millisecond,
		`window.huddle ? window.huddle.cameraTrackId() || '' : ''`, func(s string) bool { return s != "" }); err != nil {
		t.Fatalf("clinician: no camera published after joining: %v", err)
	}
	cv, err := waitRoom(clinician, 5*time.Second, func(v roomView) bool { return v.Room.Moderator && v.Room.Mode == "consultation" })
	if err != nil {
		t.Fatalf("clinician: not a moderator of a consultation: %v (saw %+v)", err, cv.Room)
	}
	clinicianID := cv.ParticipantID

	// The patient follows the link and waits: the card, their own preview, Leave; nobody else.
	patientLink := joinLinkURL(n.URL(), room, n.mint(room, "patient-7", "Pat", auth.RoleAttendee, consult))
	if err := patient.Navigate("about:blank", 5*time.Second); err != nil { // a fresh load, not a fragment change
		t.Fatal(err)
	}
	joinThroughLink(t, patient, patientLink, "Pat")
	pv, err := waitRoom(patient, 15*time.Second, func(v roomView) bool { return v.Room.Lobby.Waiting })
	if err != nil {
		t.Fatalf("patient: not in the lobby: %v (saw %+v)", err, pv)
	}
	if !strings.Contains(pv.Room.Lobby.Message, "clinician will let you in") {
		t.Errorf("patient: lobby says %q, want the clinician to let them in", pv.Room.Lobby.Message)
	}
	lf, err := waitJS(patient.Ctx, 10*time.Second, 100*time.Millisecond, lobbyFactsJS, func(f lobbyFacts) bool { return f.Card && f.Preview })
	if err != nil || !lf.Leave || lf.Tiles != 1 {
		t.Errorf("patient in the lobby: %+v (%v); want the card, a live preview, the Leave button and only their own tile", lf, err)
	}

	// The clinician sees who waits and since when, with a count on the People button.
	cv, err = waitRoom(clinician, 10*time.Second, func(v roomView) bool { return len(v.Room.Waiting) == 1 })
	if err != nil {
		t.Fatalf("clinician: the patient is not listed as waiting: %v (saw %+v)", err, cv.Room.Waiting)
	}
	waiter := cv.Room.Waiting[0]
	if waiter.Name != "Pat" || waiter.Identity != "patient-7" || waiter.Since == "" {
		t.Errorf("clinician: waiting %+v, want Pat (patient-7) with a time", waiter)
	}
	wf, err := waitJS(clinician.Ctx, 5*time.Second, 100*time.Millisecond, waitlistFactsJS, func(f waitlistFacts) bool { return f.Shown && f.Badge == "1" })
	if err != nil || !strings.Contains(wf.Text, "Pat") || !strings.Contains(wf.Text, "waiting since") || !strings.Contains(wf.PeopleLabel, "1 waiting") {
		t.Errorf("clinician: waiting list %+v (%v); want Pat, since when, and a count on the People button", wf, err)
	}
	if !strings.Contains(cv.Room.Announced, "Pat is waiting") {
		t.Errorf("clinician: announced %q, want that Pat is waiting", cv.Room.Announced)
	}
	shot(t, clinician, dir, "consultation-clinician-sees-waiting")
	shot(t, patient, dir, "consultation-patient-in-lobby")

	// Turned away once: the patient is told, clearly, and not reconnected.
	clickByID(t, clinician, "lobby-decline-"+waiter.ParticipantID)
	pv, err = waitRoom(patient, 10*time.Second, func(v roomView) bool { return v.End.Shown && v.State == "left" })
	if err != nil {
		t.Fatalf("patient: no end page after the decline: %v (saw %+v)", err, pv)
	}
	if !strings.Contains(pv.End.Text, "clinician did not let you in") || pv.Attempts != 0 || pv.End.Rejoin || !pv.End.released() {
		t.Errorf("patient after the decline: %+v, %d reconnect attempts; want that the clinician did not let them in, no retry, no Rejoin, camera and microphone stopped", pv.End, pv.Attempts)
	}
	shot(t, patient, dir, "consultation-patient-declined")
	if _, err := waitRoom(clinician, 5*time.Second, func(v roomView) bool { return len(v.Room.Waiting) == 0 }); err != nil {
		t.Errorf("clinician: the declined patient is still listed: %v", err)
	}

	// The end page offers no way back; the patient follows the link again, and leaves the lobby: the
	// clinician's list empties.
	if err := patient.Navigate("about:blank", 5*time.Second); err != nil { // a fresh load, not a fragment change
		t.Fatal(err)
	}
	joinThroughLink(t, patient, patientLink, "Pat")
	if _, err := waitRoom(clinician, 10*time.Second, func(v roomView) bool { return len(v.Room.Waiting) == 1 }); err != nil {
		t.Fatalf("clinician: the patient is not waiting again: %v", err)
	}
	clickByID(t, patient, "leave")
	pv, err = waitRoom(patient, 5*time.Second, func(v roomView) bool { return v.JoinShown && v.State == "left" })
	if err != nil || !strings.Contains(pv.Lead, "You left") || pv.JoinError != "" {
		t.Errorf("patient after leaving the lobby: lead %q, error %q (%v); want that they left, no error", pv.Lead, pv.JoinError, err)
	}
	if _, err := waitRoom(clinician, 5*time.Second, func(v roomView) bool { return len(v.Room.Waiting) == 0 }); err != nil {
		t.Errorf("clinician: the patient who left the lobby is still listed: %v", err)
	}

	// Once more, waiting a few seconds while the clinician publishes: no media, no one.
	clickByID(t, patient, "join-button")
	if _, err := waitRoom(patient, 10*time.Second, func(v roomView) bool { return v.Room.Lobby.Waiting }); err != nil {
		t.Fatalf("patient: not back in the lobby: %v", err)
	}
	checkNothingReceived(t, patient, 3*time.Second)

	cv, err = waitRoom(clinician, 10*time.Second, func(v roomView) bool { return len(v.Room.Waiting) == 1 })
	if err != nil {
		t.Fatalf("clinician: the patient is not waiting again: %v", err)
	}
	clickByID(t, clinician, "lobby-admit-"+cv.Room.Waiting[0].ParticipantID)
	pv, err = waitRoom(patient, 15*time.Second, func(v roomView) bool { return v.State == "joined" && !v.Room.Lobby.Waiting })
	if err != nil {
		t.Fatalf("patient: not admitted: %v (saw %+v)", err, pv)
	}
	patientID := pv.ParticipantID
	for tb, from := range map[*tab]string{patient: clinicianID, clinician: patientID} {
		if _, err := waitVideoFrom(tb, from, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if wf, _ := evalJS[waitlistFacts](clinician.Ctx, waitlistFactsJS); wf.Shown || wf.Badge != "" {
		t.Errorf("clinician after admitting: waiting list %+v, want it gone", wf)
	}

	// One other person: large, with ourselves as an inset; on a laptop and on a phone.
	for _, tb := range []*tab{clinician, patient} {
		if _, err := waitRoom(tb, 5*time.Second, func(v roomView) bool { return v.Room.Layout.Inset }); err != nil {
			t.Errorf("%v: want the 1:1 inset layout", err)
		}
		checkInset(t, tb, "laptop")
	}
	shot(t, clinician, dir, "consultation-clinician-call")
	emulatePhone(t, patient, 390, 844)
	checkInset(t, patient, "phone 390x844")
	checkLayout(t, patient, "phone 390x844")
	problems, err := evalJS[[]string](patient.Ctx, controlsProblemsJS)
	if err != nil {
		t.Errorf("patient on a phone: %v", err)
	}
	for _, p := range problems {
		t.Errorf("patient on a phone: controls: %s", p)
	}
	shot(t, patient, dir, "consultation-patient-phone-390x844")
	if err := chromedp.Do(patient.Ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	checkConsultationScreenShare(t, clinician, patient, clinicianID, patientID, dir)

	// The clinician ends the consultation (after confirming); the patient is told and stays out.
	clickByID(t, clinician, "end-room")
	if v, err := waitRoom(clinician, 5*time.Second, func(v roomView) bool { return v.Room.Confirm.Open }); err != nil || !strings.Contains(v.Room.Confirm.Title, "End consultation") {
		t.Fatalf("clinician: no confirmation before ending: %v (saw %+v)", err, v.Room.Confirm)
	}
	shot(t, clinician, dir, "consultation-clinician-confirm-end")
	clickByID(t, clinician, "confirm-ok")
	pv, err = waitRoom(patient, 10*time.Second, func(v roomView) bool { return v.End.Shown && v.Connection == "left" })
	if err != nil {
		t.Fatalf("patient: the call did not end: %v (saw %+v)", err, pv)
	}
	if !strings.Contains(pv.End.Text, "The consultation has ended") || pv.End.Rejoin || !pv.End.released() || pv.JoinShown {
		t.Errorf("patient after the end: %+v (join screen %v); want that the consultation has ended, no Rejoin, camera and microphone stopped", pv.End, pv.JoinShown)
	}
	if cv, err := waitRoom(clinician, 10*time.Second, func(v roomView) bool { return v.End.Shown }); err != nil || !strings.Contains(cv.End.Text, "You ended the consultation") || !cv.End.released() {
		t.Errorf("clinician after ending: %+v (%v), want that they ended the consultation and their camera released", cv.End, err)
	}
	time.Sleep(2 * time.Second) // longer than the first reconnect delays
	pv, err = evalJS[roomView](patient.Ctx, roomViewJS)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Attempts != 0 || pv.Connection != "left" {
		t.Errorf("patient after the end: %d reconnect attempts, connection %q; want none and left", pv.Attempts, pv.Connection)
	}
	shot(t, patient, dir, "consultation-patient-ended")
}

// checkNothingReceived samples a waiting tab for d: it must show no one and
// receive nothing (no remote tiles, no tracks on the subscribe side, no
// participant or track messages, no subscribe offer).
func checkNothingReceived(t *testing.T, tb *tab, d time.Duration) {
	t.Helper()
	type sample struct {
		Tiles    int      `json:"tiles"`
		Stats    int      `json:"stats"`
		Video    int      `json:"video"`
		People   int      `json:"people"`
		Messages []string `json:"messages"`
		Waiting  bool     `json:"waiting"`
	}
	const js = `(async () => {
	  const h = window.huddle;
	  const types = ['subscribe_offer', 'participant_joined', 'track_published', 'room_state', 'chat', 'joined'];
	  return {tiles: h.remoteTiles().length, stats: (await h.stats()).length, video: (await h.remoteVideoStats()).length,
	          people: h.room().people.length, waiting: h.room().lobby.waiting,
	          messages: window.__wire.received().filter((m) => types.includes(m.type)).map((m) => m.type)};
	})()`
	// Messages from the first, declined, wait count too: none may have come.
	deadline := time.Now().Add(d)
	samples := 0
	for time.Now().Before(deadline) {
		s, err := evalJS[sample](tb.Ctx, js)
		if err != nil {
			t.Fatalf("tab %s: sampling the lobby: %v", tb.Name, err)
		}
		samples++
		if !s.Waiting || s.Tiles != 0 || s.Stats != 0 || s.Video != 0 || s.People != 0 || len(s.Messages) != 0 {
			t.Fatalf("tab %s in the lobby received something: %+v", tb.Name, s)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("tab %s: %d samples over %v in the lobby: no tiles, no tracks, no room messages", tb.Name, samples, d)
}

// checkInset fails the test for each problem insetProblemsJS reports.
func checkInset(t *testing.T, tb *tab, where string) {
	t.Helper()
	problems, err := evalJS[[]string](tb.Ctx, insetProblemsJS)
	if err != nil {
		t.Errorf("tab %s at %s: checking the inset layout: %v", tb.Name, where, err)
		return
	}
	for _, p := range problems {
		t.Errorf("tab %s at %s: %s", tb.Name, where, p)
	}
}

// shot saves a screenshot of tb and logs where it went.
func shot(t *testing.T, tb *tab, dir, name string) {
	t.Helper()
	path, err := saveScreenshot(tb.Ctx, dir, name)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	t.Logf("%s: %s", name, path)
}

// consultTile is one tile of the consultation's stage as the person sees it.
type consultTile struct {
	ID       string  `json:"id"`
	Pid      string  `json:"pid"`
	Screen   bool    `json:"screen"`
	Featured bool    `json:"featured"`
	Visible  bool    `json:"visible"`
	Area     float64 `json:"area"`
}

const consultTilesJS = `[...document.querySelectorAll('#grid > .tile')].map(el => {
  const r = el.getBoundingClientRect();
  return {id: el.dataset.tileId, pid: el.dataset.participantId || '', screen: el.classList.contains('tile--screen'),
    featured: el.classList.contains('tile--featured'), visible: !el.classList.contains('tile--offpage') && r.width > 0,
    area: r.width * r.height};
})`

// checkConsultationScreenShare: the clinician shares a screen (say, test results); on both sides the
// shared screen is the large tile, the other person stays visible beside it, and the clinician keeps
// the consultation's controls. Stopping the share brings the 1:1 inset layout back.
func checkConsultationScreenShare(t *testing.T, clinician, patient *tab, clinicianID, patientID, dir string) {
	t.Helper()
	if err := chromedp.Do(clinician.Ctx, chromedp.Click(chromedp.CSS("#toggle-screen"))); err != nil {
		t.Fatalf("clinician: clicking Share: %v", err)
	}
	for tb, other := range map[*tab]string{clinician: patientID, patient: clinicianID} {
		tiles, err := waitJS(tb.Ctx, 20*time.Second, 200*time.Millisecond, consultTilesJS, func(ts []consultTile) bool {
			var screen, person *consultTile
			for i := range ts {
				if ts[i].Screen && ts[i].Featured && ts[i].Visible {
					screen = &ts[i]
				}
				if !ts[i].Screen && ts[i].ID != "local" && ts[i].Visible {
					person = &ts[i]
				}
			}
			return screen != nil && person != nil && screen.Area > 2*person.Area
		})
		if err != nil {
			t.Errorf("tab %s during the screen share: want the screen large and %s visible beside it: %v (tiles %+v)", tb.Name, other, err, tiles)
		}
		shot(t, tb, dir, "consultation-screen-share-"+tb.Name)
	}
	if v, err := waitRoom(clinician, 5*time.Second, func(v roomView) bool { return v.Room.Mode == "consultation" }); err != nil {
		t.Errorf("clinician during the share: mode %q, want consultation", v.Room.Mode)
	}
	if shown, _ := evalJS[bool](clinician.Ctx, `!document.getElementById('end-room').hidden`); !shown {
		t.Error("clinician during the share: End consultation is gone")
	}
	if err := chromedp.Do(clinician.Ctx, chromedp.Click(chromedp.CSS("#toggle-screen"))); err != nil {
		t.Fatalf("clinician: clicking Stop share: %v", err)
	}
	for _, tb := range []*tab{clinician, patient} {
		if _, err := waitRoom(tb, 10*time.Second, func(v roomView) bool { return v.Room.Layout.Inset }); err != nil {
			t.Errorf("tab %s after the share: want the 1:1 inset layout back: %v", tb.Name, err)
		}
	}
}
