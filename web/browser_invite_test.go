package web_test

import (
	"strings"
	"testing"
	"time"
)

// TestBrowserInviteFromTheCall: a host in a call opens Invite, makes a link for an attendee valid for a
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
	clickByID(t, host, "toggle-invite")
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
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"1280x800", 1280, 800}, {"390x844", 390, 844}} {
		if vp.w == 390 {
			emulatePhone(t, host, vp.w, vp.h)
		}
		problems, err := evalJS[[]string](host.Ctx, elementsFitJS("invite-panel", "invite-url", "invite-copy"))
		if err != nil || len(problems) > 0 {
			t.Errorf("invite panel at %s: %v %v", vp.name, problems, err)
		}
		if p, err := saveScreenshot(host.Ctx, dir, "invite-panel-"+vp.name); err == nil {
			t.Logf("screenshot: %s", p)
		}
	}

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
	if !fromInvite(t, guest) {
		t.Error("the invitee's invite button is shown; attendees cannot invite")
	}
}

// fromInvite: the attendee's page offers no Invite button.
func fromInvite(t *testing.T, tb *tab) bool {
	hidden, err := evalJS[bool](tb.Ctx, `document.getElementById('toggle-invite').hidden`)
	return err == nil && hidden
}
