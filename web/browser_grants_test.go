package web_test

// The client follows the server's grants (signaling/PROTOCOL.md "Tokens,
// roles and grants") on a node that requires join tokens: a classroom
// attendee joins to watch without being asked for a camera or microphone,
// the host lets them speak through the admin API, mutes and unmutes them as
// a moderator, and takes the microphone back.

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
)

// webTestKey is the API key of the browser tests' keyed nodes.
var webTestKey = auth.Key{ID: "APIwebtest", Secret: strings.Repeat("w", 40)}

// withAPIKey makes a node require join tokens (no dev mode), signed with webTestKey.
func withAPIKey(cfg *node.Config) { cfg.Auth.Keys = []auth.Key{webTestKey} }

// mint signs a join token for identity in room with the node's key.
func (n *testNode) mint(room, identity, name string, role auth.Role, policy *auth.Policy) string {
	n.t.Helper()
	c := auth.Claims{Room: room, Name: name, Role: role, Policy: policy, RegisteredClaims: jwt.RegisteredClaims{Subject: identity}}
	tok, err := n.Keys().Mint(c, time.Hour)
	if err != nil {
		n.t.Fatalf("minting a token for %s: %v", identity, err)
	}
	return tok
}

// admin returns a client of the node's admin API holding an admin token.
func (n *testNode) admin() *admin.Client {
	n.t.Helper()
	c := auth.Claims{Role: auth.RoleHost, Grants: &auth.Grants{Admin: true}, RegisteredClaims: jwt.RegisteredClaims{Subject: "ops"}}
	tok, err := n.Keys().Mint(c, time.Hour)
	if err != nil {
		n.t.Fatalf("minting an admin token: %v", err)
	}
	return &admin.Client{BaseURL: n.URL(), Token: tok}
}

// tokenURL is the invitation link for token, joining at once.
func tokenURL(base, room, name, token string) string {
	return base + "/?" + url.Values{"room": {room}, "name": {name}, "token": {token}, "autojoin": {"1"}}.Encode()
}

// countGetUserMediaJS counts the page's getUserMedia calls in window.__gum,
// before any page script runs.
const countGetUserMediaJS = `(() => {
  window.__gum = 0;
  const md = navigator.mediaDevices, gum = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => { window.__gum++; return gum(c); };
})();`

// controlView is one call control as the user (and a screen reader) meets it.
type controlView struct {
	Disabled     bool   `json:"disabled"`
	AriaDisabled bool   `json:"ariaDisabled"`
	Pressed      string `json:"pressed"`
	Label        string `json:"label"`
	Title        string `json:"title"`
	Hidden       bool   `json:"hidden"`
}

// usable reports whether pressing the control does something.
func (c controlView) usable() bool { return !c.Disabled && !c.AriaDisabled && !c.Hidden }

// studentView is what the test samples in the attendee's tab.
type studentView struct {
	State  string `json:"state"`
	Grants *struct {
		Publish   []string `json:"publish"`
		Subscribe bool     `json:"subscribe"`
	} `json:"grants"`
	GUM           int         `json:"gum"`
	Status        string      `json:"status"`
	Banners       []string    `json:"banners"`
	Mic           controlView `json:"mic"`
	Cam           controlView `json:"cam"`
	Screen        controlView `json:"screen"`
	VideoFrames   int64       `json:"videoFrames"`
	VideoWidth    int64       `json:"videoWidth"`
	LocalAudio    string      `json:"localAudio"` // '' (none), 'on' (enabled), 'off' (blanked)
	SavedMicState string      `json:"savedMic"`   // readyState of window.__mic, once saved
}

func (v studentView) mayPublish(source string) bool {
	return v.Grants != nil && slices.Contains(v.Grants.Publish, source)
}

const studentViewJS = `(async () => {
  const h = window.huddle;
  if (!h) return {state: 'loading'};
  const ctl = (id) => {
    const b = document.getElementById(id);
    return {disabled: b.disabled, ariaDisabled: b.getAttribute('aria-disabled') === 'true',
            pressed: b.getAttribute('aria-pressed') || '', label: b.getAttribute('aria-label') || '',
            title: b.title, hidden: b.hidden};
  };
  const video = (await h.stats()).find((s) => s.kind === 'video') || {};
  const v = document.querySelector('#grid > .tile[data-tile-id="local"] video');
  const a = v && v.srcObject ? v.srcObject.getAudioTracks()[0] : null;
  return {state: h.state, grants: h.grants(), gum: window.__gum || 0,
          status: document.getElementById('call-status').textContent, banners: h.banners(),
          mic: ctl('toggle-mic'), cam: ctl('toggle-cam'), screen: ctl('toggle-screen'),
          videoFrames: video.framesDecoded || 0, videoWidth: video.frameWidth || 0,
          localAudio: a ? (a.enabled ? 'on' : 'off') : '',
          savedMic: window.__mic ? window.__mic.readyState : ''};
})()`

// TestBrowserClassroomGrants: in a classroom, an attendee (no publish grant)
// joins receive-only without a getUserMedia call or a publish_offer, is told
// calmly that they are watching, sees the teacher; once granted the
// microphone through the admin API its control comes alive and pressing it
// publishes audio the teacher receives; a moderator's mute locks the control
// and its lifting leaves the microphone muted; revoking the grant stops the
// microphone. Each step has its own bound; the whole is bounded by their sum
// (on a busy machine the first steps may take most of theirs).
func TestBrowserClassroomGrants(t *testing.T) {
	deadline := time.Now().Add(3 * time.Minute)
	within := func(d time.Duration) time.Duration { return min(d, time.Until(deadline)) }

	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	dir := artifactsDir(t)
	const room = "class-7b"
	classroom := &auth.Policy{Mode: auth.ModeClassroom}
	teacherTok := n.mint(room, "teacher", "Ms Rivera", auth.RoleHost, classroom)
	studentTok := n.mint(room, "student-12", "Sam", auth.RoleAttendee, classroom)
	adm := n.admin()

	teacher := openTab(t, browser, "teacher")
	student := openTab(t, browser, "student")
	installScript(t, student, wireTapJS)
	installScript(t, student, countGetUserMediaJS)

	if err := teacher.Navigate(tokenURL(n.URL(), room, "Ms Rivera", teacherTok), within(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := waitJS(teacher.Ctx, within(15*time.Second), 100*time.Millisecond,
		`window.huddle ? window.huddle.cameraTrackId() || '' : ''`, func(s string) bool { return s != "" }); err != nil {
		t.Fatalf("teacher: no camera published after joining: %v", err)
	}

	// The attendee watches: no device asked for, no offer, a calm status, locked controls.
	if err := student.Navigate(tokenURL(n.URL(), room, "Sam", studentTok), within(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	var prevFrames int64 = -1
	v, err := waitStudent(t, student, within(20*time.Second), func(v studentView) bool {
		rising := prevFrames >= 0 && v.VideoFrames > prevFrames && v.VideoWidth > 0
		if v.VideoFrames > 0 {
			prevFrames = v.VideoFrames
		}
		return v.State == "joined" && v.Grants != nil && rising
	})
	if err != nil {
		t.Fatalf("student: never joined and decoded the teacher's video: %v (saw %+v)", err, v)
	}
	if v.GUM != 0 {
		t.Errorf("student: %d getUserMedia calls, want none for an attendee who may only watch", v.GUM)
	}
	if len(v.Grants.Publish) != 0 || !v.Grants.Subscribe {
		t.Errorf("student: grants %+v, want no publish and subscribe", *v.Grants)
	}
	if !strings.Contains(v.Status, "watching") {
		t.Errorf("student: status %q, want it to say they are watching", v.Status)
	}
	if len(v.Banners) != 0 {
		t.Errorf("student: banners %q, want none (watching is not an error)", v.Banners)
	}
	for name, c := range map[string]controlView{"mic": v.Mic, "camera": v.Cam} {
		if !c.AriaDisabled || c.Hidden || !strings.Contains(strings.ToLower(c.Label), "host") || c.Title != c.Label {
			t.Errorf("student: %s control %+v, want visible, aria-disabled and labelled with why (the host)", name, c)
		}
	}
	if !v.Screen.Hidden {
		t.Errorf("student: screen share control shown without a screen grant: %+v", v.Screen)
	}
	if offers, err := wireSent(student, "publish_offer"); err != nil || len(offers) != 0 {
		t.Errorf("student: sent %d publish_offer (err %v), want none", len(offers), err)
	}
	checkPhoneLayout(t, student, dir, "classroom-student-watching")

	// The host lets the student speak: the microphone control comes alive.
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if _, err := adm.UpdateGrants(ctx, room, "student-12", auth.Grants{Publish: []string{auth.SourceMicrophone}, Subscribe: true, Chat: true}); err != nil {
		t.Fatalf("granting the microphone: %v", err)
	}
	v, err = waitStudent(t, student, within(10*time.Second), func(v studentView) bool {
		return v.mayPublish("microphone") && v.Mic.usable()
	})
	if err != nil {
		t.Fatalf("student: microphone control not enabled after the grant: %v (saw %+v)", err, v)
	}
	if !strings.Contains(v.Status, "microphone") || v.Cam.usable() || v.GUM != 0 {
		t.Errorf("student after the grant: status %q, camera %+v, %d getUserMedia calls; want the microphone offered, the camera still locked, nothing asked yet",
			v.Status, v.Cam, v.GUM)
	}

	// Pressing it (a real click: a user gesture) starts and publishes the microphone alone.
	if err := chromedp.Do(student.Ctx, chromedp.Click(chromedp.CSS("#toggle-mic"))); err != nil {
		t.Fatalf("clicking the microphone control: %v", err)
	}
	micTrack := waitPublished(t, student, within(10*time.Second))
	v, err = waitStudent(t, student, within(5*time.Second), func(v studentView) bool { return v.LocalAudio == "on" && v.Mic.Pressed == "false" })
	if err != nil || v.GUM != 1 {
		t.Errorf("student after pressing the microphone: %v, %d getUserMedia calls (saw %+v); want one call and an unmuted microphone", err, v.GUM, v)
	}
	waitHostAudio(t, teacher, micTrack, within(15*time.Second), true)

	// A moderator's mute locks the control; lifting it leaves the microphone muted (privacy).
	if _, err := evalJS[bool](student.Ctx, `(() => {
	  const v = document.querySelector('#grid > .tile[data-tile-id="local"] video');
	  window.__mic = v.srcObject.getAudioTracks()[0];
	  return true;
	})()`); err != nil {
		t.Fatalf("student: keeping a reference to the microphone track: %v", err)
	}
	if _, err := adm.MuteTracks(ctx, room, "student-12", admin.MuteRequest{Source: auth.SourceMicrophone, Muted: true}); err != nil {
		t.Fatalf("moderator mute: %v", err)
	}
	v, err = waitStudent(t, student, within(5*time.Second), func(v studentView) bool {
		return v.Mic.AriaDisabled && v.LocalAudio == "off" && strings.Contains(v.Status, "muted your microphone")
	})
	if err != nil {
		t.Fatalf("student: moderator mute not shown: %v (saw %+v)", err, v)
	}
	if _, err := adm.MuteTracks(ctx, room, "student-12", admin.MuteRequest{Source: auth.SourceMicrophone, Muted: false}); err != nil {
		t.Fatalf("moderator unmute: %v", err)
	}
	v, err = waitStudent(t, student, within(5*time.Second), func(v studentView) bool { return v.Mic.usable() })
	if err != nil {
		t.Fatalf("student: microphone control not usable after the moderator unmuted: %v (saw %+v)", err, v)
	}
	if v.LocalAudio != "off" || v.Mic.Pressed != "true" {
		t.Errorf("student after the moderator unmuted: local audio %q, mic pressed %q; want it still muted until the user unmutes", v.LocalAudio, v.Mic.Pressed)
	}
	if mutes, err := wireSent(student, "mute"); err != nil || len(mutes) == 0 || !strings.Contains(string(mutes[len(mutes)-1].Data), `"muted":true`) {
		t.Errorf("student: last mute sent %+v (err %v), want muted:true so the others see the microphone is still off", mutes, err)
	}

	// Taking the grant back stops the microphone and locks the control again.
	if _, err := adm.UpdateGrants(ctx, room, "student-12", auth.Grants{Subscribe: true, Chat: true}); err != nil {
		t.Fatalf("revoking the microphone: %v", err)
	}
	v, err = waitStudent(t, student, within(10*time.Second), func(v studentView) bool {
		return !v.mayPublish("microphone") && v.Mic.AriaDisabled && v.SavedMicState == "ended" && v.LocalAudio == ""
	})
	if err != nil {
		t.Fatalf("student: microphone not stopped after the grant was revoked: %v (saw %+v)", err, v)
	}
	if !strings.Contains(v.Status, "watching") || len(v.Banners) != 0 {
		t.Errorf("student after the revoke: status %q, banners %q; want the watching status and no banner", v.Status, v.Banners)
	}
	waitHostAudio(t, teacher, micTrack, within(10*time.Second), false)
	if path, err := saveScreenshot(student.Ctx, dir, "classroom-student-revoked"); err == nil {
		t.Logf("student after the revoke: %s", path)
	}
}

// waitStudent samples studentViewJS until cond accepts it.
func waitStudent(t *testing.T, tb *tab, timeout time.Duration, cond func(studentView) bool) (studentView, error) {
	t.Helper()
	return waitJS(tb.Ctx, timeout, 100*time.Millisecond, studentViewJS, cond)
}

// waitPublished waits for the tab's publish_offer naming only a microphone
// and returns the server's id for it (from publish_answer).
func waitPublished(t *testing.T, tb *tab, timeout time.Duration) string {
	t.Helper()
	type answer struct {
		Tracks []struct {
			Mid     string `json:"mid"`
			TrackID string `json:"trackId"`
		} `json:"tracks"`
	}
	deadline := time.Now().Add(timeout)
	for {
		offers, _ := wireSent(tb, "publish_offer")
		answers, _ := wireReceived(tb, "publish_answer")
		if len(offers) > 0 && len(answers) > 0 {
			var o struct {
				Tracks []struct {
					Source string `json:"source"`
				} `json:"tracks"`
			}
			var a answer
			if err := json.Unmarshal(offers[len(offers)-1].Data, &o); err != nil {
				t.Fatalf("publish_offer data: %v", err)
			}
			if err := json.Unmarshal(answers[len(answers)-1].Data, &a); err != nil {
				t.Fatalf("publish_answer data: %v", err)
			}
			if len(o.Tracks) != 1 || o.Tracks[0].Source != "microphone" {
				t.Fatalf("%s: publish_offer names %+v, want the microphone alone", tb.Name, o.Tracks)
			}
			if len(a.Tracks) == 1 && a.Tracks[0].TrackID != "" {
				return a.Tracks[0].TrackID
			}
		}
		if time.Now().After(deadline) {
			banners, _ := evalJS[[]string](tb.Ctx, `window.huddle.banners()`)
			t.Fatalf("%s: no answered publish_offer for the microphone within %v (%d offers, %d answers, banners %q)",
				tb.Name, timeout, len(offers), len(answers), banners)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitHostAudio waits until tb receives audio of trackID (bytes rising
// between samples) when want is true, or no longer lists it when false.
func waitHostAudio(t *testing.T, tb *tab, trackID string, timeout time.Duration, want bool) {
	t.Helper()
	var prev int64 = -1
	_, err := waitJS(tb.Ctx, timeout, 200*time.Millisecond,
		`window.huddle.stats().then((s) => s.filter((x) => x.trackId === `+jsString(trackID)+`).map((x) => x.bytesReceived))`,
		func(bytes []int64) bool {
			if !want {
				return len(bytes) == 0
			}
			if len(bytes) == 0 {
				return false
			}
			rising := prev >= 0 && bytes[0] > prev
			prev = bytes[0]
			return rising
		})
	if err != nil {
		if want {
			t.Fatalf("%s: no audio of %s received: %v", tb.Name, trackID, err)
		}
		t.Fatalf("%s: still receives %s after it was unpublished: %v", tb.Name, trackID, err)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
