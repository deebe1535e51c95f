package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserJoinScreen checks the join screen before any call: the room is
// prefilled from ?room=, the camera preview shows a picture once permission
// is granted, an empty name is refused with a message, and the screen fits a
// laptop and a phone without horizontal scrolling.
func TestBrowserJoinScreen(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "")
	dir := artifactsDir(t)
	tb := openTab(t, browser, "join")

	if err := tb.Navigate(n.URL()+"/?room=ward-3", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	preview, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond,
		`({room: document.getElementById('room').value,
		   width: document.getElementById('join-preview').videoWidth,
		   placeholder: document.getElementById('join-preview-tile').classList.contains('tile--no-video'),
		   state: window.huddle && window.huddle.state})`,
		func(v joinView) bool { return v.Width > 0 && !v.Placeholder })
	if err != nil {
		t.Fatalf("camera preview never showed a picture: %v (saw %+v)", err, preview)
	}
	if preview.Room != "ward-3" || preview.State != "idle" {
		t.Errorf("got room %q state %q, want room prefilled from ?room= and state idle", preview.Room, preview.State)
	}

	// An empty name must be refused on the page, without contacting the server.
	msg, err := evalJS[string](tb.Ctx, `(() => {
	  document.getElementById('name').value = '';
	  document.getElementById('join-button').click();
	  const e = document.getElementById('join-error');
	  return e.hidden ? '' : e.textContent;
	})()`)
	if err != nil || msg == "" {
		t.Errorf("joining without a name: want an error message, got %q (err %v)", msg, err)
	}
	if st, _ := evalJS[string](tb.Ctx, `window.huddle.state`); st != "idle" {
		t.Errorf("state after refused join = %q, want idle", st)
	}

	for _, vp := range []struct {
		name string
		w, h int64
		opts []chromedp.EmulateViewportOption
	}{
		{"laptop-1280x800", 1280, 800, nil},
		{"phone-390x844", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch}},
	} {
		if err := chromedp.Do(tb.Ctx, chromedp.EmulateViewport(vp.w, vp.h, vp.opts...)); err != nil {
			t.Fatalf("viewport %s: %v", vp.name, err)
		}
		time.Sleep(300 * time.Millisecond)
		problems, err := evalJS[[]string](tb.Ctx, elementsFitJS("room", "name", "join-button", "join-preview-tile"))
		if err != nil {
			t.Errorf("viewport %s: %v", vp.name, err)
		}
		for _, p := range problems {
			t.Errorf("join screen at %s: %s", vp.name, p)
		}
		if path, err := saveScreenshot(tb.Ctx, dir, "join-screen-"+vp.name); err != nil {
			t.Errorf("%v", err)
		} else {
			t.Logf("join screen at %s: %s", vp.name, path)
		}
	}
}

type joinView struct {
	Room        string `json:"room"`
	Width       int64  `json:"width"`
	Placeholder bool   `json:"placeholder"`
	State       string `json:"state"`
}
