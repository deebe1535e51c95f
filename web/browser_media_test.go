package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// denyMediaJS makes getUserMedia fail as it does when the user refuses the
// permission prompt. It runs before the page's own scripts.
const denyMediaJS = `navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));`

// TestBrowserReceiveOnlyWhenMediaDenied: a participant who refuses camera and
// microphone gets a clear message, can still join, sees and decodes the
// others, and appears to them as an avatar with a muted microphone.
func TestBrowserReceiveOnlyWhenMediaDenied(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "")
	dir := artifactsDir(t)
	viewer := openTab(t, browser, "viewer")
	speaker := openTab(t, browser, "speaker")

	if err := chromedp.Do(viewer.Ctx, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: denyMediaJS})
		return err
	})); err != nil {
		t.Fatalf("installing the getUserMedia override: %v", err)
	}

	if err := speaker.Navigate(joinURL(n.URL(), "recv-only", "Presenter"), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := viewer.Navigate(joinURL(n.URL(), "recv-only", "Observer"), 15*time.Second); err != nil {
		t.Fatal(err)
	}

	msg, err := waitJS(viewer.Ctx, 10*time.Second, 100*time.Millisecond,
		`(() => { const m = document.getElementById('media-message'); return m.textContent; })()`,
		func(s string) bool { return strings.Contains(s, "blocked") })
	if err != nil {
		t.Errorf("want a message saying camera and microphone were blocked: %v (got %q)", err, msg)
	}

	// The viewer decodes the presenter although it publishes nothing.
	v, err := waitJS(viewer.Ctx, 20*time.Second, 100*time.Millisecond, clientViewJS, func(v clientView) bool {
		frames, width, _ := v.video()
		return v.State == "joined" && frames > 0 && width > 0 && v.remoteVideoWidth() > 0
	})
	if err != nil {
		t.Fatalf("receive-only viewer: no decoded video from the presenter: %v (saw %+v)", err, v)
	}
	controls, err := evalJS[[]bool](viewer.Ctx, `['toggle-mic','toggle-cam'].map(id => document.getElementById(id).disabled)`)
	if err != nil || len(controls) != 2 || !controls[0] || !controls[1] {
		t.Errorf("receive-only viewer: mic/camera buttons disabled = %v (err %v), want both disabled", controls, err)
	}

	// The presenter sees the viewer as a tile with an avatar and a muted mic.
	facts, err := waitJS(speaker.Ctx, 10*time.Second, 100*time.Millisecond, remoteTileJS(v.Participant),
		func(f tileFacts) bool { return f.Present && f.MicMuted && f.NoVideo })
	if err != nil {
		t.Errorf("presenter: want the viewer's tile with avatar and muted badge: %v (saw %+v)", err, facts)
	}
	for _, tb := range []*tab{viewer, speaker} {
		if path, err := saveScreenshot(tb.Ctx, dir, "receive-only-"+tb.Name); err != nil {
			t.Errorf("%v", err)
		} else {
			t.Logf("screenshot of %s: %s", tb.Name, path)
		}
	}
}
