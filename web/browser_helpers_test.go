package web_test

// Shared helpers for the browser tests: start Debian's Chromium with fake
// media devices, open tabs, evaluate JavaScript, wait for conditions and save
// screenshots. Later browser tests (lobby, classroom, ...) build on these, so
// they stay independent of any one scenario.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/huddlehq/huddle/cmd/server/node"
)

// testNode is an in-process server on loopback. Stop may be called by the
// test (to simulate an outage) and is called again, harmlessly, at cleanup.
type testNode struct {
	*node.Node
	t *testing.T
}

// nodeOption adjusts a test node's config before it starts (e.g. withAPIKey).
type nodeOption func(*node.Config)

// withTURN runs the node's embedded TURN relay (off in browser tests unless asked for: see startNode).
func withTURN(cfg *node.Config) { cfg.TURN.Enabled = true }

// startNode runs a server on addr ("" picks a free loopback port) with a
// free media UDP port, and stops it when the test ends. Without options it
// is in dev mode: tokenless joins from this machine are hosts.
func startNode(t *testing.T, addr string, opts ...nodeOption) *testNode {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.UseFreePorts()
	// No embedded TURN unless the test is about it (withTURN): each tab would otherwise hold relays
	// it never uses, and pion/turn v5.1.0 has a data race of its own between closing an allocation
	// and a CreatePermission (allocation.go:325 / permission.go:36) that sfu/turnserver works around
	// (revokeGrace, drainingListener) but only the TURN tests need to exercise.
	cfg.TURN.Enabled = false
	if addr != "" {
		cfg.HTTP.Addr = addr
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	w := &testWriter{t: t}
	// Registered first, so it runs last: after Stop, stray log lines from
	// the server's goroutines are dropped instead of panicking the test.
	t.Cleanup(w.stop)
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := node.New(cfg, logger)
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	if err := n.Start(); err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	tn := &testNode{Node: n, t: t}
	t.Cleanup(tn.Stop)
	return tn
}

// Stop closes the node; node.Node.Close is idempotent, so cleanup may call it again.
func (n *testNode) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		n.t.Errorf("node.Close: %v", err)
	}
}

// testWriter sends the server's warnings and errors to the test log, where
// they line up with the browser's console on failure.
type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("server: %s", p)
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// chromiumFlags are the flags known to give real WebRTC with fake devices in
// headless Chromium on these machines (see /work/shared/DESIGN.md).
var chromiumFlags = []string{
	"headless",
	"no-sandbox",
	"disable-gpu",
	"use-fake-device-for-media-stream", // synthetic camera (moving pattern) and microphone (beeps)
	"use-fake-ui-for-media-stream",     // grant getUserMedia without a prompt
	"allow-loopback-in-peer-connection",
	"disable-quic",
	"no-first-run",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
}

// findChromium returns the path of the chromium binary. Without one it fails
// the test when HUDDLE_REQUIRE_BROWSER=1 (CI must not silently skip browser
// coverage) and skips it otherwise.
func findChromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	const msg = "chromium not found in PATH; install Debian's package (apt-get install -y chromium)"
	if os.Getenv("HUDDLE_REQUIRE_BROWSER") == "1" {
		t.Fatalf("%s: HUDDLE_REQUIRE_BROWSER=1 requires the browser tests to run", msg)
	}
	t.Skipf("%s; set HUDDLE_REQUIRE_BROWSER=1 to make this a failure", msg)
	return ""
}

// startBrowser starts a headless Chromium with a fresh profile and returns a
// chromedp context bound to it. The browser stops when the test ends.
// Make tabs with openTab. extra adds flags (name or name=value) for tests
// that need another browser policy.
func startBrowser(t *testing.T, extra ...string) context.Context {
	t.Helper()
	return startBrowserWithPrefs(t, nil, extra...)
}

// startBrowserWithPrefs is startBrowser with profile preferences set before
// the browser starts (as a user's or an administrator's settings would be),
// e.g. {"webrtc": {"ip_handling_policy": "disable_non_proxied_udp"}}.
func startBrowserWithPrefs(t *testing.T, prefs map[string]any, extra ...string) context.Context {
	t.Helper()
	path := findChromium(t)
	// Created before the cancel cleanups below, so it is removed after the
	// browser has exited (cleanups run last-in, first-out).
	profile := t.TempDir()
	if prefs != nil {
		raw, err := json.Marshal(prefs)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(profile, "Default"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	)
	for _, f := range chromiumFlags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	for _, f := range extra {
		name, value, ok := strings.Cut(f, "=")
		if ok {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	// The first Run starts the browser and binds its life to ctx, which
	// must therefore carry no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium at %s: %v", path, err)
	}
	return ctx
}

// tab is one browser tab plus what its page wrote to the console. The test
// log shows warnings and errors always and everything when the test fails
// (the client itself logs only warnings and errors).
type tab struct {
	Name string
	Ctx  context.Context

	mu      sync.Mutex
	console []string
}

// openTab opens a new tab (in its own window, so it is never hidden and
// keeps rendering) with a 1280x800 viewport, and starts recording its
// console.
func openTab(t *testing.T, browser context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{Name: name, Ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("opening tab %s: %v", name, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m.String())
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		// Everything on failure; otherwise only what looks like a problem,
		// so a passing run still shows client warnings.
		failed := t.Failed()
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, line := range tb.console {
			if failed || !strings.HasPrefix(line, "log:") && !strings.HasPrefix(line, "info:") && !strings.HasPrefix(line, "debug:") {
				t.Logf("tab %s console: %s", name, line)
			}
		}
	})
	return tb
}

// Navigate loads url in the tab, bounded by timeout.
func (tb *tab) Navigate(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(tb.Ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("tab %s: navigate %s: %w", tb.Name, url, err)
	}
	return nil
}

// evalJS evaluates expr in the tab (awaiting it if it is a promise) and
// decodes the JSON result into T.
func evalJS[T any](ctx context.Context, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitJS evaluates expr every interval until cond accepts its value or
// timeout passes; it returns the last value seen either way, so a failing
// test can report what it saw. Evaluation errors (e.g. window.huddle not yet
// defined while the page loads) count as "not yet" and are returned when the
// time runs out without success.
//
// It polls from Go rather than with chromedp.Poll, which waits on animation
// frames and would hang on a tab the browser does not paint.
func waitJS[T any](ctx context.Context, timeout, interval time.Duration, expr string, cond func(T) bool) (T, error) {
	deadline := time.Now().Add(timeout)
	var last T
	var lastErr error
	for {
		v, err := evalJS[T](ctx, expr)
		if err == nil {
			last, lastErr = v, nil
			if cond(v) {
				return v, nil
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				return last, fmt.Errorf("condition not met within %v: %w", timeout, lastErr)
			}
			return last, fmt.Errorf("condition not met within %v", timeout)
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// artifactsDir is where screenshots go: $HUDDLE_ARTIFACTS when set (CI
// uploads it), else a per-test temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HUDDLE_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating HUDDLE_ARTIFACTS directory %s: %v", dir, err)
	}
	return dir
}

// saveScreenshot captures the tab's viewport as PNG into dir/<name>.png and
// returns the file's path.
func saveScreenshot(ctx context.Context, dir, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return "", fmt.Errorf("screenshot %s: %w", name, err)
	}
	path := filepath.Join(dir, sanitize(name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "", fmt.Errorf("screenshot %s: %w", name, err)
	}
	return path, nil
}

// sanitize keeps screenshot names safe as file names.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	if b.Len() == 0 {
		return "screenshot"
	}
	return b.String()
}

// layoutProblemsJS returns, as a list of strings, what is visibly wrong with
// the call screen's layout at the current viewport: horizontal overflow,
// controls outside the viewport, tiles overlapping each other or the
// controls, tiles not 16:9. Tests call it at several viewport sizes.
const layoutProblemsJS = `(() => {
  const p = [];
  const vw = window.innerWidth, vh = window.innerHeight;
  const de = document.documentElement;
  if (de.scrollWidth > vw + 1) p.push('page scrolls horizontally: ' + de.scrollWidth + ' > ' + vw);
  const controls = document.querySelector('.controls');
  const cr = controls && controls.getBoundingClientRect();
  if (!cr || cr.height === 0) p.push('controls bar not visible');
  else if (cr.bottom > vh + 1 || cr.left < -1 || cr.right > vw + 1) p.push('controls bar outside viewport: ' + JSON.stringify(cr));
  if (controls) for (const b of controls.querySelectorAll('button')) {
    const r = b.getBoundingClientRect();
    if (r.left < -1 || r.right > vw + 1) p.push('button ' + b.id + ' cut off');
    if (b.scrollWidth > b.clientWidth + 1) p.push('button ' + b.id + ' text overflows');
  }
  const stage = document.querySelector('.stage');
  const scrolls = stage && stage.scrollHeight > stage.clientHeight + 1;
  const tiles = [...document.querySelectorAll('#grid > .tile')].map(t => [t, t.getBoundingClientRect()]);
  for (const [t, r] of tiles) {
    const name = t.querySelector('.tile__name')?.textContent;
    if (Math.abs(r.width / r.height - 16 / 9) > 0.03) p.push('tile ' + name + ' is not 16:9: ' + r.width + 'x' + r.height);
    if (r.left < -1 || r.right > vw + 1) p.push('tile ' + name + ' cut off horizontally');
    if (!scrolls && cr && r.bottom > cr.top + 1) p.push('tile ' + name + ' overlaps the controls');
  }
  for (let i = 0; i < tiles.length; i++) for (let j = i + 1; j < tiles.length; j++) {
    const a = tiles[i][1], b = tiles[j][1];
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) p.push('tiles ' + i + ' and ' + j + ' overlap');
  }
  return p;
})()`

// elementsFitJS returns a script listing what is wrong with the page at the current viewport for the
// elements with the given ids: the page scrolls horizontally, an element is not visible or is cut off.
func elementsFitJS(ids ...string) string {
	list, _ := json.Marshal(ids)
	return `(() => {
  const p = [], vw = window.innerWidth;
  if (document.documentElement.scrollWidth > vw + 1) p.push('page scrolls horizontally');
  for (const id of ` + string(list) + `) {
    const r = document.getElementById(id).getBoundingClientRect();
    if (r.width === 0) p.push(id + ' not visible');
    if (r.left < -1 || r.right > vw + 1) p.push(id + ' cut off');
  }
  return p;
})()`
}

// joinLinkURL is an invitation link as `server link` prints it (issue 7): the
// room and the join token in the fragment, which the page reads and then
// removes from the address bar.
func joinLinkURL(base, room, token string) string {
	return base + "/#" + url.Values{"room": {room}, "token": {token}}.Encode()
}

// clickByID clicks the element with id through JavaScript (no user gesture).
func clickByID(t *testing.T, tb *tab, id string) {
	t.Helper()
	if _, err := evalJS[bool](tb.Ctx, fmt.Sprintf(`(document.getElementById(%q).click(), true)`, id)); err != nil {
		t.Fatalf("tab %s: clicking #%s: %v", tb.Name, id, err)
	}
}

// waitVideoFrom waits until tb decodes camera video from participantID (""
// for anyone): framesDecoded of one track rising between two samples, with a
// picture size. It returns the last sample of that track.
func waitVideoFrom(tb *tab, participantID string, timeout time.Duration) (remoteVideo, error) {
	prev := map[string]int64{}
	var found remoteVideo
	_, err := waitJS(tb.Ctx, timeout, 100*time.Millisecond, remoteVideoStatsJS, func(stats []remoteVideo) bool {
		for _, s := range stats {
			if s.Source != "camera" || (participantID != "" && s.ParticipantID != participantID) {
				continue
			}
			p, seen := prev[s.TrackID]
			prev[s.TrackID] = s.FramesDecoded
			if seen && s.FramesDecoded > p && s.FrameWidth > 0 {
				found = s
				return true
			}
		}
		return false
	})
	if err != nil {
		// Say what the tab had: which tracks, how far each got, and the tiles.
		stats, _ := evalJS[[]remoteVideo](tb.Ctx, remoteVideoStatsJS)
		tiles, _ := evalJS[any](tb.Ctx, remoteTilesJS)
		return found, fmt.Errorf("tab %s: no advancing video from %q: %w (video stats %+v; tiles %v)", tb.Name, participantID, err, stats, tiles)
	}
	return found, nil
}

// emulatePhone gives tb a w x h portrait touch viewport and waits until the
// page has it and the grid has re-laid out.
func emulatePhone(t *testing.T, tb *tab, w, h int64) {
	t.Helper()
	if err := chromedp.Do(tb.Ctx, chromedp.EmulateViewport(w, h, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatalf("tab %s: emulating a %dx%d phone: %v", tb.Name, w, h, err)
	}
	got, err := waitJS(tb.Ctx, 5*time.Second, 100*time.Millisecond, `window.innerWidth`, func(v int64) bool { return v == w })
	if err != nil {
		// A mobile viewport widens to fit content that overflows it: name the widest elements.
		wide, _ := evalJS[[]string](tb.Ctx, overflowingElementsJS)
		t.Fatalf("tab %s: phone viewport not applied (innerWidth %d, want %d): %v; wider than %d px: %v", tb.Name, got, w, err, w, wide)
	}
	time.Sleep(500 * time.Millisecond) // ResizeObserver re-layout and a repaint
}

// overflowingElementsJS lists up to ten visible elements whose right edge lies past the phone's width
// (the elements that keep a mobile viewport from shrinking to it).
const overflowingElementsJS = `(() => {
  const w = screen.width, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1) {
      out.push((el.id ? '#' + el.id : el.tagName.toLowerCase() + '.' + [...el.classList].join('.')) + ' right=' + Math.round(r.right));
      if (out.length >= 10) break;
    }
  }
  return out;
})()`

// roomView is what window.huddle.room() and a few neighbours say about the
// room features of issue 7 (lobby, waiting list, chat, people, hands,
// layout) in one sample; see web/static/js/hooks.js.
type roomView struct {
	State         string       `json:"state"`
	Connection    string       `json:"connection"`
	ParticipantID string       `json:"participantId"`
	Tiles         []remoteTile `json:"tiles"`
	Banners       []string     `json:"banners"`
	JoinShown     bool         `json:"joinShown"`
	Lead          string       `json:"lead"`
	JoinError     string       `json:"joinError"`
	End           endView      `json:"end"`
	Attempts      int          `json:"attempts"`
	Room          struct {
		Mode      string `json:"mode"`
		Moderator bool   `json:"moderator"`
		Lobby     struct {
			Waiting bool   `json:"waiting"`
			Message string `json:"message"`
		} `json:"lobby"`
		Waiting []struct {
			ParticipantID string `json:"participantId"`
			Name          string `json:"name"`
			Identity      string `json:"identity"`
			Since         string `json:"since"`
		} `json:"waiting"`
		RoomState struct {
			ChatEnabled bool     `json:"chatEnabled"`
			Locked      bool     `json:"locked"`
			Spotlight   string   `json:"spotlight"`
			Hands       []string `json:"hands"`
			Mode        string   `json:"mode"`
		} `json:"roomState"`
		People []roomPerson `json:"people"`
		Chat   struct {
			Open          bool   `json:"open"`
			Unread        int    `json:"unread"`
			Allowed       bool   `json:"allowed"`
			InputDisabled bool   `json:"inputDisabled"`
			Note          string `json:"note"`
			Messages      []struct {
				From string `json:"from"`
				Name string `json:"name"`
				Text string `json:"text"`
				At   string `json:"at"`
				Mine bool   `json:"mine"`
			} `json:"messages"`
		} `json:"chat"`
		Layout struct {
			Mode      string   `json:"mode"`
			Inset     bool     `json:"inset"`
			Spotlight string   `json:"spotlight"`
			Tiles     []string `json:"tiles"`
		} `json:"layout"`
		Confirm struct {
			Open  bool   `json:"open"`
			Title string `json:"title"`
		} `json:"confirm"`
		Announced string `json:"announced"`
	} `json:"room"`
}

// roomPerson is one row of the People panel.
type roomPerson struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	RoleLabel string `json:"roleLabel"`
	Self      bool   `json:"self"`
	Mic       string `json:"mic"`
	Hand      int    `json:"hand"`
	Spotlight bool   `json:"spotlight"`
	Tile      bool   `json:"tile"`
}

// person returns the People panel's row for participant id.
func (v roomView) person(id string) (roomPerson, bool) {
	for _, p := range v.Room.People {
		if p.ID == id {
			return p, true
		}
	}
	return roomPerson{}, false
}

const roomViewJS = `(() => {
  const h = window.huddle;
  if (!h || !h.room) return {state: 'loading'};
  return {state: h.state, connection: h.connectionState(), participantId: h.participantId,
          tiles: h.remoteTiles(), banners: h.banners(), room: h.room(),
          joinShown: !document.getElementById('join-screen').hidden,
          lead: document.getElementById('join-lead').textContent,
          joinError: document.getElementById('join-error').textContent,
          end: Object.assign(h.endPage(), {text: document.getElementById('end-text').textContent}),
          attempts: h.reconnects().attempts};
})()`

// endView is the end page (endpage.js): shown after the call ended for us, with the states of the
// camera and microphone tracks it stopped.
type endView struct {
	Shown  bool     `json:"shown"`
	Code   string   `json:"code"`
	Title  string   `json:"title"`
	Text   string   `json:"text"`
	Rejoin bool     `json:"rejoin"`
	Tracks []string `json:"tracks"`
}

// released reports whether the end page stopped at least one track and all are ended.
func (e endView) released() bool {
	if len(e.Tracks) == 0 {
		return false
	}
	for _, s := range e.Tracks {
		if s != "ended" {
			return false
		}
	}
	return true
}

// waitRoom samples roomViewJS in tb until cond accepts it.
func waitRoom(tb *tab, timeout time.Duration, cond func(roomView) bool) (roomView, error) {
	v, err := waitJS(tb.Ctx, timeout, 100*time.Millisecond, roomViewJS, cond)
	if err != nil {
		return v, fmt.Errorf("tab %s: %w", tb.Name, err)
	}
	return v, nil
}

// joinThroughLink opens a join link in tb, waits for the form to take the
// token's name and presses Join, as a person following the link does.
func joinThroughLink(t *testing.T, tb *tab, link, name string) {
	t.Helper()
	if err := tb.Navigate(link, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle ? document.getElementById('name').value : ''`,
		func(s string) bool { return s == name }); err != nil {
		t.Fatalf("tab %s: name not taken from the link's token: %v", tb.Name, err)
	}
	clickByID(t, tb, "join-button")
}
