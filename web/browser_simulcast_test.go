package web_test

// Simulcast in the browser client: the camera goes out as three encodings
// (q, h, f), the subscriber's adaptive stream describes its tiles to the
// server, and a subscriber that asks for a layer gets it. The first test
// checks everything the client does by itself (what it encodes and declares,
// what it sends, how it shows server messages); the second needs the
// server's layer selection.

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// localEncoding is one entry of window.huddle.localVideoStats().
type localEncoding struct {
	TrackID       string  `json:"trackId"`
	Source        string  `json:"source"`
	RID           string  `json:"rid"`
	FrameWidth    int64   `json:"frameWidth"`
	FrameHeight   int64   `json:"frameHeight"`
	FramesEncoded int64   `json:"framesEncoded"`
	FPS           float64 `json:"framesPerSecond"`
	Active        bool    `json:"active"`
	MaxBitrate    int64   `json:"maxBitrate"`
	MaxFramerate  float64 `json:"maxFramerate"`
	Limitation    string  `json:"qualityLimitationReason"`
}

// remoteVideo is one entry of window.huddle.remoteVideoStats().
type remoteVideo struct {
	TrackID       string  `json:"trackId"`
	ParticipantID string  `json:"participantId"`
	Source        string  `json:"source"`
	FrameWidth    int64   `json:"frameWidth"`
	FrameHeight   int64   `json:"frameHeight"`
	FramesDecoded int64   `json:"framesDecoded"`
	FPS           float64 `json:"framesPerSecond"`
	Layer         string  `json:"layer"`
	State         string  `json:"state"`
	Reason        string  `json:"reason"`
}

// remoteTile is one entry of window.huddle.remoteTiles().
type remoteTile struct {
	ParticipantID string `json:"participantId"`
	TileID        string `json:"tileId"`
	Screen        bool   `json:"screen"`
	TrackID       string `json:"trackId"`
	VideoWidth    int64  `json:"videoWidth"`
	VideoHeight   int64  `json:"videoHeight"`
	Pinned        bool   `json:"pinned"`
	Featured      bool   `json:"featured"`
	Speaking      bool   `json:"speaking"`
	StreamState   string `json:"streamState"`
	Quality       string `json:"quality"`
	QualityTitle  string `json:"qualityTitle"`
	VideoCause    string `json:"videoCause"`
	Layer         string `json:"layer"`
	Notice        string `json:"notice"`
	Priority      string `json:"priority"`
}

const (
	localVideoStatsJS  = `window.huddle ? window.huddle.localVideoStats() : []`
	remoteVideoStatsJS = `window.huddle ? window.huddle.remoteVideoStats() : []`
	remoteTilesJS      = `window.huddle ? window.huddle.remoteTiles() : []`
)

// simulcastCall is a room with a publisher tab (fake camera, simulcast) and
// a receive-only subscriber tab, both with the wire tap installed.
type simulcastCall struct {
	pub, sub *tab
	pubID    string // the publisher's participant id
	camTrack string // the server's id of the publisher's camera track
	dir      string // screenshots
}

// startSimulcastCall joins the publisher, waits for its camera track id,
// then joins the subscriber and waits until it decodes that camera.
// pubDrops are server message types the publisher's client never sees.
func startSimulcastCall(t *testing.T, room string, pubDrops ...string) *simulcastCall {
	t.Helper()
	browser := startBrowser(t)
	n := startNode(t, "")
	c := &simulcastCall{dir: artifactsDir(t)}
	c.pub = openTab(t, browser, "pub")
	c.sub = openTab(t, browser, "sub")
	drop := ""
	if len(pubDrops) > 0 {
		b, _ := json.Marshal(pubDrops)
		drop = fmt.Sprintf("\nwindow.__wire.drop(...%s);", b)
	}
	installScript(t, c.pub, wireTapJS+drop)
	// Receive-only: one encoder on this 2-core machine is enough.
	installScript(t, c.sub, denyMediaJS)
	installScript(t, c.sub, wireTapJS)

	if err := c.pub.Navigate(joinURL(n.URL(), room, "Publisher"), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	ids, err := waitJS(c.pub.Ctx, 20*time.Second, 100*time.Millisecond,
		`window.huddle ? [window.huddle.participantId || '', window.huddle.cameraTrackId() || ''] : ['', '']`,
		func(v []string) bool { return len(v) == 2 && v[0] != "" && v[1] != "" })
	if err != nil {
		t.Fatalf("publisher: no camera track id after joining: %v (saw %q)", err, ids)
	}
	c.pubID, c.camTrack = ids[0], ids[1]

	if err := c.sub.Navigate(joinURL(n.URL(), room, "Subscriber"), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.waitRemote(20*time.Second, func(v remoteVideo) bool { return v.FrameWidth > 0 }); err != nil {
		t.Fatalf("subscriber: never decoded the publisher's camera: %v", err)
	}
	return c
}

// waitRemote waits until the subscriber's stats for the camera track satisfy
// cond in two consecutive samples with framesDecoded rising between them, and
// returns the second sample.
func (c *simulcastCall) waitRemote(timeout time.Duration, cond func(remoteVideo) bool) (remoteVideo, error) {
	var prev *remoteVideo
	var last remoteVideo
	deadline := time.Now().Add(timeout)
	for {
		all, err := evalJS[[]remoteVideo](c.sub.Ctx, remoteVideoStatsJS)
		if err == nil {
			found := false
			for _, v := range all {
				if v.TrackID != c.camTrack {
					continue
				}
				found, last = true, v
				if cond(v) {
					if prev != nil && v.FramesDecoded > prev.FramesDecoded {
						return v, nil
					}
					p := v
					prev = &p
				} else {
					prev = nil
				}
			}
			if !found {
				prev = nil
			}
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("not met within %v (last sample %+v, err %v)", timeout, last, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// near reports whether got is within 6% of want.
func near(got, want int64) bool {
	return math.Abs(float64(got-want)) <= 0.06*float64(want)
}

// TestBrowserSimulcastPublish checks the client side of simulcast with the
// server's dynacast messages kept from the publisher (the test plays them):
// three encodings at the right sizes, declared in publish_offer; dynacast
// turns encodings off and on; the subscriber's adaptive stream sends its
// tile's size, priority and visibility; stream_state and active_speakers
// show on the tiles.
func TestBrowserSimulcastPublish(t *testing.T) {
	c := startSimulcastCall(t, "simulcast-client", "publisher_layers")

	// 1. Three encodings at a quarter, half and full size of 1280x720. Chrome's own bandwidth estimate
	// starts low and holds f back (qualityLimitationReason "bandwidth") until it has ramped up, so wait
	// for every layer to encode at a steady frame rate.
	want := map[string][2]int64{"q": {320, 180}, "h": {640, 360}, "f": {1280, 720}}
	encoding := func(v []localEncoding) map[string]bool {
		ok := map[string]bool{}
		for _, e := range v {
			if w, found := want[e.RID]; found && e.Source == "camera" && e.FPS >= 10 && near(e.FrameWidth, w[0]) && near(e.FrameHeight, w[1]) {
				ok[e.RID] = true
			}
		}
		return ok
	}
	start := time.Now()
	encs, err := waitJS(c.pub.Ctx, 25*time.Second, 250*time.Millisecond, localVideoStatsJS, func(v []localEncoding) bool {
		return len(encoding(v)) == 3
	})
	if err != nil {
		// Chrome may hold f back longer when the machine is busy: its delay-based congestion control
		// reads a starved loopback as congestion, or its encoder scales down for want of CPU. That is
		// the browser's decision, not the client's: accept it only with Chrome's own evidence.
		encs, err = heldBackByBrowser(c, encoding)
		if err != nil {
			t.Fatalf("publisher: want three encodings q/h/f at 320x180, 640x360, 1280x720: %v (saw %s)", err, describeEncodings(encs))
		}
		t.Logf("publisher: Chrome holds f back by itself: %s", describeEncodings(encs))
	} else {
		t.Logf("publisher encodes all three layers %v after the subscriber decoded: %s", time.Since(start).Round(time.Millisecond), describeEncodings(encs))
	}
	time.Sleep(time.Second)
	later, err := evalJS[[]localEncoding](c.pub.Ctx, localVideoStatsJS)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range encs {
		if e.FramesEncoded == 0 {
			continue // held back by the browser (above)
		}
		if l := findEncoding(later, e.RID); l == nil || l.FramesEncoded <= e.FramesEncoded {
			t.Errorf("publisher: rid %s stopped encoding (frames %d then %+v)", e.RID, e.FramesEncoded, l)
		}
	}

	checkDeclaredLayers(t, c)
	top := "f"
	if !encoding(encs)["f"] {
		top = "h"
	}
	checkDynacast(t, c, top)
	checkAdaptiveStream(t, c)
	checkStreamStateNotice(t, c)
	checkSpeakers(t, c)
}

// checkAdaptiveStream: the subscriber describes the publisher's tile with
// track_settings: its size in device pixels, priority high once pinned,
// paused while out of sight; and a track set by hand is left alone.
func checkAdaptiveStream(t *testing.T, c *simulcastCall) {
	t.Helper()
	waitSettings := func(what string, cond func(trackSettingsMsg) bool) trackSettingsMsg {
		t.Helper()
		var last trackSettingsMsg
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			msgs, err := sentTrackSettings(c.sub, c.camTrack)
			if err == nil && len(msgs) > 0 {
				last = msgs[len(msgs)-1]
				if cond(last) {
					return last
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("adaptive stream: %s: last track_settings %+v", what, last)
		return last
	}
	tileSize := func() (w, h int64) {
		v, err := evalJS[[]int64](c.sub.Ctx, fmt.Sprintf(`(() => {
		  const v = document.querySelector('.tile[data-track-id=%q] video');
		  const r = v.getBoundingClientRect();
		  return [Math.round(r.width * devicePixelRatio), Math.round(r.height * devicePixelRatio)];
		})()`, c.camTrack))
		if err != nil || len(v) != 2 {
			t.Fatalf("reading the tile's size: %v", err)
		}
		return v[0], v[1]
	}

	w, h := tileSize()
	s := waitSettings("want the tile's size, priority normal, not paused", func(s trackSettingsMsg) bool {
		return !s.Paused && s.Priority == "normal" && near(int64(s.Width), w) && near(int64(s.Height), h)
	})
	t.Logf("adaptive stream: %+v for a tile of %dx%d device px", s, w, h)

	// Pinning makes the tile featured (larger) and its priority high.
	clickJS := fmt.Sprintf(`(document.querySelector('.tile[data-track-id=%q] .tile__pin').click(), true)`, c.camTrack)
	if _, err := evalJS[bool](c.sub.Ctx, clickJS); err != nil {
		t.Fatalf("clicking the pin button: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	w, h = tileSize()
	s = waitSettings("after pinning, want priority high and the larger size", func(s trackSettingsMsg) bool {
		return !s.Paused && s.Priority == "high" && near(int64(s.Width), w) && near(int64(s.Height), h)
	})
	t.Logf("adaptive stream after pinning: %+v", s)
	checkLayout(t, c.sub, "laptop 1280x800 with a pinned tile")
	if path, err := saveScreenshot(c.sub.Ctx, c.dir, "simulcast-pinned"); err == nil {
		t.Logf("screenshot with the publisher pinned: %s", path)
	}
	if _, err := evalJS[bool](c.sub.Ctx, clickJS); err != nil {
		t.Fatalf("clicking the pin button again: %v", err)
	}
	waitSettings("after unpinning, want priority normal", func(s trackSettingsMsg) bool { return s.Priority == "normal" })

	// Out of sight (moved below the stage's visible area): paused; back: resumed.
	move := func(y int) {
		t.Helper()
		if _, err := evalJS[bool](c.sub.Ctx, fmt.Sprintf(`(document.querySelector('.tile[data-track-id=%q]').style.transform = %q, true)`,
			c.camTrack, fmt.Sprintf("translateY(%dpx)", y))); err != nil {
			t.Fatalf("moving the tile: %v", err)
		}
	}
	move(4000)
	s = waitSettings("out of sight, want paused", func(s trackSettingsMsg) bool { return s.Paused })
	move(0)
	start := time.Now()
	waitSettings("back in sight, want resumed", func(s trackSettingsMsg) bool { return !s.Paused })
	t.Logf("adaptive stream: paused while out of sight, resumed %v after it came back", time.Since(start).Round(time.Millisecond))

	// A track set by hand stays as set: pinning (priority and size change)
	// must not produce another message for it.
	if ok, err := evalJS[bool](c.sub.Ctx, fmt.Sprintf(`window.huddle.setTrackSettings(%q, {maxLayer: 'h'})`, c.camTrack)); err != nil || !ok {
		t.Fatalf("setTrackSettings: ok=%v err=%v", ok, err)
	}
	msgs, _ := sentTrackSettings(c.sub, c.camTrack)
	if n := len(msgs); n == 0 || msgs[n-1].MaxLayer != "h" || msgs[n-1].Width != 0 {
		t.Fatalf("setTrackSettings: last track_settings = %+v, want exactly {maxLayer: h}", msgs)
	}
	count := len(msgs)
	if _, err := evalJS[bool](c.sub.Ctx, clickJS); err != nil {
		t.Fatal(err)
	}
	time.Sleep(800 * time.Millisecond)
	msgs, _ = sentTrackSettings(c.sub, c.camTrack)
	if len(msgs) != count {
		t.Errorf("adaptive stream overrode settings made by hand: %+v", msgs[count:])
	}
	if _, err := evalJS[bool](c.sub.Ctx, clickJS); err != nil { // unpin again
		t.Fatal(err)
	}
}

// checkStreamStateNotice: what the server says of a received video (stream_state, injected here so
// the server's own estimate cannot interfere) is told as one story (issue 14 item 7): paused for our
// downlink shows an announced notice, caps the quality mark at poor and says the same in its tooltip
// and in the stats panel; held at a lower layer by the sender says so without blaming our connection;
// active again clears the notice and records the layer.
func checkStreamStateNotice(t *testing.T, c *simulcastCall) {
	t.Helper()
	tileOf := func(tiles []remoteTile) *remoteTile {
		for i := range tiles {
			if tiles[i].TrackID == c.camTrack {
				return &tiles[i]
			}
		}
		return nil
	}
	statsPanelText := func() string {
		txt, _ := evalJS[string](c.sub.Ctx, `(document.getElementById('stats-panel').hidden && document.getElementById('toggle-stats').click(), document.getElementById('stats-body').innerText)`)
		return txt
	}
	// The stats panel re-renders on each sample (about a second): wait for it to tell the story.
	waitPanel := func(want string) {
		t.Helper()
		if _, err := waitJS(c.sub.Ctx, 5*time.Second, 200*time.Millisecond, `document.getElementById('stats-body').innerText`,
			func(s string) bool { return strings.Contains(s, want) }); err != nil {
			t.Errorf("stats panel does not say %q: %v\n%s", want, err, statsPanelText())
		}
	}
	statsPanelText() // open it
	// While the injected states are checked, the server's own (its allocation may change meanwhile) are
	// held back, so what the page shows follows from what the test said alone.
	if _, err := evalJS[bool](c.sub.Ctx, `window.__wire.drop('stream_state')`); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = evalJS[bool](c.sub.Ctx, `window.__wire.undrop('stream_state')`) }()

	wireInject(t, c.sub, "stream_state", map[string]string{"trackId": c.camTrack, "state": "paused", "reason": "bandwidth"})
	const notice = "Video paused \u2014 your connection is too weak for it"
	const story = pausedForDownlink
	tiles, err := waitJS(c.sub.Ctx, 5*time.Second, 100*time.Millisecond, remoteTilesJS, func(v []remoteTile) bool {
		tl := tileOf(v)
		return tl != nil && tl.StreamState == "paused" && tl.Notice == notice && tl.Quality == "poor"
	})
	if err != nil {
		t.Fatalf("stream_state paused for bandwidth: want the notice and a poor quality mark: %v (tiles %+v)", err, tiles)
	}
	if tl := tileOf(tiles); !strings.Contains(tl.QualityTitle, story) || tl.VideoCause != "downlink" {
		t.Errorf("paused for bandwidth: the quality mark's words %q / cause %q do not tell the notice's story", tl.QualityTitle, tl.VideoCause)
	}
	waitPanel(story)
	role, _ := evalJS[string](c.sub.Ctx, fmt.Sprintf(`(() => {
	  const n = document.querySelector('.tile[data-track-id=%q] .tile__notice');
	  const r = n.getBoundingClientRect();
	  return r.width > 0 && r.height > 0 ? n.getAttribute('role') : 'invisible';
	})()`, c.camTrack))
	if role != "status" {
		t.Errorf("paused notice: role/visibility %q, want a visible role=status element", role)
	}
	stats, _ := evalJS[[]remoteVideo](c.sub.Ctx, remoteVideoStatsJS)
	for _, s := range stats {
		if s.TrackID == c.camTrack && (s.State != "paused" || s.Reason != "bandwidth") {
			t.Errorf("remoteVideoStats after paused stream_state: %+v", s)
		}
	}
	if path, err := saveScreenshot(c.sub.Ctx, c.dir, "simulcast-paused-notice"); err == nil {
		t.Logf("screenshot of the paused notice: %s", path)
	}

	// The sender sends no better: no notice, and the mark is not lowered on our account.
	wireInject(t, c.sub, "stream_state", map[string]string{"trackId": c.camTrack, "state": "active", "layer": "q", "limit": "publisher"})
	tiles, err = waitJS(c.sub.Ctx, 5*time.Second, 100*time.Millisecond, remoteTilesJS, func(v []remoteTile) bool {
		tl := tileOf(v)
		return tl != nil && tl.StreamState == "active" && tl.Notice == "" && tl.VideoCause == "sender" && tl.Quality != "" && tl.Quality != "poor"
	})
	if err != nil {
		t.Errorf("stream_state limited by the publisher: want no notice and the measured mark: %v (tiles %+v)", err, tiles)
	}
	waitPanel("Lower quality: the sender is not sending more")

	wireInject(t, c.sub, "stream_state", map[string]string{"trackId": c.camTrack, "state": "active", "layer": "h"})
	tiles, err = waitJS(c.sub.Ctx, 5*time.Second, 100*time.Millisecond, remoteTilesJS, func(v []remoteTile) bool {
		tl := tileOf(v)
		return tl != nil && tl.StreamState == "active" && tl.Notice == "" && tl.Layer == "h" && tl.VideoCause == ""
	})
	if err != nil {
		t.Fatalf("stream_state active: want the notice gone and layer h: %v (tiles %+v)", err, tiles)
	}
	stats, _ = evalJS[[]remoteVideo](c.sub.Ctx, remoteVideoStatsJS)
	for _, s := range stats {
		if s.TrackID == c.camTrack && (s.State != "active" || s.Layer != "h") {
			t.Errorf("remoteVideoStats after active stream_state: %+v", s)
		}
	}
	if _, err := evalJS[bool](c.sub.Ctx, `(document.getElementById('toggle-stats').click(), true)`); err != nil {
		t.Errorf("closing the stats panel: %v", err)
	}
}

// checkSpeakers: active_speakers outlines the speaking tiles (ours too) and
// an empty list clears them. The subscriber never speaks (no microphone), so
// the server cannot contradict what is injected about it.
func checkSpeakers(t *testing.T, c *simulcastCall) {
	t.Helper()
	subID, err := evalJS[string](c.sub.Ctx, `window.huddle.participantId`)
	if err != nil {
		t.Fatal(err)
	}
	const viewJS = `({local: document.querySelector('#grid > .tile--local').classList.contains('tile--speaking'),
	  speakers: window.huddle.speakers().map(s => s.participantId)})`
	type view struct {
		Local    bool     `json:"local"`
		Speakers []string `json:"speakers"`
	}
	// The publisher's fake microphone beeps, so the server sends its own speaker lists: hold them back
	// while the injected ones are checked.
	if _, err := evalJS[bool](c.sub.Ctx, `window.__wire.drop('active_speakers')`); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = evalJS[bool](c.sub.Ctx, `window.__wire.undrop('active_speakers')`) }()
	wireInject(t, c.sub, "active_speakers", map[string]any{"speakers": []map[string]any{
		{"participantId": subID, "level": 0.8}, {"participantId": c.pubID, "level": 0.3}}})
	v, err := waitJS(c.sub.Ctx, 3*time.Second, 100*time.Millisecond, viewJS, func(v view) bool {
		return v.Local && len(v.Speakers) == 2 && v.Speakers[0] == subID
	})
	if err != nil {
		t.Fatalf("active_speakers: want our tile outlined and speakers() = [us, publisher]: %v (saw %+v)", err, v)
	}
	tiles, _ := evalJS[[]remoteTile](c.sub.Ctx, remoteTilesJS)
	for _, tl := range tiles {
		if tl.ParticipantID == c.pubID && !tl.Screen && !tl.Speaking {
			t.Errorf("active_speakers: the publisher's tile is not outlined: %+v", tl)
		}
	}
	if path, err := saveScreenshot(c.sub.Ctx, c.dir, "simulcast-speaking"); err == nil {
		t.Logf("screenshot with speaking outlines: %s", path)
	}
	wireInject(t, c.sub, "active_speakers", map[string]any{"speakers": []any{}})
	if v, err := waitJS(c.sub.Ctx, 3*time.Second, 100*time.Millisecond, viewJS, func(v view) bool {
		return !v.Local
	}); err != nil {
		t.Errorf("active_speakers []: want our outline gone: %v (saw %+v)", err, v)
	}
}

// logStreamStates logs the stream_state and publisher_layers messages of the
// call, which explain a failed switch.
func logStreamStates(t *testing.T, c *simulcastCall) {
	for _, m := range []struct {
		tb  *tab
		typ string
	}{{c.sub, "stream_state"}, {c.pub, "publisher_layers"}} {
		msgs, err := wireReceived(m.tb, m.typ)
		if err != nil {
			t.Logf("tab %s: reading %s messages: %v", m.tb.Name, m.typ, err)
			continue
		}
		for _, msg := range msgs {
			t.Logf("tab %s received %s %s", m.tb.Name, m.typ, msg.Data)
		}
		if len(msgs) == 0 {
			t.Logf("tab %s received no %s", m.tb.Name, m.typ)
		}
	}
}
