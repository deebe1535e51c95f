package web_test

// Automatic reconnect (issue 7's contract, "Reconnect"): a server restart must
// not end a call. The clients show a "Reconnecting…" banner, rejoin by
// themselves with the join token they keep in memory (the address bar no
// longer shows it), republish with the same mute state, rebuild the room from
// the new `joined` and hide the banner once media flows again.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
)

// reconnectLogJS records, before the page's scripts run, every change of the
// reconnect banner: {at, text, role, live, height}. The banner may be on
// screen for well under a second, too short to catch by polling.
const reconnectLogJS = `window.__reconnectLog = [];
document.addEventListener('DOMContentLoaded', () => {
  const el = document.getElementById('reconnect-banner');
  if (!el) return;
  new MutationObserver(() => window.__reconnectLog.push({
    at: Date.now(), text: el.textContent, role: el.getAttribute('role'),
    live: el.getAttribute('aria-live'), height: el.getBoundingClientRect().height,
  })).observe(el, {childList: true, subtree: true, characterData: true});
});`

type bannerChange struct {
	At     float64 `json:"at"`
	Text   string  `json:"text"`
	Role   string  `json:"role"`
	Live   string  `json:"live"`
	Height float64 `json:"height"`
}

type reconnectView struct {
	Connection string `json:"connection"`
	State      string `json:"state"`
	Reconnects struct {
		Count      int     `json:"count"`
		Attempts   int     `json:"attempts"`
		LastTookMs float64 `json:"lastTookMs"`
	} `json:"reconnects"`
	Participant string       `json:"participantId"`
	Tiles       []remoteTile `json:"tiles"`
	Banner      string       `json:"banner"`
	Href        string       `json:"href"`
	MicPressed  string       `json:"micPressed"`
}

const reconnectViewJS = `(() => {
  const h = window.huddle;
  if (!h) return {connection: 'loading'};
  return {connection: h.connectionState(), state: h.state, reconnects: h.reconnects(),
          participantId: h.participantId, tiles: h.remoteTiles(),
          banner: document.getElementById('reconnect-banner').textContent, href: location.href,
          micPressed: document.getElementById('toggle-mic').getAttribute('aria-pressed')};
})()`

// TestBrowserReconnectAfterRestart: two participants joined through
// invitation links on a node that requires tokens; the node restarts on the
// same address. Both show the reconnect banner while it is down, rejoin by
// themselves once it is back, drop the old tiles, decode each other's video
// again, and keep A's microphone muted. Logs the time from the restart to
// video flowing again.
func TestBrowserReconnectAfterRestart(t *testing.T) {
	browser := startBrowser(t)
	first := startNode(t, "", withAPIKey)
	dir := artifactsDir(t)
	const room = "ward-rounds"
	a := openTab(t, browser, "A")
	b := openTab(t, browser, "B")
	people := map[*tab]string{a: "Dr Ada", b: "Nurse Bo"}
	for tb, name := range people {
		installScript(t, tb, reconnectLogJS)
		tok := first.mint(room, strings.ToLower(strings.ReplaceAll(name, " ", "-")), name, auth.RoleAttendee, nil)
		if err := tb.Navigate(joinLinkURL(first.URL(), room, tok), 15*time.Second); err != nil {
			t.Fatal(err)
		}
		// The link only fills the form: joining is the user's press.
		if _, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle ? document.getElementById('name').value : ''`,
			func(s string) bool { return s == name }); err != nil {
			t.Fatalf("tab %s: name not taken from the token: %v", tb.Name, err)
		}
		clickByID(t, tb, "join-button")
	}
	ids := map[*tab]string{}
	for _, tb := range []*tab{a, b} {
		waitState(t, tb, "joined", 15*time.Second)
		v, err := evalJS[reconnectView](tb.Ctx, reconnectViewJS)
		if err != nil {
			t.Fatal(err)
		}
		ids[tb] = v.Participant
		if strings.Contains(v.Href, "token") {
			t.Errorf("tab %s: the address bar still shows the token: %s", tb.Name, v.Href)
		}
	}
	for tb, other := range map[*tab]*tab{a: b, b: a} {
		if _, err := waitVideoFrom(tb, ids[other], 20*time.Second); err != nil {
			t.Fatalf("before the restart: %v", err)
		}
	}

	// A mutes the microphone; after the reconnect it must still be muted, for A and for B.
	clickByID(t, a, "toggle-mic")
	if f, err := waitJS(b.Ctx, 10*time.Second, 100*time.Millisecond, remoteTileJS(ids[a]),
		func(f tileFacts) bool { return f.Present && f.MicMuted }); err != nil {
		t.Fatalf("B does not see A muted before the restart: %v (%+v)", err, f)
	}

	// Restart: down for a moment (what the users see then is the banner), then back on the same address.
	addr := strings.TrimPrefix(first.URL(), "http://")
	stopAt := time.Now()
	first.Stop()
	stopped := time.Since(stopAt)
	for _, tb := range []*tab{a, b} {
		v, err := waitJS(tb.Ctx, 5*time.Second, 50*time.Millisecond, reconnectViewJS, func(v reconnectView) bool {
			return v.Connection == "reconnecting" && strings.Contains(v.Banner, "Reconnecting")
		})
		if err != nil {
			t.Fatalf("tab %s: no reconnect banner while the server is down: %v (saw %+v)", tb.Name, err, v)
		}
		if v.State != "reconnecting" {
			t.Errorf("tab %s: state %q while reconnecting, want reconnecting", tb.Name, v.State)
		}
		if path, err := saveScreenshot(tb.Ctx, dir, "reconnect-banner-"+tb.Name); err == nil {
			t.Logf("tab %s while the server is down: %s", tb.Name, path)
		}
	}
	time.Sleep(time.Second) // a restart takes a moment; the clients keep trying meanwhile
	restartAt := time.Now()
	startNode(t, addr, withAPIKey)
	startedIn := time.Since(restartAt)

	// Both come back by themselves and decode each other's (new) video.
	var wg sync.WaitGroup
	after := map[*tab]reconnectView{}
	flowing := map[*tab]time.Duration{}
	var mu sync.Mutex
	for tb, other := range map[*tab]*tab{a: b, b: a} {
		wg.Go(func() {
			v, err := waitJS(tb.Ctx, 30*time.Second, 100*time.Millisecond, reconnectViewJS, func(v reconnectView) bool {
				return v.Connection == "connected" && v.Reconnects.Count >= 1 && len(v.Tiles) == 1 && v.Tiles[0].ParticipantID != ids[other]
			})
			if err != nil {
				t.Errorf("tab %s: not back in the call with one (new) remote tile: %v (saw %+v)", tb.Name, err, v)
				return
			}
			video, err := waitVideoFrom(tb, v.Tiles[0].ParticipantID, 30*time.Second)
			if err != nil {
				t.Errorf("after the restart: %v", err)
				return
			}
			mu.Lock()
			flowing[tb] = time.Since(restartAt)
			after[tb] = v
			mu.Unlock()
			t.Logf("tab %s: video from %s flowing again %v after the new node started (%dx%d, %d frames); client: %d attempts, %.0f ms from loss to media",
				tb.Name, v.Tiles[0].ParticipantID, time.Since(restartAt).Round(time.Millisecond), video.FrameWidth, video.FrameHeight,
				video.FramesDecoded, v.Reconnects.Attempts, v.Reconnects.LastTookMs)
		})
	}
	wg.Wait()
	t.Logf("restart: old node stopped in %v, new node started in %v; video flowing again after %v (A) and %v (B) from the new node's start",
		stopped.Round(time.Millisecond), startedIn.Round(time.Millisecond), flowing[a].Round(time.Millisecond), flowing[b].Round(time.Millisecond))
	if t.Failed() {
		return
	}

	for _, tb := range []*tab{a, b} {
		v, err := evalJS[reconnectView](tb.Ctx, reconnectViewJS)
		if err != nil {
			t.Fatal(err)
		}
		if v.Participant == ids[tb] || v.Participant == "" {
			t.Errorf("tab %s: participant id %q after the reconnect, want a new one (was %q)", tb.Name, v.Participant, ids[tb])
		}
		if v.Banner != "" {
			t.Errorf("tab %s: banner %q still shown with media flowing", tb.Name, v.Banner)
		}
		log, err := evalJS[[]bannerChange](tb.Ctx, `window.__reconnectLog`)
		if err != nil {
			t.Fatal(err)
		}
		shown := false
		for _, c := range log {
			if strings.Contains(c.Text, "Reconnecting") {
				shown = true
				if c.Role != "status" || c.Live != "polite" || c.Height == 0 {
					t.Errorf("tab %s: reconnect banner %+v, want role=status aria-live=polite and visible", tb.Name, c)
				}
			}
		}
		if !shown || len(log) == 0 || log[len(log)-1].Text != "" {
			t.Errorf("tab %s: banner history %+v, want it shown and then cleared", tb.Name, log)
		}
		if path, err := saveScreenshot(tb.Ctx, dir, "reconnected-"+tb.Name); err == nil {
			t.Logf("tab %s after reconnecting: %s", tb.Name, path)
		}
	}

	// Republished with the same mute state: A's control still says muted, B sees A's new tile muted.
	if v := after[a]; v.MicPressed != "true" {
		t.Errorf("A: mic control aria-pressed %q after the reconnect, want true (still muted)", v.MicPressed)
	}
	newA, _ := evalJS[string](a.Ctx, `window.huddle.participantId`)
	if f, err := waitJS(b.Ctx, 10*time.Second, 100*time.Millisecond, remoteTileJS(newA),
		func(f tileFacts) bool { return f.Present && f.MicMuted && !f.NoVideo }); err != nil {
		t.Errorf("B: A's tile after the reconnect %+v: want video and the muted badge: %v", f, err)
	}
}

// TestBrowserNoReconnectAfterRemoval: a participant the host removed is told
// why and stays out; the client must not treat the closed socket as a
// connection to restore.
func TestBrowserNoReconnectAfterRemoval(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	dir := artifactsDir(t)
	const room = "clinic"
	tb := openTab(t, browser, "removed")
	tok := n.mint(room, "visitor", "Vic", auth.RoleAttendee, nil)
	if err := tb.Navigate(joinLinkURL(n.URL(), room, tok), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle ? document.getElementById('name').value : ''`,
		func(s string) bool { return s == "Vic" }); err != nil {
		t.Fatalf("name not filled from the token: %v", err)
	}
	clickByID(t, tb, "join-button")
	waitState(t, tb, "joined", 15*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.admin().RemoveParticipant(ctx, room, "visitor", false); err != nil {
		t.Fatalf("removing the participant: %v", err)
	}
	type view struct {
		Connection string   `json:"connection"`
		Attempts   int      `json:"attempts"`
		Banners    []string `json:"banners"`
		Lead       string   `json:"lead"`
		JoinShown  bool     `json:"joinShown"`
	}
	// Lead: everything the end page and any banner say, so a repeated "removed" shows.
	const viewJS = `({connection: window.huddle.connectionState(), attempts: window.huddle.reconnects().attempts,
	  banners: window.huddle.banners(), lead: document.getElementById('end-screen').innerText + ' ' + window.huddle.banners().join(' '),
	  joinShown: window.huddle.endPage().shown})`
	v, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, viewJS, func(v view) bool {
		return v.Connection == "left" && v.JoinShown && strings.Contains(v.Lead, "removed")
	})
	if err != nil {
		t.Fatalf("after removal: want the end page saying why: %v (saw %+v)", err, v)
	}
	// Longer than the first reconnect delays: nothing may have been tried.
	time.Sleep(2 * time.Second)
	v, err = evalJS[view](tb.Ctx, viewJS)
	if err != nil {
		t.Fatal(err)
	}
	if v.Attempts != 0 || v.Connection != "left" {
		t.Errorf("after removal: %d reconnect attempts, connection %q; want none and left", v.Attempts, v.Connection)
	}
	// Said once, on the end page: no banner repeating it.
	if n := strings.Count(v.Lead, "removed"); n != 1 || len(v.Banners) != 0 {
		t.Errorf("after removal: %q says \"removed\" %d times (banners %q); want once, on the end page", v.Lead, n, v.Banners)
	}
	if path, err := saveScreenshot(tb.Ctx, dir, "removed-no-reconnect"); err == nil {
		t.Logf("after removal: %s", path)
	}
}
