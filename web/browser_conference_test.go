package web_test

// A conference in the bundled client: three people in one room see each
// other, the one who speaks is highlighted, speaker view shows them large,
// pages of tiles pause the video of tiles not on screen, every tile shows its
// connection quality, and the connection details panel lists what flows.

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// conferenceTile is one entry of window.huddle.remoteTiles() with the fields this test reads.
type conferenceTile struct {
	ParticipantID string `json:"participantId"`
	TileID        string `json:"tileId"`
	Name          string `json:"name"`
	TrackID       string `json:"trackId"`
	VideoWidth    int64  `json:"videoWidth"`
	Featured      bool   `json:"featured"`
	Speaking      bool   `json:"speaking"`
	OnPage        bool   `json:"onPage"`
	Quality       string `json:"quality"`
	QualityTitle  string `json:"qualityTitle"` // the mark's tooltip: the level and the figures behind it
}

// layoutView is window.huddle.layout().
type layoutView struct {
	View     string   `json:"view"`
	Featured string   `json:"featured"`
	Page     int      `json:"page"`
	Pages    int      `json:"pages"`
	Visible  []string `json:"visible"`
}

type conference struct {
	tabs []*tab
	ids  map[*tab]string
	dir  string
}

// TestBrowserConference: three tabs in one room (dev mode). Each shows three
// tiles (two remote and its own) and decodes both others. With B's and C's
// microphones muted only A's fake microphone beeps: B and C outline A's tile
// and, in speaker view, show A large. Then pages, quality and stats.
func TestBrowserConference(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "")
	c := &conference{ids: map[*tab]string{}, dir: artifactsDir(t)}
	for _, name := range []string{"A", "B", "C"} {
		c.tabs = append(c.tabs, openTab(t, browser, name))
	}
	for _, tb := range c.tabs {
		installScript(t, tb, wireTapJS)
	}
	var wg sync.WaitGroup
	for _, tb := range c.tabs {
		wg.Go(func() {
			if err := tb.Navigate(joinURL(n.URL(), "grand-rounds", "Dr "+tb.Name), 20*time.Second); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, tb := range c.tabs {
		waitState(t, tb, "joined", 20*time.Second)
		id, err := evalJS[string](tb.Ctx, `window.huddle.participantId`)
		if err != nil || id == "" {
			t.Fatalf("tab %s: no participant id: %v", tb.Name, err)
		}
		c.ids[tb] = id
	}

	// Everyone sees three tiles and decodes the two others.
	start := time.Now()
	for _, tb := range c.tabs {
		for _, other := range c.tabs {
			if other == tb {
				continue
			}
			if _, err := waitVideoFrom(tb, c.ids[other], 30*time.Second); err != nil {
				t.Fatalf("%v", err)
			}
		}
		tiles, err := evalJS[int](tb.Ctx, `document.querySelectorAll('#grid > .tile').length`)
		if err != nil || tiles != 3 {
			t.Errorf("tab %s: %d tiles (err %v), want 3 (two remote and its own)", tb.Name, tiles, err)
		}
	}
	t.Logf("all three tabs decode both others %v after joining", time.Since(start).Round(time.Millisecond))

	c.checkActiveSpeaker(t)
	c.checkSpeakerView(t)
	c.checkPages(t)
	c.checkQuality(t)
	c.checkStatsPanel(t)
}

// checkActiveSpeaker mutes B's and C's microphones, so that A's fake
// microphone is the only one beeping, and waits for B and C to outline A's
// tile while A's list of speakers holds A alone.
func (c *conference) checkActiveSpeaker(t *testing.T) {
	t.Helper()
	a, b, cc := c.tabs[0], c.tabs[1], c.tabs[2]
	for _, tb := range []*tab{b, cc} {
		clickByID(t, tb, "toggle-mic")
	}
	for _, tb := range []*tab{b, cc} {
		// Generous: on a loaded machine the fake microphone's beeps reach the
		// server late, and the server hears speech only above about -50 dBov.
		tiles, err := waitJS(tb.Ctx, 30*time.Second, 100*time.Millisecond, `window.huddle.remoteTiles()`, func(ts []conferenceTile) bool {
			for _, tl := range ts {
				if tl.ParticipantID == c.ids[a] && tl.Speaking {
					return true
				}
			}
			return false
		})
		if err != nil {
			heard, _ := wireReceived(tb, "active_speakers")
			t.Fatalf("tab %s: A's tile never highlighted as speaking: %v (tiles %+v; active_speakers received: %d, last %s)",
				tb.Name, err, tiles, len(heard), lastData(heard))
		}
	}
	// Only A speaks: the server's list (the same for everyone) names A alone.
	speakers, err := waitJS(a.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle.speakers().map(s => s.participantId)`,
		func(ids []string) bool { return len(ids) == 1 && ids[0] == c.ids[a] })
	if err != nil {
		t.Errorf("speakers %q, want only A (%s) once B and C are muted: %v", speakers, c.ids[a], err)
	}
	// In A's own view the others are not outlined (their microphones are muted).
	if tiles, err := evalJS[[]conferenceTile](a.Ctx, `window.huddle.remoteTiles()`); err == nil {
		for _, tl := range tiles {
			if tl.Speaking {
				t.Errorf("tab A: muted participant %s outlined as speaking", tl.Name)
			}
		}
	}
	if path, err := saveScreenshot(b.Ctx, c.dir, "conference-grid-B-A-speaking"); err == nil {
		t.Logf("B's grid with A speaking: %s", path)
	}
}

// checkSpeakerView switches B to speaker view with its header button: A (who
// speaks) becomes the large tile, the others a strip under it.
func (c *conference) checkSpeakerView(t *testing.T) {
	t.Helper()
	a, b := c.tabs[0], c.tabs[1]
	clickByID(t, b, "toggle-layout")
	l, err := waitJS(b.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle.layout()`,
		func(l layoutView) bool { return l.View == "speaker" && l.Featured == c.ids[a] })
	if err != nil {
		t.Fatalf("tab B: speaker view does not feature A (%s): %v (layout %+v)", c.ids[a], err, l)
	}
	type sizes struct {
		Pressed  string    `json:"pressed"`
		Featured float64   `json:"featured"`
		Others   []float64 `json:"others"`
	}
	s, err := waitJS(b.Ctx, 5*time.Second, 100*time.Millisecond, `(() => {
	  const tiles = [...document.querySelectorAll('#grid > .tile')];
	  const f = tiles.find(t => t.classList.contains('tile--featured'));
	  return {pressed: document.getElementById('toggle-layout').getAttribute('aria-pressed'),
	          featured: f ? f.getBoundingClientRect().width : 0,
	          others: tiles.filter(t => t !== f).map(t => t.getBoundingClientRect().width)};
	})()`, func(s sizes) bool { return s.Featured > 0 && len(s.Others) == 2 })
	if err != nil {
		t.Fatalf("tab B: speaker view layout: %v (saw %+v)", err, s)
	}
	for _, w := range s.Others {
		if w*1.5 > s.Featured {
			t.Errorf("tab B: speaker view: featured tile %.0f px wide, a strip tile %.0f px: want the speaker much larger", s.Featured, w)
		}
	}
	if s.Pressed != "true" {
		t.Errorf("tab B: layout button aria-pressed %q in speaker view, want true", s.Pressed)
	}
	checkLayout(t, b, "speaker view 1280x800")
	if path, err := saveScreenshot(b.Ctx, c.dir, "conference-speaker-view-B"); err == nil {
		t.Logf("B in speaker view: %s", path)
	}
	clickByID(t, b, "toggle-layout")
	if l, err := waitJS(b.Ctx, 5*time.Second, 100*time.Millisecond, `window.huddle.layout()`,
		func(l layoutView) bool { return l.View == "grid" && l.Featured == "" }); err != nil {
		t.Errorf("tab B: back to the grid: %v (layout %+v)", err, l)
	}
}

// checkPages gives C pages of two tiles: the remote tile off the page is
// hidden and its video paused on the server (track_settings paused,
// stream_state paused by the subscriber); turning the page shows it and its
// video flows again, while the one now off the page is paused. Which tile is
// off the page is read at every poll, not once: the client brings a speaker
// who is out of sight to the first page (grid.bringForward), and the fake
// microphones of the tabs take turns at speaking.
func (c *conference) checkPages(t *testing.T) {
	t.Helper()
	cc := c.tabs[2]
	l, err := evalJS[layoutView](cc.Ctx, `window.huddle.setPageSize(2)`)
	if err != nil || l.Pages != 2 || len(l.Visible) != 2 {
		t.Fatalf("tab C: pages of two: layout %+v (err %v), want 2 pages of which 2 tiles visible", l, err)
	}
	pager, err := evalJS[string](cc.Ctx, `(() => { const p = document.getElementById('pager'); return p.hidden ? '' : p.textContent.trim(); })()`)
	if err != nil || !strings.Contains(pager, "Page 1 of 2") {
		t.Errorf("tab C: pager %q (err %v), want it shown with \"Page 1 of 2\"", pager, err)
	}
	waitPagedVideo(t, cc, 0)
	if path, err := saveScreenshot(cc.Ctx, c.dir, "conference-pages-C-page1"); err == nil {
		t.Logf("C with pages of two: %s", path)
	}
	waitPagedVideo(t, cc, 1)
	if _, err := evalJS[layoutView](cc.Ctx, `window.huddle.setPageSize(0)`); err != nil {
		t.Fatal(err)
	}
}

// pagedTile is a remote tile with what the client asked of the server for its video and what arrives.
type pagedTile struct {
	Name   string `json:"name"`
	OnPage bool   `json:"onPage"`
	Sent   *bool  `json:"sent"` // the last track_settings paused, null: none sent
	State  string `json:"state"`
	Reason string `json:"reason"`
	Frames int64  `json:"frames"`
}

const pagedTilesJS = `(async () => {
  const l = window.huddle.layout();
  const stats = await window.huddle.remoteVideoStats();
  const tiles = window.huddle.remoteTiles().map((tl) => {
    const s = window.huddle.adaptiveSettings(tl.trackId);
    const v = stats.find((x) => x.trackId === tl.trackId) || {};
    return {name: tl.name, onPage: tl.onPage, sent: s ? s.paused : null, state: v.state || '',
      reason: v.reason || '', frames: v.framesDecoded || 0};
  });
  return {page: l.page, tiles};
})()`

// waitPagedVideo turns tab's grid to page (0-based; again if a speaker brought forward turned it
// back) until every remote tile off the page has its video paused by the subscriber and every one on
// it has video active and decoding more frames than at the previous poll.
func waitPagedVideo(t *testing.T, tb *tab, page int) {
	t.Helper()
	type view struct {
		Page  int         `json:"page"`
		Tiles []pagedTile `json:"tiles"`
	}
	prev := map[string]int64{}
	v, err := waitJS(tb.Ctx, 15*time.Second, 200*time.Millisecond, pagedTilesJS, func(v view) bool {
		if v.Page != page {
			button := map[bool]string{true: "next", false: "prev"}[page > v.Page]
			_, _ = evalJS[bool](tb.Ctx, fmt.Sprintf(`(document.querySelector('#pager [data-page=%q]').click(), true)`, button))
			return false
		}
		ok, off := true, 0
		for _, tl := range v.Tiles {
			rising := tl.Frames > prev[tl.Name] && prev[tl.Name] > 0
			prev[tl.Name] = tl.Frames
			if tl.OnPage {
				ok = ok && tl.Sent != nil && !*tl.Sent && tl.State == "active" && rising
			} else {
				off++
				ok = ok && tl.Sent != nil && *tl.Sent && tl.State == "paused" && tl.Reason == "subscriber"
			}
		}
		return ok && off == 1
	})
	if err != nil {
		t.Errorf("tab C on page %d: want the remote tile off the page paused by the subscriber and the one on it decoding: %v (saw %+v)", page+1, err, v)
	}
}

// qualityFiguresRE reads the figures in a quality mark's tooltip ("Connection good (0.0% loss, 2 ms
// round trip)").
var qualityFiguresRE = regexp.MustCompile(`([0-9.]+)% loss(?:, ([0-9]+) ms round trip)?`)

// levelOf is the level quality.js gives those figures: under 2 % loss and 300 ms a call feels fine, up
// to 8 % and 600 ms it stutters now and then, beyond it breaks up.
func levelOf(lossPercent float64, rttMs int) string {
	switch {
	case lossPercent < 2 && rttMs < 300:
		return "good"
	case lossPercent < 8 && rttMs < 600:
		return "fair"
	}
	return "poor"
}

// pausedForDownlink is the story (videostate.js) of a video the server paused because our downlink's
// estimate cannot carry it; the tile's mark then says "poor" whatever loss and round trip measure.
const pausedForDownlink = "Paused: your connection is too weak for this video"

// checkQuality: every tile, ours included, shows a connection-quality mark whose level is the one its
// own figures (loss and round trip, in its tooltip) give, and says it in words too. On an idle loopback
// that is "good"; on a machine busy enough to stretch the round trip past 300 ms it is "fair", and the
// mark must say so rather than claim more than its figures. A busy machine can also make the server's
// delay-based estimate of our downlink pause a video: then the mark tells that story, "poor".
func (c *conference) checkQuality(t *testing.T) {
	t.Helper()
	a := c.tabs[0]
	type view struct {
		Tiles      []conferenceTile `json:"tiles"`
		Local      string           `json:"local"`
		LocalTitle string           `json:"localTitle"`
		Words      []string         `json:"words"`
	}
	agrees := func(level, title string) bool {
		if strings.Contains(title, pausedForDownlink) {
			return level == "poor"
		}
		m := qualityFiguresRE.FindStringSubmatch(title)
		if m == nil {
			return false
		}
		loss, _ := strconv.ParseFloat(m[1], 64)
		rtt, _ := strconv.Atoi(m[2])
		return level == levelOf(loss, rtt)
	}
	v, err := waitJS(a.Ctx, 15*time.Second, 250*time.Millisecond, `({tiles: window.huddle.remoteTiles(),
	  local: document.querySelector('#grid > .tile--local').dataset.quality || '',
	  localTitle: document.querySelector('#grid > .tile--local .tile__quality').title,
	  words: [...document.querySelectorAll('#grid > .tile .tile__quality:not([hidden]) .visually-hidden')].map(e => e.textContent)})`,
		func(v view) bool {
			if !agrees(v.Local, v.LocalTitle) || len(v.Tiles) != 2 {
				return false
			}
			for _, tl := range v.Tiles {
				if !agrees(tl.Quality, tl.QualityTitle) {
					return false
				}
			}
			return true
		})
	if err != nil {
		t.Errorf("tab A: want every tile's quality mark to match its own figures: %v (saw %+v)", err, v)
	}
	want := []string{"Connection " + v.Local}
	for _, tl := range v.Tiles {
		want = append(want, "Connection "+tl.Quality)
	}
	slices.Sort(want)
	got := slices.Clone(v.Words)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("tab A: quality words for screen readers %q, want %q", v.Words, want)
	}
	if len(v.Tiles) == 2 {
		t.Logf("tab A: quality marks %s (ours), %s and %s", v.Local, v.Tiles[0].Quality, v.Tiles[1].Quality)
	}
}

// checkStatsPanel opens the connection details from the header: the sample
// lists what we send (three simulcast layers of the camera, the microphone)
// and what we receive from each other participant, with figures.
func (c *conference) checkStatsPanel(t *testing.T) {
	t.Helper()
	a := c.tabs[0]
	type row struct {
		Direction     string   `json:"direction"`
		ParticipantID *string  `json:"participantId"`
		Source        string   `json:"source"`
		Kind          string   `json:"kind"`
		Rid           string   `json:"rid"`
		Width         int64    `json:"width"`
		FPS           float64  `json:"fps"`
		Bitrate       int64    `json:"bitrate"`
		RTT           *int64   `json:"rtt"`
		Loss          *float64 `json:"loss"`
	}
	type sample struct {
		Rows []row `json:"rows"`
	}
	clickByID(t, a, "toggle-stats")
	s, err := waitJS(a.Ctx, 10*time.Second, 500*time.Millisecond, `window.huddle.statsSample()`, func(s sample) bool {
		out, in := 0, map[string]bool{}
		for _, r := range s.Rows {
			if r.Direction == "out" && r.Kind == "video" && r.Bitrate > 0 {
				out++
			}
			if r.Direction == "in" && r.Kind == "video" && r.ParticipantID != nil && r.Width > 0 && r.FPS > 0 && r.Bitrate > 0 && r.RTT != nil && r.Loss != nil {
				in[*r.ParticipantID] = true
			}
		}
		return out >= 1 && len(in) == 2
	})
	if err != nil {
		t.Errorf("tab A: stats sample %+v: want our camera sending and video with size, rate, bitrate, RTT and loss from both others: %v", s, err)
	}
	panel, err := waitJS(a.Ctx, 5*time.Second, 200*time.Millisecond, `(() => {
	  const p = document.getElementById('stats-panel');
	  return {open: !p.hidden, expanded: document.getElementById('toggle-stats').getAttribute('aria-expanded'),
	          text: p.textContent, rows: p.querySelectorAll('.stats-row').length};
	})()`, func(p struct {
		Open     bool   `json:"open"`
		Expanded string `json:"expanded"`
		Text     string `json:"text"`
		Rows     int    `json:"rows"`
	}) bool {
		return p.Open && p.Rows >= 4 && strings.Contains(p.Text, "Resolution")
	})
	if err != nil {
		t.Errorf("tab A: stats panel %+v: want it open with rows showing the figures: %v", panel, err)
	}
	if panel.Expanded != "true" {
		t.Errorf("tab A: stats toggle aria-expanded %q while open, want true", panel.Expanded)
	}
	for _, word := range []string{"You are sending", "From Dr B", "From Dr C", "Frame rate", "Bitrate", "Round trip", "Packet loss"} {
		if !strings.Contains(panel.Text, word) {
			t.Errorf("tab A: stats panel does not say %q", word)
		}
	}
	if path, err := saveScreenshot(a.Ctx, c.dir, "conference-stats-panel-A"); err == nil {
		t.Logf("A with the connection details: %s", path)
	}
	// Escape closes it and gives focus back to the toggle.
	closed, err := evalJS[bool](a.Ctx, `(() => {
	  document.getElementById('stats-close').focus();
	  document.getElementById('stats-panel').dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}));
	  return document.getElementById('stats-panel').hidden && document.activeElement.id === 'toggle-stats';
	})()`)
	if err != nil || !closed {
		t.Errorf("tab A: Escape in the stats panel: closed and focus back on the toggle = %v (err %v)", closed, err)
	}
}

// lastData is the data of the last message in msgs, for failure messages.
func lastData(msgs []wireMsg) string {
	if len(msgs) == 0 {
		return "none"
	}
	return string(msgs[len(msgs)-1].Data)
}
