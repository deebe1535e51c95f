package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
)

// TestBrowserModeFromPatientLink follows the README's order of commands: the clinician joins with a
// plain host token (`server token ... --role host`, no mode), then the patient opens a link made with
// `-mode consultation`. The room takes the link's mode: the patient waits in the lobby, and the
// clinician's page turns into a consultation — "End consultation", the patient in the waiting list.
func TestBrowserModeFromPatientLink(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	const room = "consult-9"
	clinician := openTab(t, browser, "clinician")
	patient := openTab(t, browser, "patient")

	joinThroughLink(t, clinician, joinLinkURL(n.URL(), room, n.mint(room, "dr-ada", "Dr Ada", auth.RoleHost, nil)), "Dr Ada")
	if _, err := waitRoom(clinician, 15*time.Second, func(v roomView) bool { return v.State == "joined" && v.Room.Moderator }); err != nil {
		t.Fatalf("clinician did not join as a moderator: %v", err)
	}
	if v, _ := waitRoom(clinician, time.Second, func(roomView) bool { return true }); v.Room.Mode != "" {
		t.Fatalf("before the patient: mode %q, want none", v.Room.Mode)
	}

	joinThroughLink(t, patient, joinLinkURL(n.URL(), room, n.mint(room, "patient-7", "Pat", auth.RoleAttendee, &auth.Policy{Mode: auth.ModeConsultation})), "Pat")
	if _, err := waitRoom(patient, 15*time.Second, func(v roomView) bool { return v.Room.Lobby.Waiting }); err != nil {
		t.Fatalf("the patient does not wait in the lobby: %v", err)
	}
	cv, err := waitRoom(clinician, 10*time.Second, func(v roomView) bool { return v.Room.Mode == "consultation" && len(v.Room.Waiting) == 1 })
	if err != nil {
		t.Fatalf("the clinician's room did not become a consultation with Pat waiting: %v (saw %+v)", err, cv.Room)
	}
	end, err := waitJS(clinician.Ctx, 5*time.Second, 100*time.Millisecond, `document.getElementById('end-room').textContent`,
		func(s string) bool { return strings.Contains(s, "End consultation") })
	if err != nil {
		t.Errorf("the clinician's end button says %q, want End consultation: %v", end, err)
	}
	if p, err := saveScreenshot(clinician.Ctx, artifactsDir(t), "mode-from-patient-link-clinician"); err == nil {
		t.Logf("screenshot: %s", p)
	}
}
