package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
)

// TestBrowserInviteFromTheCall: a host alone in a call is told so and offered Invite; it opens Invite, makes a link for an attendee valid for a
// day and gets it from the page; the link opened in another tab joins the same room as an attendee (no
// moderate grant), with the name the invitee types. Screenshots of the panel at both sizes.
func TestBrowserInviteFromTheCall(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "")
	dir := artifactsDir(t)

	host := openTab(t, browser, "host")
	if err := host.Navigate(n.URL()+"/?room=clinic-7&name=Dr%20Ada&autojoin=1", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := waitJS(host.Ctx, 20*time.Second, 100*time.Millisecond,
		`!document.getElementById('toggle-invite').hidden`, func(b bool) bool { return b }); err != nil {
		t.Fatalf("the host sees no Invite button: %v", err)
	}
	// Alone in the room: the page says so and offers the invitation; its button opens the panel.
	type aloneView struct {
		Shown  bool   `json:"shown"`
		Invite bool   `json:"invite"`
		Text   string `json:"text"`
	}
	alone, err := waitJS(host.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle.alone()`, func(v aloneView) bool { return v.Shown })
	if err != nil || !alone.Invite || !strings.Contains(alone.Text, "only one here") {
		t.Errorf("alone in the room, the host sees %+v (%v); want it said, with Invite", alone, err)
	}
	if p, err := saveScreenshot(host.Ctx, dir, "alone-host-1280x800"); err == nil {
		t.Logf("screenshot: %s", p)
	}
	clickByID(t, host, "alone-invite")
	if open, _ := evalJS[bool](host.Ctx, `!document.getElementById('invite-panel').hidden`); !open {
		t.Fatal("the alone card's Invite did not open the invite panel")
	}
	if _, err := evalJS[bool](host.Ctx, `(document.getElementById('invite-role').value = 'attendee', true)`); err != nil {
		t.Fatal(err)
	}
	clickByID(t, host, "invite-create")
	link, err := waitJS(host.Ctx, 10*time.Second, 100*time.Millisecond, `document.getElementById('invite-url').value`,
		func(s string) bool { return s != "" })
	if err != nil {
		t.Fatalf("no link shown: %v", err)
	}
	if !strings.HasPrefix(link, n.URL()+"/#room=clinic-7&token=") {
		t.Fatalf("link %q is not a join link to clinic-7 on this server", strings.SplitN(link, "token=", 2)[0])
	}
	expires, _ := evalJS[string](host.Ctx, `document.getElementById('invite-expires').textContent`)
	if expires == "" {
		t.Error("the panel does not say until when the link works")
	}
	checkInvitePanelFits(t, host, dir, "invite-panel")

	guest := openTab(t, browser, "guest")
	if err := guest.Navigate(link, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := evalJS[bool](guest.Ctx, `(document.getElementById('name').value = 'Pat', document.getElementById('join-button').click(), true)`); err != nil {
		t.Fatal(err)
	}
	type joinedView struct {
		State    string `json:"state"`
		Room     string `json:"room"`
		Moderate bool   `json:"moderate"`
	}
	v, err := waitJS(guest.Ctx, 20*time.Second, 100*time.Millisecond,
		`({state: window.huddle.state, room: document.getElementById('call-room').textContent, moderate: !!(window.huddle.grants() || {}).moderate})`,
		func(v joinedView) bool { return v.State == "joined" })
	if err != nil {
		t.Fatalf("the invitee did not join: %v (saw %+v)", err, v)
	}
	if !strings.Contains(v.Room, "clinic-7") || v.Moderate {
		t.Errorf("the invitee joined %q with moderate=%v, want clinic-7 as an attendee", v.Room, v.Moderate)
	}
	if v, err := waitJS(host.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle.alone()`, func(v aloneView) bool { return !v.Shown }); err != nil {
		t.Errorf("the host still reads that nobody is here after the invitee joined: %+v", v)
	}
	if !fromInvite(t, guest) {
		t.Error("the invitee's invite button is shown; attendees cannot invite")
	}
}

// fromInvite: the attendee's page offers no Invite button.
func fromInvite(t *testing.T, tb *tab) bool {
	hidden, err := evalJS[bool](tb.Ctx, `document.getElementById('toggle-invite').hidden`)
	return err == nil && hidden
}

// TestBrowserInviteBeforeJoining: a clinician who opened their host link for a consultation makes the
// patient's link on the pre-join page, before anyone is in the room; the patient who opens it gets the
// room fixed by the link, no Invite of their own, and waits in the consultation's lobby once in.
func TestBrowserInviteBeforeJoining(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	dir := artifactsDir(t)
	const room = "consult-12"
	clinician := openTab(t, browser, "clinician")
	hostLink := joinLinkURL(n.URL(), room, n.mint(room, "dr-ada", "Dr Ada", auth.RoleHost, &auth.Policy{Mode: auth.ModeConsultation}))
	if err := clinician.Navigate(hostLink, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := waitJS(clinician.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle ? !document.getElementById('prejoin-invite').hidden : false`,
		func(b bool) bool { return b }); err != nil {
		t.Fatalf("the clinician's pre-join page offers no Invite: %v", err)
	}
	clickByID(t, clinician, "prejoin-invite")
	clickByID(t, clinician, "invite-create")
	link, err := waitJS(clinician.Ctx, 10*time.Second, 100*time.Millisecond, `document.getElementById('invite-url').value`,
		func(s string) bool { return s != "" })
	if err != nil {
		errText, _ := evalJS[string](clinician.Ctx, `document.getElementById('invite-error').textContent`)
		t.Fatalf("no link made before joining: %v (error shown: %q)", err, errText)
	}
	if !strings.HasPrefix(link, n.URL()+"/#room="+room+"&token=") {
		t.Fatalf("link %q is not a join link to %s", strings.SplitN(link, "token=", 2)[0], room)
	}
	checkInvitePanelFits(t, clinician, dir, "invite-prejoin")

	patient := openTab(t, browser, "patient")
	if err := patient.Navigate(link, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	type prejoin struct {
		Room       string `json:"room"`
		RoomLocked bool   `json:"roomLocked"`
		Invite     bool   `json:"invite"`
	}
	pv, err := waitJS(patient.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle ? ({room: document.getElementById('room').value,
	  roomLocked: document.getElementById('room').readOnly || document.getElementById('room').disabled,
	  invite: !document.getElementById('prejoin-invite').hidden}) : {}`, func(v prejoin) bool { return v.Room != "" })
	if err != nil || pv.Room != room || !pv.RoomLocked || pv.Invite {
		t.Fatalf("the patient's pre-join page: %+v (%v); want %s fixed by the link and no Invite", pv, err, room)
	}
	if _, err := evalJS[bool](patient.Ctx, `(document.getElementById('name').value = 'Pat', document.getElementById('join-button').click(), true)`); err != nil {
		t.Fatal(err)
	}
	if v, err := waitRoom(patient, 20*time.Second, func(v roomView) bool { return v.Room.Lobby.Waiting }); err != nil {
		t.Fatalf("the patient is not waiting in the consultation's lobby: %v (%+v)", err, v.Room)
	}
}

// checkInvitePanelFits: the open invite panel, its link and its Copy button fit on a laptop and then on
// a phone (tb stays phone-sized), with a screenshot of each.
func checkInvitePanelFits(t *testing.T, tb *tab, dir, name string) {
	t.Helper()
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"1280x800", 1280, 800}, {"390x844", 390, 844}} {
		if vp.w == 390 {
			emulatePhone(t, tb, vp.w, vp.h)
		}
		problems, err := evalJS[[]string](tb.Ctx, elementsFitJS("invite-panel", "invite-url", "invite-copy"))
		if err != nil || len(problems) > 0 {
			t.Errorf("%s at %s: %v %v", name, vp.name, problems, err)
		}
		if p, err := saveScreenshot(tb.Ctx, dir, name+"-"+vp.name); err == nil {
			t.Logf("screenshot: %s", p)
		}
	}
}
