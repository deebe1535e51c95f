package web_test

// A two-party call on a phone-sized screen (390x844) and from the keyboard
// alone: every control is on screen, none overlaps another, each has a name,
// the speaker chosen before joining plays the call, and Tab reaches every
// control in a sensible order with a visible focus ring.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// controlsProblemsJS lists what is wrong with the call's buttons (header
// tools, pager, controls bar) at the current viewport: a button cut off or
// off screen, two buttons overlapping, a button without an accessible name or
// too small to tap.
const controlsProblemsJS = `(() => {
  const p = [], vw = window.innerWidth, vh = window.innerHeight;
  const buttons = [...document.querySelectorAll('.call-header button, .pager button, .controls button')]
    .filter(b => b.offsetParent !== null);
  if (buttons.length < 5) p.push('only ' + buttons.length + ' buttons visible');
  const rects = buttons.map(b => [b, b.getBoundingClientRect()]);
  for (const [b, r] of rects) {
    const name = b.id || b.dataset.page || b.className;
    if (r.left < -1 || r.right > vw + 1 || r.top < -1 || r.bottom > vh + 1) p.push(name + ' outside the viewport: ' + JSON.stringify(r));
    if (r.width < 24 || r.height < 24) p.push(name + ' too small to tap: ' + r.width + 'x' + r.height);
    if (!(b.getAttribute('aria-label') || b.textContent).trim()) p.push(name + ' has no accessible name');
    if (b.scrollWidth > b.clientWidth + 1) p.push(name + ' text overflows');
  }
  for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) {
    const a = rects[i][1], b = rects[j][1];
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
      p.push(rects[i][0].id + ' overlaps ' + rects[j][0].id);
    }
  }
  return p;
})()`

// TestBrowserPhoneCall: A on a 390x844 phone calls B on a laptop.
func TestBrowserPhoneCall(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "")
	dir := artifactsDir(t)
	a := openTab(t, browser, "phone")
	b := openTab(t, browser, "laptop")

	// A phone's browser cannot share a screen (Android Chrome and iOS Safari have no getDisplayMedia).
	installScript(t, a, `delete MediaDevices.prototype.getDisplayMedia;`)
	// A picks a speaker before joining; the call must play through it.
	if err := a.Navigate(n.URL()+"/?room=bedside&name=Pat", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	emulatePhone(t, a, 390, 844)
	outputs, err := waitJS(a.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle ? window.huddle.devices().audiooutput : []`,
		func(d []deviceEntry) bool { return len(d) > 1 })
	if err != nil {
		t.Fatalf("phone: no speakers listed: %v", err)
	}
	speaker := outputs[len(outputs)-1].ID
	choose(t, a, "speaker-select", speaker)
	// A person on a phone scrolls down to Join; the call must not start scrolled down with them.
	if _, err := evalJS[bool](a.Ctx, `(window.scrollTo(0, document.body.scrollHeight), true)`); err != nil {
		t.Fatal(err)
	}
	clickByID(t, a, "join-button")
	if err := b.Navigate(joinURL(n.URL(), "bedside", "Dr Ada"), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	for tb, other := range map[*tab]*tab{a: b, b: a} {
		waitState(t, tb, "joined", 15*time.Second)
		id, _ := evalJS[string](other.Ctx, `window.huddle.participantId`)
		if _, err := waitVideoFrom(tb, id, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // the last layout after the remote tile's picture arrived
	if top, err := evalJS[float64](a.Ctx, `document.getElementById('call-room').getBoundingClientRect().top`); err != nil || top < 0 || top > 40 {
		t.Errorf("phone: the call screen does not start at its top: the room name is %.0f px from the top of the screen (%v)", top, err)
	}
	// Share is offered only where the browser can share a screen.
	for tb, want := range map[*tab]bool{a: false, b: true} {
		if shown, err := evalJS[bool](tb.Ctx, `!document.getElementById('toggle-screen').hidden`); err != nil || shown != want {
			t.Errorf("tab %s: Share shown = %v (%v), want %v", tb.Name, shown, err, want)
		}
	}
	if y, _ := evalJS[float64](a.Ctx, `window.scrollY`); y != 0 {
		t.Errorf("phone: the call screen starts scrolled down by %.0f px", y)
	}

	check := func(what string) {
		t.Helper()
		checkLayout(t, a, what)
		problems, err := evalJS[[]string](a.Ctx, controlsProblemsJS)
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
		for _, p := range problems {
			t.Errorf("phone, %s: controls: %s", what, p)
		}
		if path, err := saveScreenshot(a.Ctx, dir, "phone-390x844-"+what); err == nil {
			t.Logf("phone, %s: %s", what, path)
		}
	}
	check("call")

	sink, err := evalJS[string](a.Ctx, `document.querySelector('#grid > .tile:not(.tile--local) video').sinkId`)
	if err != nil || sink != speaker {
		t.Errorf("phone: remote tile plays through %q (err %v), want the chosen speaker %q", sink, err, speaker)
	}

	// Speaker view and the stats panel fit the phone too.
	clickByID(t, a, "toggle-layout")
	time.Sleep(300 * time.Millisecond)
	check("speaker-view")
	clickByID(t, a, "toggle-layout")

	clickByID(t, a, "toggle-stats")
	panel, err := waitJS(a.Ctx, 5*time.Second, 200*time.Millisecond, `(() => {
	  const r = document.getElementById('stats-panel').getBoundingClientRect();
	  return [r.left, r.right, r.top, r.bottom, window.innerWidth, window.innerHeight,
	          document.querySelectorAll('#stats-panel .stats-row').length];
	})()`, func(v []float64) bool { return len(v) == 7 && v[6] > 0 })
	if err != nil {
		t.Errorf("phone: stats panel without rows: %v (%v)", err, panel)
	} else if panel[0] < 0 || panel[1] > panel[4] || panel[2] < 0 || panel[3] > panel[5] {
		t.Errorf("phone: stats panel %v outside the %vx%v viewport", panel[:4], panel[4], panel[5])
	}
	if path, err := saveScreenshot(a.Ctx, dir, "phone-390x844-stats"); err == nil {
		t.Logf("phone with the stats panel: %s", path)
	}
	clickByID(t, a, "stats-close")

	checkKeyboard(t, b)
}

// focusStop is where one Tab press put the focus.
type focusStop struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Ring    bool   `json:"ring"`
	Visible bool   `json:"visible"`
}

// checkKeyboard walks the laptop's call screen with Tab: the layout and
// stats buttons, the tiles' pin buttons and the call controls are reached in
// the order they appear, each with a visible focus ring and a name; Enter on
// the microphone control mutes and Space unmutes.
func checkKeyboard(t *testing.T, tb *tab) {
	t.Helper()
	if _, err := evalJS[bool](tb.Ctx, `(document.activeElement && document.activeElement.blur(), window.focus(), true)`); err != nil {
		t.Fatal(err)
	}
	const stopJS = `(() => {
	  const e = document.activeElement;
	  if (!e || e === document.body) return {id: 'body'};
	  const s = getComputedStyle(e);
	  const r = e.getBoundingClientRect();
	  return {id: e.id || e.className, name: (e.getAttribute('aria-label') || e.textContent || '').trim(),
	          ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none',
	          visible: r.width > 0 && r.height > 0};
	})()`
	var stops []focusStop
	for i := 0; i < 20; i++ {
		if err := chromedp.Do(tb.Ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatalf("pressing Tab: %v", err)
		}
		s, err := evalJS[focusStop](tb.Ctx, stopJS)
		if err != nil {
			t.Fatal(err)
		}
		stops = append(stops, s)
		if s.ID == "leave" {
			break
		}
	}
	order := []string{}
	for _, s := range stops {
		order = append(order, s.ID)
		if s.ID == "body" {
			continue
		}
		if !s.Ring || !s.Visible || s.Name == "" {
			t.Errorf("keyboard: focus on %s (%q): ring %v, visible %v; want a visible focus ring and a name", s.ID, s.Name, s.Ring, s.Visible)
		}
	}
	t.Logf("keyboard: Tab order %v", order)
	want := []string{"toggle-layout", "toggle-stats", "toggle-mic", "toggle-cam", "leave"}
	last := -1
	for _, id := range want {
		i := slices.Index(order, id)
		if i < 0 || i < last {
			t.Errorf("keyboard: Tab order %v, want %v reached in that order", order, want)
			break
		}
		last = i
	}
	if !slices.ContainsFunc(stops, func(s focusStop) bool { return strings.Contains(s.ID, "tile__pin") }) {
		t.Errorf("keyboard: the remote tile's pin button is not reachable: %v", order)
	}

	// Operate the microphone from the keyboard.
	if _, err := evalJS[bool](tb.Ctx, `(document.getElementById('toggle-mic').focus(), true)`); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		key  string
		want string
	}{{kb.Enter, "true"}, {" ", "false"}} {
		if err := chromedp.Do(tb.Ctx, chromedp.KeyEvent(step.key)); err != nil {
			t.Fatalf("pressing %q: %v", step.key, err)
		}
		got, err := waitJS(tb.Ctx, 3*time.Second, 100*time.Millisecond, `document.getElementById('toggle-mic').getAttribute('aria-pressed')`,
			func(s string) bool { return s == step.want })
		if err != nil {
			t.Errorf("keyboard: after %q on the microphone control aria-pressed is %q, want %s", step.key, got, step.want)
		}
	}
	if path, err := saveScreenshot(tb.Ctx, artifactsDir(t), fmt.Sprintf("keyboard-focus-%s", tb.Name)); err == nil {
		t.Logf("keyboard focus on the microphone control: %s", path)
	}
}
