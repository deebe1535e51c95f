package web_test

// Switching camera, microphone and speaker during a call (the Devices panel,
// web/static/js/devicepanel.js): the new device replaces the old one in what
// we send without a new offer, so the others keep the same track and never
// stop decoding; a muted camera or microphone stays muted; a device that
// cannot start leaves the old one and says why; a device plugged in shows up;
// the panel works from the keyboard and fits a phone.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/huddlehq/huddle/signaling/auth"
)

// fakeCameras gives Chromium three fake cameras (the fake microphones and
// speakers are three each already). The second, fake_device_1, is a depth
// camera (Y16 frames) that Chromium's WebRTC never encodes, not even as the
// camera a call starts with; the test switches between fake_device_0 (I420)
// and fake_device_2 (MJPEG), as from a laptop's camera to a USB one.
const fakeCameras = "use-fake-device-for-media-stream=device-count=3"

// depthCamera is the label of Chromium's fake depth camera (see fakeCameras).
const depthCamera = "fake_device_1"

// publishedSource is one source of window.huddle.published().
type publishedSource struct {
	Source     string   `json:"source"`
	TrackID    string   `json:"trackId"`
	Mid        string   `json:"mid"`
	LocalID    string   `json:"localId"`
	Label      string   `json:"label"`
	DeviceID   string   `json:"deviceId"`
	ReadyState string   `json:"readyState"`
	Enabled    bool     `json:"enabled"`
	Muted      bool     `json:"muted"`
	Blocked    bool     `json:"blocked"`
	Rids       []string `json:"rids"`
	Active     []bool   `json:"active"`
}

type publishedView struct {
	Transceivers int               `json:"transceivers"`
	Sources      []publishedSource `json:"sources"`
}

func (p publishedView) source(name string) publishedSource {
	for _, s := range p.Sources {
		if s.Source == name {
			return s
		}
	}
	return publishedSource{}
}

// devicePanelView is window.huddle.devicePanel() plus where the focus is.
type devicePanelView struct {
	Open  bool            `json:"open"`
	Shown map[string]bool `json:"shown"`
	// The lists as the panel shows them (selected: each list's value).
	Devices deviceLists `json:"devices"`
	Error   string      `json:"error"`
	Busy    bool        `json:"busy"`
	Focus   string      `json:"focus"`
	InPanel bool        `json:"inPanel"`
}

const devicePanelJS = `(() => {
  const h = window.huddle, e = document.activeElement;
  return {...h.devicePanel(), focus: e ? e.id : '', inPanel: !!(e && e.closest('#device-panel'))};
})()`

// TestBrowserSwitchDevicesMidCall: A and B are in a call, B decodes A. A
// opens the Devices panel and picks the other camera and another
// microphone: A sends them on the same senders (same server trackIds, no
// publish_offer, the old tracks stopped) and B keeps decoding A's video and
// receiving A's audio. A mutes camera and microphone and switches again:
// both stay muted. A picks a speaker: every remote tile plays through it. A
// camera that cannot start is explained and the old one kept; a headset
// plugged in is listed. Escape closes the panel and gives the focus back to
// its button.
func TestBrowserSwitchDevicesMidCall(t *testing.T) {
	browser := startBrowser(t, fakeCameras)
	n := startNode(t, "")
	dir := artifactsDir(t)
	a := openTab(t, browser, "switcher")
	b := openTab(t, browser, "watcher")
	installScript(t, a, wireTapJS)
	const room = "devices-mid-call"

	if err := a.Navigate(joinURL(n.URL(), room, "Dr Lee"), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.Navigate(joinURL(n.URL(), room, "Sam"), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, "joined", 15*time.Second)
	waitState(t, b, "joined", 15*time.Second)
	aID, err := evalJS[string](a.Ctx, `window.huddle.participantId`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitVideoFrom(b, aID, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	before, err := waitJS(a.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle.published()`, func(p publishedView) bool {
		return p.source("camera").TrackID != "" && p.source("microphone").TrackID != ""
	})
	if err != nil {
		t.Fatalf("A: camera and microphone not both published: %v (%+v)", err, before)
	}
	cam0, mic0 := before.source("camera"), before.source("microphone")
	offers := countSent(t, a, "publish_offer")
	// The tracks A's self view shows now, kept to see that they are stopped.
	if _, err := evalJS[bool](a.Ctx, `(() => { const s = document.querySelector('#grid .tile--local video').srcObject;
	  window.__oldCam = s.getVideoTracks()[0]; window.__oldMic = s.getAudioTracks()[0]; return true; })()`); err != nil {
		t.Fatal(err)
	}

	// A opens the panel with a real click: the focus moves into it.
	if err := chromedp.Do(a.Ctx, chromedp.Click(chromedp.CSS("#toggle-devices"))); err != nil {
		t.Fatalf("clicking the Devices button: %v", err)
	}
	pv, err := waitJS(a.Ctx, 10*time.Second, 100*time.Millisecond, devicePanelJS, func(v devicePanelView) bool {
		return v.Open && len(v.Devices.Video) == 3 && v.Devices.Selected["videoinput"] == cam0.DeviceID
	})
	if err != nil {
		t.Fatalf("A: panel not open with three cameras, showing %q: %v (saw %+v)", cam0.DeviceID, err, pv)
	}
	if !pv.InPanel || pv.Focus != "call-camera-select" {
		t.Errorf("A: focus on #%s (in panel: %v), want the camera list", pv.Focus, pv.InPanel)
	}
	if !pv.Shown["videoinput"] || !pv.Shown["audioinput"] || !pv.Shown["audiooutput"] {
		t.Errorf("A: lists shown %v, want camera, microphone and speaker (a host who publishes both, in Chromium)", pv.Shown)
	}
	expanded, _ := evalJS[string](a.Ctx, `document.getElementById('toggle-devices').getAttribute('aria-expanded')`)
	if expanded != "true" {
		t.Errorf("A: Devices button aria-expanded=%q while open", expanded)
	}

	var cam1 deviceEntry
	for _, d := range pv.Devices.Video {
		if d.ID != cam0.DeviceID && d.Label != depthCamera {
			cam1 = d
			break
		}
	}
	mic1 := other(pv.Devices.Audio, mic0.DeviceID, "default")
	if cam1.ID == "" || mic1.ID == "" {
		t.Fatalf("A: no other camera or microphone to pick: %+v", pv.Devices)
	}
	t.Logf("A switches %q -> %q and %q -> %q", cam0.Label, cam1.Label, mic0.Label, mic1.Label)
	choose(t, a, "call-camera-select", cam1.ID)
	choose(t, a, "call-mic-select", mic1.ID)
	after := waitSwitched(t, a, cam1.ID, mic1.ID)
	cam, mic := after.source("camera"), after.source("microphone")
	if cam.TrackID != cam0.TrackID || mic.TrackID != mic0.TrackID || cam.Mid != cam0.Mid || mic.Mid != mic0.Mid {
		t.Errorf("A: trackIds/mids changed: camera %s/%s -> %s/%s, microphone %s/%s -> %s/%s",
			cam0.TrackID, cam0.Mid, cam.TrackID, cam.Mid, mic0.TrackID, mic0.Mid, mic.TrackID, mic.Mid)
	}
	if after.Transceivers != before.Transceivers {
		t.Errorf("A: publish PC has %d transceivers after the switch, %d before", after.Transceivers, before.Transceivers)
	}
	if !slices.Equal(cam.Rids, cam0.Rids) || len(cam.Rids) < 2 {
		t.Errorf("A: camera encodings %v after the switch, %v before: simulcast must stay", cam.Rids, cam0.Rids)
	}
	if !cam.Enabled || !mic.Enabled || cam.Muted || mic.Muted {
		t.Errorf("A: after switching unmuted devices: camera %+v, microphone %+v; want both enabled and unmuted", cam, mic)
	}
	old, err := evalJS[[]string](a.Ctx, `[window.__oldCam.readyState, window.__oldMic.readyState]`)
	if err != nil || !slices.Equal(old, []string{"ended", "ended"}) {
		t.Errorf("A: old camera and microphone tracks %v (err %v), want both ended", old, err)
	}
	self, err := evalJS[[]string](a.Ctx, `(() => { const s = document.querySelector('#grid .tile--local video').srcObject;
	  return [s.getVideoTracks()[0].getSettings().deviceId, s.getAudioTracks()[0].getSettings().deviceId]; })()`)
	if err != nil || !slices.Equal(self, []string{cam1.ID, mic1.ID}) {
		t.Errorf("A: self view uses %v (err %v), want the new camera and microphone", self, err)
	}
	if got := countSent(t, a, "publish_offer"); got != offers {
		t.Errorf("A: %d publish_offer sent for the switch, want none (replaceTrack)", got-offers)
	}
	pv, err = waitJS(a.Ctx, 3*time.Second, 100*time.Millisecond, devicePanelJS, func(v devicePanelView) bool {
		return v.Devices.Selected["videoinput"] == cam1.ID && v.Devices.Selected["audioinput"] == mic1.ID
	})
	if err != nil || pv.Error != "" {
		t.Errorf("A: panel shows %v, error %q: %v; want the new devices selected and no error", pv.Devices.Selected, pv.Error, err)
	}
	// The join screen (seen again after leaving) remembers the same choice.
	joinSel, err := waitJS(a.Ctx, 3*time.Second, 100*time.Millisecond, `window.huddle.devices().selected`, func(m map[string]string) bool {
		return m["videoinput"] == cam1.ID && m["audioinput"] == mic1.ID
	})
	if err != nil {
		t.Errorf("A: join screen lists show %v, want the devices chosen in the call: %v", joinSel, err)
	}

	// B: the same tile and track for A, its video still decoding, its audio still arriving.
	checkStillReceiving(t, b, a, aID, cam0.TrackID, mic0.TrackID, "after switching")

	if path, err := saveScreenshot(a.Ctx, dir, "devices-panel-laptop-1280x800"); err == nil {
		t.Logf("Devices panel on a laptop: %s", path)
	}

	// Phone width: the open panel fits on screen, and so does the call.
	emulatePhone(t, a, 390, 844)
	problems, err := evalJS[[]string](a.Ctx, `(() => {
	  const p = [], vw = window.innerWidth, vh = window.innerHeight;
	  if (document.documentElement.scrollWidth > vw + 1) p.push('page scrolls horizontally');
	  const r = document.getElementById('device-panel').getBoundingClientRect();
	  if (r.left < -1 || r.right > vw + 1 || r.top < -1 || r.bottom > vh + 1) p.push('panel outside the viewport: ' + JSON.stringify(r));
	  for (const id of ['call-camera-select', 'call-mic-select', 'call-speaker-select', 'device-close']) {
	    const e = document.getElementById(id).getBoundingClientRect();
	    if (e.width === 0 || e.left < r.left - 1 || e.right > r.right + 1 || e.bottom > r.bottom + 1) p.push(id + ' not fully in the panel');
	  }
	  return p;
	})()`)
	if err != nil {
		t.Errorf("phone: %v", err)
	}
	for _, p := range problems {
		t.Errorf("phone: Devices panel: %s", p)
	}
	if layout, err := evalJS[[]string](a.Ctx, layoutProblemsJS); err == nil {
		for _, p := range layout {
			t.Errorf("phone: call screen with the Devices panel: %s", p)
		}
	}
	if path, err := saveScreenshot(a.Ctx, dir, "devices-panel-phone-390x844"); err == nil {
		t.Logf("Devices panel on a phone: %s", path)
	}

	// Muted camera and microphone stay muted through a switch.
	clickByID(t, a, "toggle-cam")
	clickByID(t, a, "toggle-mic")
	if _, err := waitJS(a.Ctx, 5*time.Second, 100*time.Millisecond, `window.huddle.published()`, func(p publishedView) bool {
		c, m := p.source("camera"), p.source("microphone")
		return c.Muted && !c.Enabled && m.Muted && !m.Enabled
	}); err != nil {
		t.Fatalf("A: camera and microphone not muted: %v", err)
	}
	choose(t, a, "call-camera-select", cam0.DeviceID)
	choose(t, a, "call-mic-select", mic0.DeviceID)
	muted := waitSwitched(t, a, cam0.DeviceID, mic0.DeviceID)
	cam, mic = muted.source("camera"), muted.source("microphone")
	if cam.Enabled || !cam.Muted || mic.Enabled || !mic.Muted {
		t.Errorf("A: after switching muted devices: camera enabled=%v muted=%v, microphone enabled=%v muted=%v; want both still muted",
			cam.Enabled, cam.Muted, mic.Enabled, mic.Muted)
	}
	pressed, _ := evalJS[[]string](a.Ctx, `['toggle-cam', 'toggle-mic'].map(id => document.getElementById(id).getAttribute('aria-pressed'))`)
	if !slices.Equal(pressed, []string{"true", "true"}) {
		t.Errorf("A: camera and mic controls aria-pressed %v after the switch, want both still off", pressed)
	}
	if got := countSent(t, a, "publish_offer"); got != offers {
		t.Errorf("A: %d publish_offer sent for the switches, want none", got-offers)
	}
	bTracks, err := waitJS(b.Ctx, 5*time.Second, 100*time.Millisecond, fmt.Sprintf(`window.huddle.tracksOf(%q)`, aID),
		func(ts []struct {
			ID    string `json:"id"`
			Muted bool   `json:"muted"`
		}) bool {
			return len(ts) == 2 && ts[0].Muted && ts[1].Muted
		})
	if err != nil {
		t.Errorf("B: A's tracks %+v, want the same two, both muted: %v", bTracks, err)
	}

	// A speaker: every remote tile plays through it.
	speaker := other(pv.Devices.Output, "default")
	if speaker.ID == "" {
		t.Fatalf("A: no speaker besides the default: %+v", pv.Devices.Output)
	}
	choose(t, a, "call-speaker-select", speaker.ID)
	sinks, err := waitJS(a.Ctx, 5*time.Second, 100*time.Millisecond,
		`[...document.querySelectorAll('#grid > .tile:not(.tile--local) video')].map(v => v.sinkId)`,
		func(s []string) bool {
			return len(s) > 0 && !slices.ContainsFunc(s, func(x string) bool { return x != speaker.ID })
		})
	if err != nil {
		t.Errorf("A: remote tiles play through %v, want %q: %v", sinks, speaker.ID, err)
	}

	// A camera that cannot be started: the one in use stays, and the panel says why.
	if _, err := evalJS[bool](a.Ctx, `(() => { const md = navigator.mediaDevices; window.__gum = md.getUserMedia;
	  md.getUserMedia = () => Promise.reject(new DOMException('Could not start video source', 'NotReadableError')); return true; })()`); err != nil {
		t.Fatal(err)
	}
	choose(t, a, "call-camera-select", cam1.ID)
	pv, err = waitJS(a.Ctx, 5*time.Second, 100*time.Millisecond, devicePanelJS, func(v devicePanelView) bool {
		return v.Error != "" && !v.Busy && v.Devices.Selected["videoinput"] == cam0.DeviceID
	})
	if err != nil || !strings.Contains(pv.Error, "in use") {
		t.Errorf("A: a camera that cannot start: panel %+v (err %v), want the reason shown and the camera in use selected again", pv, err)
	}
	if _, err := evalJS[bool](a.Ctx, `(navigator.mediaDevices.getUserMedia = window.__gum, true)`); err != nil {
		t.Fatal(err)
	}
	if p, _ := evalJS[publishedView](a.Ctx, `window.huddle.published()`); p.source("camera").DeviceID != cam0.DeviceID || p.source("camera").ReadyState != "live" {
		t.Errorf("A: after a failed switch the camera sent is %+v, want %s still live", p.source("camera"), cam0.DeviceID)
	}

	// A headset plugged in while the panel is open (devicechange) appears in the list.
	if _, err := evalJS[bool](a.Ctx, `(() => { const md = navigator.mediaDevices, list = md.enumerateDevices.bind(md);
	  md.enumerateDevices = async () => [...await list(), {kind: 'audioinput', deviceId: 'usb-headset', groupId: 'usb', label: 'USB headset'}];
	  md.dispatchEvent(new Event('devicechange')); return true; })()`); err != nil {
		t.Fatal(err)
	}
	if pv, err = waitJS(a.Ctx, 5*time.Second, 100*time.Millisecond, devicePanelJS, func(v devicePanelView) bool {
		return slices.ContainsFunc(v.Devices.Audio, func(d deviceEntry) bool { return d.Label == "USB headset" })
	}); err != nil {
		t.Errorf("A: a headset plugged in is not listed in the open panel: %v (%+v)", err, pv.Devices.Audio)
	}

	// Escape, pressed on a list, closes the panel and gives the focus back to its button.
	if _, err := evalJS[bool](a.Ctx, `(document.getElementById('call-mic-select').focus(), true)`); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(a.Ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatalf("pressing Escape: %v", err)
	}
	closed, err := waitJS(a.Ctx, 3*time.Second, 100*time.Millisecond, `(() => [String(window.huddle.devicePanel().open),
	  String(document.getElementById('device-panel').hidden), document.activeElement ? document.activeElement.id : '',
	  document.getElementById('toggle-devices').getAttribute('aria-expanded')])()`,
		func(v []string) bool { return slices.Equal(v, []string{"false", "true", "toggle-devices", "false"}) })
	if err != nil {
		t.Errorf("A: after Escape [open, hidden, focus, aria-expanded] = %v, want the panel closed and the focus on #toggle-devices: %v", closed, err)
	}
	if banners, _ := evalJS[[]string](a.Ctx, `window.huddle.banners()`); len(banners) > 0 {
		t.Errorf("A: banners after switching devices: %v", banners)
	}
}

// other returns the first device in list whose id is none of ids.
func other(list []deviceEntry, ids ...string) deviceEntry {
	for _, d := range list {
		if !slices.Contains(ids, d.ID) {
			return d
		}
	}
	return deviceEntry{}
}

// countSent is how many messages of type typ tb has sent so far.
func countSent(t *testing.T, tb *tab, typ string) int {
	t.Helper()
	msgs, err := wireSent(tb, typ)
	if err != nil {
		t.Fatalf("tab %s: reading the wire: %v", tb.Name, err)
	}
	return len(msgs)
}

// waitSwitched waits until tb's publish PC sends the camera camID and the
// microphone micID, both live, and the Devices panel has finished.
func waitSwitched(t *testing.T, tb *tab, camID, micID string) publishedView {
	t.Helper()
	p, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle.published()`, func(p publishedView) bool {
		c, m := p.source("camera"), p.source("microphone")
		return c.DeviceID == camID && m.DeviceID == micID && c.ReadyState == "live" && m.ReadyState == "live"
	})
	if err != nil {
		pv, _ := evalJS[devicePanelView](tb.Ctx, devicePanelJS)
		t.Fatalf("tab %s: publish PC does not send camera %s and microphone %s: %v (sends %+v; panel %+v)", tb.Name, camID, micID, err, p, pv)
	}
	if _, err := waitJS(tb.Ctx, 5*time.Second, 100*time.Millisecond, `window.huddle.devicePanel().busy`, func(b bool) bool { return !b }); err != nil {
		t.Errorf("tab %s: Devices panel still busy: %v", tb.Name, err)
	}
	return p
}

// checkStillReceiving checks that tb still shows participant's camera as
// camID on their tile, decodes more of it, and receives more of their
// microphone (micID). from is participant's tab, whose encoder figures a
// failure reports.
func checkStillReceiving(t *testing.T, tb, from *tab, participant, camID, micID, when string) {
	t.Helper()
	type sample struct {
		Tile   string `json:"tile"`
		Frames int64  `json:"frames"`
		Width  int64  `json:"width"`
		Audio  int64  `json:"audio"`
	}
	js := fmt.Sprintf(`(async () => {
	  const h = window.huddle, stats = await h.stats();
	  const tile = h.remoteTiles().find(t => t.participantId === %[1]q && !t.screen);
	  const v = stats.find(s => s.trackId === %[2]q), a = stats.find(s => s.trackId === %[3]q);
	  return {tile: tile ? tile.trackId || '' : 'none', frames: v ? v.framesDecoded : 0, width: v ? v.frameWidth : 0, audio: a ? a.bytesReceived : 0};
	})()`, participant, camID, micID)
	first, err := evalJS[sample](tb.Ctx, js)
	if err != nil {
		t.Fatalf("tab %s: %v", tb.Name, err)
	}
	last, err := waitJS(tb.Ctx, 5*time.Second, 200*time.Millisecond, js, func(s sample) bool {
		return s.Frames > first.Frames+10 && s.Audio > first.Audio && s.Width > 0
	})
	if err != nil {
		sent, _ := evalJS[any](from.Ctx, `window.huddle.localVideoStats()`)
		t.Errorf("tab %s %s: %s's video %d -> %d frames (width %d), audio %d -> %d bytes: %v; want both rising (tab %s encodes %v)",
			tb.Name, when, participant, first.Frames, last.Frames, last.Width, first.Audio, last.Audio, err, from.Name, sent)
	}
	if last.Tile != camID {
		t.Errorf("tab %s %s: %s's tile shows track %q, want the same %q", tb.Name, when, participant, last.Tile, camID)
	}
	t.Logf("tab %s %s: %s's video %d -> %d frames at width %d, audio %d -> %d bytes", tb.Name, when, participant, first.Frames, last.Frames, last.Width, first.Audio, last.Audio)
}

// TestBrowserDevicePanelFollowsGrants: a classroom student who may only
// watch finds the speaker list alone in the Devices panel, and opening it
// asks for no device; once the host lets them speak, the microphone list
// appears in the open panel (the camera's stays hidden).
func TestBrowserDevicePanelFollowsGrants(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	const room = "class-devices"
	classroom := &auth.Policy{Mode: auth.ModeClassroom}
	teacherTok := n.mint(room, "teacher", "Ms Rivera", auth.RoleHost, classroom)
	studentTok := n.mint(room, "student-3", "Sam", auth.RoleAttendee, classroom)
	teacher := openTab(t, browser, "teacher")
	student := openTab(t, browser, "student")
	installScript(t, student, countGetUserMediaJS)
	if err := teacher.Navigate(tokenURL(n.URL(), room, "Ms Rivera", teacherTok), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	waitState(t, teacher, "joined", 15*time.Second)
	if err := student.Navigate(tokenURL(n.URL(), room, "Sam", studentTok), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	waitState(t, student, "joined", 15*time.Second)

	if err := chromedp.Do(student.Ctx, chromedp.Click(chromedp.CSS("#toggle-devices"))); err != nil {
		t.Fatalf("clicking the Devices button: %v", err)
	}
	pv, err := waitJS(student.Ctx, 5*time.Second, 100*time.Millisecond, devicePanelJS, func(v devicePanelView) bool {
		return v.Open && len(v.Devices.Output) > 0 && v.Shown["audiooutput"]
	})
	if err != nil {
		t.Fatalf("student: panel not open with the speaker list: %v (saw %+v)", err, pv)
	}
	if pv.Shown["videoinput"] || pv.Shown["audioinput"] {
		t.Errorf("student: lists shown %v, want the speaker alone (no publish grant)", pv.Shown)
	}
	if pv.Focus != "call-speaker-select" {
		t.Errorf("student: focus on #%s, want the speaker list (the only one)", pv.Focus)
	}
	if gum, _ := evalJS[int](student.Ctx, `window.__gum`); gum != 0 {
		t.Errorf("student: %d getUserMedia calls, want none for someone who may only watch", gum)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.admin().UpdateGrants(ctx, room, "student-3", auth.Grants{Publish: []string{auth.SourceMicrophone}, Subscribe: true, Chat: true}); err != nil {
		t.Fatalf("granting the microphone: %v", err)
	}
	pv, err = waitJS(student.Ctx, 10*time.Second, 100*time.Millisecond, devicePanelJS, func(v devicePanelView) bool {
		return v.Open && v.Shown["audioinput"] && !v.Shown["videoinput"]
	})
	if err != nil {
		t.Errorf("student: after the microphone grant the open panel shows %v, want the microphone list and no camera list: %v", pv.Shown, err)
	}
}
