package web_test

// Screen sharing from the browser client. Headless Chromium with the flags
// in chromiumFlags (--use-fake-ui-for-media-stream picks a screen without a
// picker, --use-fake-device-for-media-stream draws it) answers
// getDisplayMedia with a synthetic "screen" (the fake camera's pattern,
// 800x450 at our constraints), so the real button and capture path run here;
// no canvas stand-in is needed.

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserScreenShare: the publisher presses Share; its client publishes
// the capture as source "screen" (one encoding, 15 fps, 2.5 Mbps, content
// hint detail) by renegotiating; the subscriber shows it featured, large and
// with priority high; Stop share and the browser's own "stop sharing" each
// send unpublish and remove it everywhere.
func TestBrowserScreenShare(t *testing.T) {
	c := startSimulcastCall(t, "screen-share")

	first := startScreenShare(t, c)
	checkScreenPublished(t, c, first)
	checkScreenReceived(t, c, first)
	checkPhoneLayout(t, c.pub, c.dir, "screen-share-publisher")
	checkPhoneLayout(t, c.sub, c.dir, "screen-share-subscriber")

	// Stop with the button.
	if err := chromedp.Do(c.pub.Ctx, chromedp.Click(chromedp.CSS("#toggle-screen"))); err != nil {
		t.Fatalf("clicking Stop share: %v", err)
	}
	waitScreenGone(t, c, first)

	// Share again: a fresh track on a fresh m-line; then end it the way the
	// browser's "Stop sharing" bar does (the capture track ends).
	second := startScreenShare(t, c)
	if second == first {
		t.Errorf("second share reuses track id %s", first)
	}
	checkScreenReceived(t, c, second)
	if _, err := evalJS[bool](c.pub.Ctx, `(() => {
	  const v = document.querySelector('#grid > .tile[data-tile-id="local-screen"] video');
	  v.srcObject.getVideoTracks()[0].dispatchEvent(new Event('ended'));
	  return true;
	})()`); err != nil {
		t.Fatalf("ending the capture track: %v", err)
	}
	waitScreenGone(t, c, second)
}

// startScreenShare clicks Share in the publisher (a real click: it is a user
// gesture, as getDisplayMedia may require) and returns the screen track id.
func startScreenShare(t *testing.T, c *simulcastCall) string {
	t.Helper()
	if err := chromedp.Do(c.pub.Ctx, chromedp.Click(chromedp.CSS("#toggle-screen"))); err != nil {
		t.Fatalf("clicking Share: %v", err)
	}
	id, err := waitJS(c.pub.Ctx, 15*time.Second, 100*time.Millisecond, `window.huddle.screenTrackId() || ''`,
		func(s string) bool { return s != "" })
	if err != nil {
		banners, _ := evalJS[[]string](c.pub.Ctx, `window.huddle.banners()`)
		t.Fatalf("publisher: no screen track id after clicking Share: %v (banners %q)", err, banners)
	}
	pressed, _ := evalJS[string](c.pub.Ctx, `document.getElementById('toggle-screen').getAttribute('aria-pressed')`)
	if pressed != "true" {
		t.Errorf("Share button aria-pressed = %q while sharing, want true", pressed)
	}
	return id
}

// checkScreenPublished: the renegotiating publish_offer names the screen
// (no layers) next to the camera, and the sender encodes one sharp,
// slow encoding.
func checkScreenPublished(t *testing.T, c *simulcastCall, trackID string) {
	t.Helper()
	offers, err := wireSent(c.pub, "publish_offer")
	if err != nil || len(offers) < 2 {
		t.Fatalf("publisher: want a second publish_offer for the screen, got %d (err %v)", len(offers), err)
	}
	var offer struct {
		Tracks []struct {
			Mid    string            `json:"mid"`
			Source string            `json:"source"`
			Layers []json.RawMessage `json:"layers"`
		} `json:"tracks"`
	}
	if err := json.Unmarshal(offers[len(offers)-1].Data, &offer); err != nil {
		t.Fatal(err)
	}
	layersBySource := map[string]int{}
	for _, tr := range offer.Tracks {
		layersBySource[tr.Source] = len(tr.Layers)
	}
	if n, ok := layersBySource["screen"]; !ok || n != 0 || layersBySource["camera"] != 3 {
		t.Errorf("screen publish_offer tracks = %+v, want microphone, camera (3 layers) and screen (no layers)", offer.Tracks)
	}

	encs, err := waitJS(c.pub.Ctx, 10*time.Second, 200*time.Millisecond, localVideoStatsJS, func(v []localEncoding) bool {
		for _, e := range v {
			if e.Source == "screen" && e.FramesEncoded > 0 && e.FrameWidth > 0 {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("publisher: the screen is not being encoded: %v (saw %s)", err, describeEncodings(encs))
	}
	var screens []localEncoding
	for _, e := range encs {
		if e.Source == "screen" {
			screens = append(screens, e)
		}
	}
	if len(screens) != 1 || screens[0].TrackID != trackID || screens[0].MaxBitrate != 2_500_000 || screens[0].MaxFramerate != 15 {
		t.Errorf("screen encodings = %+v, want one for %s with maxBitrate 2500000 and maxFramerate 15", screens, trackID)
	}
	hint, _ := evalJS[string](c.pub.Ctx, `document.querySelector('#grid > .tile[data-tile-id="local-screen"] video').srcObject.getVideoTracks()[0].contentHint`)
	if hint != "detail" {
		t.Errorf("screen track contentHint = %q, want detail", hint)
	}
	t.Logf("publisher encodes its screen: %s", describeEncodings(screens))
}

// checkScreenReceived: the subscriber decodes the screen in a featured,
// high-priority tile and says so with track_settings.
func checkScreenReceived(t *testing.T, c *simulcastCall, trackID string) {
	t.Helper()
	start := time.Now()
	tiles, err := waitJS(c.sub.Ctx, 15*time.Second, 100*time.Millisecond, remoteTilesJS, func(v []remoteTile) bool {
		for _, tl := range v {
			if tl.Screen && tl.TrackID == trackID && tl.VideoWidth > 0 {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("subscriber: no picture in a screen share tile for %s: %v (tiles %+v)", trackID, err, tiles)
	}
	for _, tl := range tiles {
		if tl.Screen && tl.TrackID == trackID {
			t.Logf("subscriber shows the screen at %dx%d %v after it was published (featured=%v priority=%s)",
				tl.VideoWidth, tl.VideoHeight, time.Since(start).Round(time.Millisecond), tl.Featured, tl.Priority)
			if !tl.Featured || !tl.Pinned || tl.Priority != "high" || tl.ParticipantID != c.pubID {
				t.Errorf("screen tile %+v: want featured, pinned, priority high, of participant %s", tl, c.pubID)
			}
		}
	}
	msgs, err := waitJS(c.sub.Ctx, 5*time.Second, 100*time.Millisecond,
		fmt.Sprintf(`window.__wire.sent('track_settings').map(m => m.data).filter(d => d.trackId === %q)`, trackID),
		func(v []trackSettingsMsg) bool {
			return len(v) > 0 && v[len(v)-1].Priority == "high" && !v[len(v)-1].Paused
		})
	if err != nil {
		t.Errorf("subscriber: want track_settings with priority high for the screen: %v (sent %+v)", err, msgs)
	}
	checkLayout(t, c.sub, "laptop 1280x800 with a screen share")
	if path, err := saveScreenshot(c.sub.Ctx, c.dir, "screen-share-"+trackID); err == nil {
		t.Logf("screenshot of the shared screen: %s", path)
	}
}

// waitScreenGone: the publisher sent unpublish for trackID and stopped
// sending it, and the subscriber's screen tile went away.
func waitScreenGone(t *testing.T, c *simulcastCall, trackID string) {
	t.Helper()
	sent, err := waitJS(c.pub.Ctx, 5*time.Second, 100*time.Millisecond,
		fmt.Sprintf(`window.__wire.sent('unpublish').filter(m => m.data.trackId === %q).length`, trackID),
		func(n int) bool { return n == 1 })
	if err != nil {
		t.Errorf("publisher: want one unpublish for %s: %v (saw %d)", trackID, err, sent)
	}
	state, err := waitJS(c.pub.Ctx, 5*time.Second, 100*time.Millisecond, `({
	  pressed: document.getElementById('toggle-screen').getAttribute('aria-pressed'),
	  localTile: !!document.querySelector('#grid > .tile[data-tile-id="local-screen"]'),
	  id: window.huddle.screenTrackId()})`, func(v struct {
		Pressed   string  `json:"pressed"`
		LocalTile bool    `json:"localTile"`
		ID        *string `json:"id"`
	}) bool {
		return v.Pressed == "false" && !v.LocalTile && v.ID == nil
	})
	if err != nil {
		t.Errorf("publisher after stopping the share: %v (saw %+v)", err, state)
	}
	tiles, err := waitJS(c.sub.Ctx, 10*time.Second, 100*time.Millisecond, remoteTilesJS, func(v []remoteTile) bool {
		for _, tl := range v {
			if tl.Screen {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Errorf("subscriber: screen tile still shown after the share stopped: %v (tiles %+v)", err, tiles)
	}
	for _, tl := range tiles {
		if tl.Featured {
			t.Errorf("subscriber: tile %s still featured after the share stopped", tl.TileID)
		}
	}
}

// checkPhoneLayout checks tb's call screen at a small phone's size (four
// control buttons, "Stop share" among them) and restores the laptop size.
func checkPhoneLayout(t *testing.T, tb *tab, dir, name string) {
	t.Helper()
	emulatePhone(t, tb, 360, 740)
	checkLayout(t, tb, "phone 360x740")
	if path, err := saveScreenshot(tb.Ctx, dir, name+"-phone-360x740"); err == nil {
		t.Logf("phone-width screenshot of tab %s: %s", tb.Name, path)
	}
	if err := chromedp.Do(tb.Ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("restoring the laptop viewport: %v", err)
	}
}
