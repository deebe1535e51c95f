package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// joinURL is the page that joins room as name on load.
func joinURL(base, room, name string) string {
	return base + "/?" + url.Values{"room": {room}, "name": {name}, "autojoin": {"1"}}.Encode()
}

// waitState waits until window.huddle.state is want.
func waitState(t *testing.T, tb *tab, want string, timeout time.Duration) {
	t.Helper()
	got, err := waitJS(tb.Ctx, timeout, 100*time.Millisecond,
		`window.huddle ? window.huddle.state : 'loading'`, func(s string) bool { return s == want })
	if err != nil {
		t.Fatalf("tab %s: state %q, want %q: %v", tb.Name, got, want, err)
	}
}

// TestBrowserConnectionLostThenRejoin stops the server under a joined client
// and keeps it down until the client gives up reconnecting: the client must
// say the connection was lost and offer Rejoin, and Rejoin must work once a
// server is back on the same address.
func TestBrowserConnectionLostThenRejoin(t *testing.T) {
	browser := startBrowser(t)
	first := startNode(t, "")
	dir := artifactsDir(t)
	tb := openTab(t, browser, "lost")
	if err := tb.Navigate(joinURL(first.URL(), "outage", "Dr Ada"), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	waitState(t, tb, "joined", 15*time.Second)

	addr := strings.TrimPrefix(first.URL(), "http://")
	// The client reconnects by itself for 2 minutes (browser_reconnect_test.go);
	// here it gives up sooner, to test what the user sees when it does.
	if _, err := evalJS[bool](tb.Ctx, `window.huddle.setReconnectGiveUp(1000)`); err != nil {
		t.Fatalf("shortening the reconnect window: %v", err)
	}
	first.Stop()

	// The end page says so, once (no banner repeating it), with Rejoin; the camera is released.
	end, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle.endPage()`,
		func(e endView) bool { return e.Shown && e.Title == "Connection lost" })
	if err != nil {
		t.Fatalf("after the server stopped, want the end page saying \"Connection lost\": %v (%+v)", err, end)
	}
	if !end.Rejoin {
		t.Error("no Rejoin after the connection was lost")
	}
	if b, _ := evalJS[[]string](tb.Ctx, `window.huddle.banners()`); len(b) != 0 {
		t.Errorf("banners repeat the end page: %q", b)
	}
	if st, _ := evalJS[string](tb.Ctx, `window.huddle.state`); st != "left" {
		t.Errorf("state after the connection was lost = %q, want left", st)
	}
	if path, err := saveScreenshot(tb.Ctx, dir, "connection-lost"); err != nil {
		t.Errorf("%v", err)
	} else {
		t.Logf("screenshot of the connection-lost page: %s", path)
	}

	// A server back on the same address, as after a restart.
	startNode(t, addr)
	clickByID(t, tb, "end-rejoin")
	waitState(t, tb, "joined", 15*time.Second)
	if b, _ := evalJS[[]string](tb.Ctx, `window.huddle.banners()`); len(b) != 0 {
		t.Errorf("banners still shown after rejoining: %q", b)
	}
}

// TestBrowserAutoplayBlocked runs Chromium with a policy that refuses sound
// without a user gesture: remote video must still play (muted), an "enable
// audio" button must appear, and a real click on it must unmute playback.
func TestBrowserAutoplayBlocked(t *testing.T) {
	browser := startBrowser(t, "autoplay-policy=user-gesture-required")
	n := startNode(t, "")
	dir := artifactsDir(t)
	a := openTab(t, browser, "A")
	b := openTab(t, browser, "B")
	for _, tb := range []*tab{a, b} {
		if err := tb.Navigate(joinURL(n.URL(), "autoplay", tb.Name), 15*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	type view struct {
		Button  bool  `json:"button"`
		Width   int64 `json:"width"`
		Muted   bool  `json:"muted"`
		Playing bool  `json:"playing"`
	}
	const viewJS = `(() => {
	  const v = document.querySelector('#grid > .tile:not(.tile--local) video');
	  return {button: !document.getElementById('enable-audio').hidden,
	          width: v ? v.videoWidth : 0, muted: v ? v.muted : false, playing: v ? !v.paused : false};
	})()`
	v, err := waitJS(a.Ctx, 20*time.Second, 100*time.Millisecond, viewJS,
		func(v view) bool { return v.Button && v.Width > 0 && v.Playing })
	if err != nil {
		t.Fatalf("tab A: want the enable-audio button with the remote video playing muted: %v (saw %+v)", err, v)
	}
	if path, err := saveScreenshot(a.Ctx, dir, "autoplay-blocked"); err != nil {
		t.Errorf("%v", err)
	} else {
		t.Logf("screenshot with the enable-audio button: %s", path)
	}

	// chromedp.Click sends real mouse events, which count as a user gesture
	// (a JavaScript click() would not).
	if err := chromedp.Do(a.Ctx, chromedp.Click(chromedp.CSS("#enable-audio"))); err != nil {
		t.Fatalf("clicking enable audio: %v", err)
	}
	v, err = waitJS(a.Ctx, 5*time.Second, 100*time.Millisecond, viewJS,
		func(v view) bool { return !v.Button && !v.Muted && v.Playing })
	if err != nil {
		t.Fatalf("after the click, want unmuted playback and no button: %v (saw %+v)", err, v)
	}
}
