package web_test

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// clientView is what the test reads from window.huddle in one sample.
type clientView struct {
	State       string `json:"state"`
	Participant string `json:"participantId"`
	Stats       []struct {
		TrackID       string `json:"trackId"`
		Kind          string `json:"kind"`
		FramesDecoded int64  `json:"framesDecoded"`
		FrameWidth    int64  `json:"frameWidth"`
		FrameHeight   int64  `json:"frameHeight"`
		BytesReceived int64  `json:"bytesReceived"`
	} `json:"stats"`
	Tiles []struct {
		ParticipantID string `json:"participantId"`
		Name          string `json:"name"`
		VideoWidth    int64  `json:"videoWidth"`
		VideoHeight   int64  `json:"videoHeight"`
	} `json:"tiles"`
	Banners []string `json:"banners"`
}

const clientViewJS = `(async () => {
  const h = window.huddle;
  if (!h) return {state: 'loading', stats: [], tiles: [], banners: []};
  return {state: h.state, participantId: h.participantId, stats: await h.stats(),
          tiles: h.remoteTiles(), banners: h.banners()};
})()`

// video returns the decoded-frame count and width of the first video track
// received, or zeros.
func (v clientView) video() (frames, width, height int64) {
	for _, s := range v.Stats {
		if s.Kind == "video" {
			return s.FramesDecoded, s.FrameWidth, s.FrameHeight
		}
	}
	return 0, 0, 0
}

func (v clientView) remoteVideoWidth() int64 {
	for _, tl := range v.Tiles {
		if tl.VideoWidth > 0 {
			return tl.VideoWidth
		}
	}
	return 0
}

// tabResult is what one tab measured while waiting for media.
type tabResult struct {
	joinedAfter    time.Duration // page load start -> state "joined"
	firstFrameWait time.Duration // state "joined" -> first decoded remote video frame
	last           clientView
	err            error
}

// watchTab loads pageURL in tb and samples window.huddle until the tab
// decodes the other participant's video: framesDecoded rising across two
// samples, frameWidth > 0, and a remote tile with a picture.
func watchTab(tb *tab, pageURL string, timeout time.Duration) tabResult {
	var res tabResult
	start := time.Now()
	if err := tb.Navigate(pageURL, timeout); err != nil {
		res.err = err
		return res
	}
	var joinedAt time.Time
	var prevFrames int64 = -1
	deadline := start.Add(timeout)
	for {
		v, err := evalJS[clientView](tb.Ctx, clientViewJS)
		now := time.Now()
		if err == nil {
			res.last = v
			if v.State == "joined" && joinedAt.IsZero() {
				joinedAt = now
				res.joinedAfter = now.Sub(start)
			}
			frames, width, _ := v.video()
			if frames > 0 && res.firstFrameWait == 0 && !joinedAt.IsZero() {
				res.firstFrameWait = now.Sub(joinedAt)
			}
			if prevFrames >= 0 && frames > prevFrames && width > 0 && v.remoteVideoWidth() > 0 {
				return res
			}
			if frames > 0 {
				prevFrames = frames
			}
			if v.State == "left" {
				res.err = fmt.Errorf("tab %s: client left the room (banners: %q)", tb.Name, v.Banners)
				return res
			}
		}
		if now.After(deadline) {
			res.err = fmt.Errorf("tab %s: no decoded remote video within %v (last error: %v)", tb.Name, timeout, err)
			return res
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserTwoTabsDecodeEachOther joins two Chromium tabs to one room
// through the bundled client and checks that each decodes the other's fake
// camera, then checks the call screen's layout at laptop and phone size.
func TestBrowserTwoTabsDecodeEachOther(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "")
	dir := artifactsDir(t)

	const room = "t1"
	tabs := []*tab{openTab(t, browser, "A"), openTab(t, browser, "B")}
	results := make([]tabResult, len(tabs))
	var wg sync.WaitGroup
	for i, tb := range tabs {
		q := url.Values{"room": {room}, "name": {tb.Name}, "autojoin": {"1"}}
		pageURL := n.URL() + "/?" + q.Encode()
		wg.Go(func() { results[i] = watchTab(tb, pageURL, 30*time.Second) })
	}
	wg.Wait()

	failed := false
	for i, tb := range tabs {
		r := results[i]
		frames, w, h := r.last.video()
		t.Logf("tab %s: state=%s participant=%s joined %v after load start; first remote frame %v after join; now %d frames at %dx%d; tiles=%+v",
			tb.Name, r.last.State, r.last.Participant, r.joinedAfter.Round(time.Millisecond),
			r.firstFrameWait.Round(time.Millisecond), frames, w, h, r.last.Tiles)
		if r.err != nil {
			t.Errorf("%v; last view: %+v", r.err, r.last)
			failed = true
		}
	}
	// Screenshots help most when something failed, so take them either way.
	for _, tb := range tabs {
		if path, err := saveScreenshot(tb.Ctx, dir, "two-tabs-"+tb.Name); err != nil {
			t.Errorf("%v", err)
		} else {
			t.Logf("screenshot of tab %s: %s", tb.Name, path)
		}
	}
	if failed {
		return
	}

	checkLayout(t, tabs[0], "laptop 1280x800")

	// Phone width: the grid must re-flow to one column with the controls
	// still on screen.
	phone := tabs[0]
	if err := chromedp.Do(phone.Ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatalf("emulating a phone viewport: %v", err)
	}
	// Let the ResizeObserver re-layout and the video paint at its new size.
	if _, err := waitJS(phone.Ctx, 5*time.Second, 100*time.Millisecond,
		`window.innerWidth === 390 && document.querySelectorAll('#grid > .tile').length`,
		func(n int) bool { return n >= 2 }); err != nil {
		t.Fatalf("phone viewport not applied: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	checkLayout(t, phone, "phone 390x844")
	if path, err := saveScreenshot(phone.Ctx, dir, "two-tabs-A-phone-390x844"); err != nil {
		t.Errorf("%v", err)
	} else {
		t.Logf("phone-width screenshot of tab %s: %s", phone.Name, path)
	}
	if err := chromedp.Do(phone.Ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("restoring the laptop viewport: %v", err)
	}

	a, b := tabs[0], tabs[1]
	aID := results[0].last.Participant
	checkMuteSeenByOther(t, a, b, aID, dir)
	checkLeaveSeenByOther(t, b, a, dir)
}

// remoteTileJS evaluates to facts about the tile of participant id.
func remoteTileJS(id string) string {
	return fmt.Sprintf(`(() => {
  const t = document.querySelector('#grid > .tile[data-participant-id=%q]');
  if (!t) return {present: false};
  return {present: true, micMuted: !t.querySelector('.tile__mic').hidden,
          noVideo: t.classList.contains('tile--no-video')};
})()`, id)
}

type tileFacts struct {
	Present  bool `json:"present"`
	MicMuted bool `json:"micMuted"`
	NoVideo  bool `json:"noVideo"`
}

// checkMuteSeenByOther mutes from's microphone and camera with the control
// buttons and waits for viewer to show the muted badge and the avatar
// (driven by track_muted), then unmutes and waits for both to clear.
func checkMuteSeenByOther(t *testing.T, from, viewer *tab, fromID, dir string) {
	t.Helper()
	click := func(id string) {
		t.Helper()
		if _, err := evalJS[bool](from.Ctx, fmt.Sprintf(`(document.getElementById(%q).click(), true)`, id)); err != nil {
			t.Fatalf("tab %s: clicking #%s: %v", from.Name, id, err)
		}
	}
	wait := func(what string, cond func(tileFacts) bool) {
		t.Helper()
		v, err := waitJS(viewer.Ctx, 10*time.Second, 100*time.Millisecond, remoteTileJS(fromID), cond)
		if err != nil {
			t.Fatalf("tab %s: %s: %v (tile: %+v)", viewer.Name, what, err, v)
		}
	}

	click("toggle-mic")
	click("toggle-cam")
	pressed, err := evalJS[[]string](from.Ctx, `['toggle-mic','toggle-cam'].map(id => document.getElementById(id).getAttribute('aria-pressed'))`)
	if err != nil || len(pressed) != 2 || pressed[0] != "true" || pressed[1] != "true" {
		t.Errorf("tab %s: after muting, aria-pressed of mic/camera = %v (err %v), want [true true]", from.Name, pressed, err)
	}
	wait("muted badge and avatar for "+from.Name, func(f tileFacts) bool { return f.Present && f.MicMuted && f.NoVideo })
	if path, err := saveScreenshot(viewer.Ctx, dir, "two-tabs-"+viewer.Name+"-sees-"+from.Name+"-muted"); err != nil {
		t.Errorf("%v", err)
	} else {
		t.Logf("screenshot of tab %s seeing %s muted with camera off: %s", viewer.Name, from.Name, path)
	}

	click("toggle-mic")
	click("toggle-cam")
	wait("badge and avatar cleared for "+from.Name, func(f tileFacts) bool { return f.Present && !f.MicMuted && !f.NoVideo })
}

// checkLeaveSeenByOther presses Leave in leaver and waits for stayer to drop
// the leaver's tile (participant_left) and for leaver to show the join screen.
func checkLeaveSeenByOther(t *testing.T, leaver, stayer *tab, dir string) {
	t.Helper()
	if _, err := evalJS[bool](leaver.Ctx, `(document.getElementById('leave').click(), true)`); err != nil {
		t.Fatalf("tab %s: clicking Leave: %v", leaver.Name, err)
	}
	if _, err := waitJS(leaver.Ctx, 5*time.Second, 100*time.Millisecond,
		`window.huddle.state === 'left' && !document.getElementById('join-screen').hidden`,
		func(ok bool) bool { return ok }); err != nil {
		t.Errorf("tab %s: after Leave, expected state 'left' and the join screen: %v", leaver.Name, err)
	}
	v, err := waitJS(stayer.Ctx, 10*time.Second, 100*time.Millisecond,
		`({tiles: window.huddle.remoteTiles().length, count: document.getElementById('call-count').textContent})`,
		func(v struct {
			Tiles int    `json:"tiles"`
			Count string `json:"count"`
		}) bool {
			return v.Tiles == 0 && v.Count == "Only you"
		})
	if err != nil {
		t.Errorf("tab %s: after %s left, want no remote tile and \"Only you\": %v (saw %+v)", stayer.Name, leaver.Name, err, v)
	}
	if path, err := saveScreenshot(leaver.Ctx, dir, "two-tabs-"+leaver.Name+"-after-leave"); err != nil {
		t.Errorf("%v", err)
	} else {
		t.Logf("screenshot of tab %s after leaving: %s", leaver.Name, path)
	}
}

// checkLayout fails the test for each layout problem the page reports.
func checkLayout(t *testing.T, tb *tab, viewport string) {
	t.Helper()
	problems, err := evalJS[[]string](tb.Ctx, layoutProblemsJS)
	if err != nil {
		t.Errorf("tab %s at %s: checking layout: %v", tb.Name, viewport, err)
		return
	}
	for _, p := range problems {
		t.Errorf("tab %s at %s: layout: %s", tb.Name, viewport, p)
	}
}
