package web_test

// The pre-join screen (issue 7): the microphone level follows the fake
// microphone's beeps, the camera, microphone and speaker lists are filled and
// a choice takes effect, a refused permission and a device-less machine are
// explained, and a join link fills and locks the room and the name and then
// disappears from the address bar.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
)

type deviceEntry struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

type deviceLists struct {
	Video    []deviceEntry     `json:"videoinput"`
	Audio    []deviceEntry     `json:"audioinput"`
	Output   []deviceEntry     `json:"audiooutput"`
	Selected map[string]string `json:"selected"`
}

// preJoinView is the join screen's media state.
type preJoinView struct {
	Devices      deviceLists `json:"devices"`
	Level        float64     `json:"level"`
	MeterShown   bool        `json:"meterShown"`
	MeterNow     string      `json:"meterNow"`
	Message      string      `json:"message"`
	Hint         string      `json:"hint"`
	SpeakerShown bool        `json:"speakerShown"`
	MicDevice    string      `json:"micDevice"` // deviceId of the preview's microphone track
	SelectsOff   []bool      `json:"selectsOff"`
	SelectTexts  []string    `json:"selectTexts"`
	RetryShown   bool        `json:"retryShown"`
}

const preJoinViewJS = `(() => {
  const h = window.huddle;
  if (!h) return {};
  const v = document.getElementById('join-preview');
  const a = v.srcObject ? v.srcObject.getAudioTracks()[0] : null;
  const sel = ['camera-select', 'mic-select', 'speaker-select'].map(id => document.getElementById(id));
  const hint = document.getElementById('devices-hint');
  return {devices: h.devices(), level: h.micLevel(),
          meterShown: !document.getElementById('mic-meter').hidden,
          meterNow: document.getElementById('mic-meter-gauge').getAttribute('aria-valuenow'),
          message: document.getElementById('media-message').hidden ? '' : document.getElementById('media-message').textContent,
          hint: hint.hidden ? '' : hint.textContent,
          speakerShown: !document.getElementById('speaker-select').closest('.field').hidden,
          micDevice: a ? a.getSettings().deviceId : '',
          selectsOff: sel.map(s => s.disabled), selectTexts: sel.map(s => s.selectedOptions[0] ? s.selectedOptions[0].text : ''),
          retryShown: !document.getElementById('media-retry').hidden};
})()`

// TestBrowserPreJoinDevicesAndMeter: with Chromium's fake devices the lists
// are filled with names, the microphone level moves with the beeps, and
// choosing another microphone restarts the preview on it.
func TestBrowserPreJoinDevicesAndMeter(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "")
	dir := artifactsDir(t)
	tb := openTab(t, browser, "prejoin")
	if err := tb.Navigate(n.URL()+"/?room=ward-3", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	v, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, preJoinViewJS, func(v preJoinView) bool {
		return len(v.Devices.Video) > 0 && len(v.Devices.Audio) > 1 && v.MicDevice != ""
	})
	if err != nil {
		t.Fatalf("device lists not filled: %v (saw %+v)", err, v)
	}
	for kind, list := range map[string][]deviceEntry{"camera": v.Devices.Video, "microphone": v.Devices.Audio, "speaker": v.Devices.Output} {
		if len(list) == 0 {
			t.Errorf("no %s listed", kind)
		}
		for _, d := range list {
			if d.Label == "" {
				t.Errorf("%s %s listed without its name", kind, d.ID)
			}
		}
	}
	if !v.SpeakerShown {
		t.Errorf("speaker list hidden although Chromium can choose the output (setSinkId)")
	}
	if v.Devices.Selected["audioinput"] != v.MicDevice {
		t.Errorf("microphone list shows %q, the preview uses %q", v.Devices.Selected["audioinput"], v.MicDevice)
	}

	checkMeterMoves(t, tb, "default microphone")

	// Another microphone: the preview restarts on it, and the meter follows it.
	var other deviceEntry
	for _, d := range v.Devices.Audio {
		if d.ID != v.MicDevice && d.ID != "default" {
			other = d
			break
		}
	}
	if other.ID == "" {
		t.Fatalf("no second microphone to choose among %+v", v.Devices.Audio)
	}
	choose(t, tb, "mic-select", other.ID)
	v, err = waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, preJoinViewJS,
		func(v preJoinView) bool {
			return v.MicDevice == other.ID && v.Devices.Selected["audioinput"] == other.ID
		})
	if err != nil {
		t.Fatalf("after choosing %q the preview uses %q: %v", other.Label, v.MicDevice, err)
	}
	checkMeterMoves(t, tb, other.Label)

	// Muting in the preview: the meter goes flat and says why.
	clickByID(t, tb, "join-mic")
	label, err := waitJS(tb.Ctx, 5*time.Second, 100*time.Millisecond,
		`[document.getElementById('mic-meter-label').textContent, window.huddle.micLevel()]`,
		func(v []any) bool { return len(v) == 2 && v[0] == "Microphone muted" && v[1].(float64) < 0.05 })
	if err != nil {
		t.Errorf("muted preview: meter %v, want \"Microphone muted\" and a flat level: %v", label, err)
	}
	clickByID(t, tb, "join-mic")

	for _, vp := range []struct {
		name string
		w, h int64
	}{{"laptop-1280x800", 1280, 800}, {"phone-390x844", 390, 844}} {
		if vp.w == 390 {
			emulatePhone(t, tb, vp.w, vp.h)
		}
		problems, err := evalJS[[]string](tb.Ctx, elementsFitJS("camera-select", "mic-select", "speaker-select", "mic-meter", "join-button"))
		if err != nil {
			t.Errorf("%s: %v", vp.name, err)
		}
		for _, p := range problems {
			t.Errorf("pre-join screen at %s: %s", vp.name, p)
		}
		if path, err := saveScreenshot(tb.Ctx, dir, "prejoin-devices-"+vp.name); err == nil {
			t.Logf("pre-join screen at %s: %s", vp.name, path)
		}
	}
}

// checkMeterMoves samples the microphone level for three seconds: the fake
// microphone beeps twice a second, so the level must rise well above silence
// and fall back between beeps, and the meter's aria-valuenow must follow.
func checkMeterMoves(t *testing.T, tb *tab, what string) {
	t.Helper()
	lo, hi := 1.0, 0.0
	nows := map[string]bool{}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(80 * time.Millisecond) {
		v, err := evalJS[preJoinView](tb.Ctx, preJoinViewJS)
		if err != nil {
			t.Fatalf("reading the meter: %v", err)
		}
		if !v.MeterShown {
			t.Fatalf("%s: microphone meter not shown", what)
		}
		lo, hi = min(lo, v.Level), max(hi, v.Level)
		nows[v.MeterNow] = true
	}
	t.Logf("%s: meter level between %.2f and %.2f over 3 s (%d distinct aria-valuenow)", what, lo, hi, len(nows))
	if hi < 0.3 || hi-lo < 0.2 || len(nows) < 3 {
		t.Errorf("%s: meter level %.2f..%.2f with %d distinct values, want it to move with the beeps", what, lo, hi, len(nows))
	}
}

// choose selects value in the <select> id as a user would (a change event).
func choose(t *testing.T, tb *tab, id, value string) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const s = document.getElementById(%q); s.value = %q;
	  s.dispatchEvent(new Event('change', {bubbles: true})); return s.value; })()`, id, value)
	if got, err := evalJS[string](tb.Ctx, js); err != nil || got != value {
		t.Fatalf("tab %s: choosing %q in #%s: got %q, err %v", tb.Name, value, id, got, err)
	}
}

// TestBrowserPreJoinPermissionDenied: a refused camera and microphone are
// explained on the pre-join screen, with a way to try again, and no meter.
func TestBrowserPreJoinPermissionDenied(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "")
	dir := artifactsDir(t)
	tb := openTab(t, browser, "denied")
	installScript(t, tb, denyMediaJS)
	if err := tb.Navigate(n.URL()+"/?room=ward-3", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	v, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, preJoinViewJS, func(v preJoinView) bool {
		return strings.Contains(v.Message, "blocked") && len(v.SelectTexts) == 3 && v.SelectTexts[0] != ""
	})
	if err != nil {
		t.Fatalf("want a message saying access was blocked: %v (saw %+v)", err, v)
	}
	if v.MeterShown || !v.RetryShown {
		t.Errorf("denied: meter shown %v, retry shown %v; want no meter and a retry button", v.MeterShown, v.RetryShown)
	}
	if path, err := saveScreenshot(tb.Ctx, dir, "prejoin-permission-denied"); err == nil {
		t.Logf("pre-join screen with access refused: %s", path)
	}
}

// noDevicesJS makes the machine look as if it had no camera or microphone.
const noDevicesJS = `navigator.mediaDevices.enumerateDevices = () => Promise.resolve([]);
navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Requested device not found', 'NotFoundError'));`

// TestBrowserPreJoinNoDevices: without any camera or microphone the screen
// says so, in the message and in the device lists.
func TestBrowserPreJoinNoDevices(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "")
	dir := artifactsDir(t)
	tb := openTab(t, browser, "nodevices")
	installScript(t, tb, noDevicesJS)
	if err := tb.Navigate(n.URL()+"/?room=ward-3", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	v, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, preJoinViewJS, func(v preJoinView) bool {
		return strings.Contains(v.Message, "No camera or microphone was found") && len(v.SelectTexts) == 3 && v.SelectTexts[0] != ""
	})
	if err != nil {
		t.Fatalf("want \"No camera or microphone was found\": %v (saw %+v)", err, v)
	}
	if len(v.SelectsOff) < 2 || !v.SelectsOff[0] || !v.SelectsOff[1] || v.SelectTexts[0] != "No camera found" || v.SelectTexts[1] != "No microphone found" {
		t.Errorf("device lists %v %q, want camera and microphone lists disabled and saying none was found", v.SelectsOff, v.SelectTexts)
	}
	if v.MeterShown || v.SpeakerShown {
		t.Errorf("no devices: meter shown %v, speaker list shown %v; want neither", v.MeterShown, v.SpeakerShown)
	}
	if path, err := saveScreenshot(tb.Ctx, dir, "prejoin-no-devices"); err == nil {
		t.Logf("pre-join screen without devices: %s", path)
	}
}

// TestBrowserJoinLink opens an invitation link (#room=&token=): the room and
// the token's name are filled in and locked, the token leaves the address bar
// at once, joining uses it, and a reload of the page still finds it (this
// tab's storage) without showing it.
func TestBrowserJoinLink(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	dir := artifactsDir(t)
	const room = "consult-42"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The link as the admin API makes it (issue 7: `{base}/#room={room}&token={jwt}`).
	link, err := n.admin().CreateLink(ctx, room, admin.LinkRequest{Identity: "patient-7", Name: "Pat Jones", Role: string(auth.RoleAttendee)})
	if err != nil {
		t.Fatalf("creating a join link: %v", err)
	}
	if !strings.Contains(link.URL, "#") {
		t.Fatalf("join link %q carries no fragment", link.URL)
	}
	tok := link.Token
	tb := openTab(t, browser, "patient")

	type formView struct {
		Room      string `json:"room"`
		RoomLock  bool   `json:"roomLocked"`
		Name      string `json:"name"`
		NameLock  bool   `json:"nameLocked"`
		Href      string `json:"href"`
		Focused   string `json:"focused"`
		State     string `json:"state"`
		Identity  string `json:"identity"`
		Preview   int64  `json:"preview"`
		CallShown bool   `json:"callShown"`
	}
	const formJS = `(() => {
	  const r = document.getElementById('room'), n = document.getElementById('name');
	  return {room: r.value, roomLocked: r.readOnly, name: n.value, nameLocked: n.readOnly, href: location.href,
	          focused: document.activeElement ? document.activeElement.id : '',
	          state: window.huddle ? window.huddle.state : 'loading',
	          preview: document.getElementById('join-preview').videoWidth,
	          callShown: !document.getElementById('call-screen').hidden};
	})()`
	for _, load := range []struct{ what, url string }{
		{"the link", link.URL},
		{"a reload after joining", ""},
	} {
		if load.url == "" {
			if err := chromedp.Do(tb.Ctx, chromedp.Reload()); err != nil {
				t.Fatalf("reloading: %v", err)
			}
		} else if err := tb.Navigate(load.url, 15*time.Second); err != nil {
			t.Fatal(err)
		}
		f, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, formJS,
			func(f formView) bool { return f.State == "idle" && f.Name != "" && f.Preview > 0 })
		if err != nil {
			t.Fatalf("%s: form not filled: %v (saw %+v)", load.what, err, f)
		}
		if f.Room != room || !f.RoomLock || f.Name != "Pat Jones" || !f.NameLock {
			t.Errorf("%s: form %+v, want room %q and name \"Pat Jones\", both locked", load.what, f, room)
		}
		if strings.Contains(f.Href, "token") || strings.Contains(f.Href, tok[:20]) {
			t.Errorf("%s: the address bar shows the token: %s", load.what, f.Href)
		}
		if f.Focused != "join-button" {
			t.Errorf("%s: focus on #%s, want the Join button (nothing left to type)", load.what, f.Focused)
		}
		if path, err := saveScreenshot(tb.Ctx, dir, "join-link-"+strings.ReplaceAll(load.what, " ", "-")); err == nil {
			t.Logf("pre-join screen from %s: %s", load.what, path)
		}
		clickByID(t, tb, "join-button")
		waitState(t, tb, "joined", 15*time.Second)
		g, err := evalJS[map[string]any](tb.Ctx, `window.huddle.grants()`)
		if err != nil || g == nil {
			t.Errorf("%s: no grants after joining (err %v): the token was not used", load.what, err)
		}
	}
	ps, err := n.admin().Participants(ctx, room)
	if err != nil {
		t.Fatalf("listing participants: %v", err)
	}
	if len(ps) != 1 || ps[0].Identity != "patient-7" || ps[0].Name != "Pat Jones" {
		t.Errorf("participants %+v, want patient-7 as Pat Jones alone (the reload's session replaced the first)", ps)
	}
}
