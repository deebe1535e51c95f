package web_test

import (
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/testcert"
)

// checkView is window.huddle.netCheck().
type checkView struct {
	Verdict string `json:"verdict"`
	Summary string `json:"summary"`
	Paths   []struct {
		ID    string `json:"id"`
		State string `json:"state"`
		RTT   int    `json:"rtt"`
	} `json:"paths"`
}

func (v checkView) state(id string) string {
	for _, p := range v.Paths {
		if p.ID == id {
			return p.State
		}
	}
	return ""
}

// done: every path has a result.
func (v checkView) done() bool {
	if len(v.Paths) == 0 {
		return false
	}
	for _, p := range v.Paths {
		if p.State == "checking" {
			return false
		}
	}
	return true
}

// pathView is one PC's selected candidate pair as the stats panel shows it.
type pathView struct {
	Type          string `json:"type"`
	Protocol      string `json:"protocol"`
	RelayProtocol string `json:"relayProtocol"`
}

type connectionView struct {
	Publish   *pathView `json:"publish"`
	Subscribe *pathView `json:"subscribe"`
}

// waitCheck waits for the pre-join check to finish and returns what it found.
func waitCheck(t *testing.T, tb *tab) checkView {
	t.Helper()
	// Bounded by the client's own timeouts: 5 s gathering + 8 s to connect per path, the three relay
	// transports one after another.
	v, err := waitJS(tb.Ctx, 60*time.Second, 200*time.Millisecond, `window.huddle.netCheck()`, func(v checkView) bool { return v.done() })
	if err != nil {
		t.Fatalf("tab %s: the connectivity check did not finish: %v (saw %+v)", tb.Name, err, v)
	}
	t.Logf("tab %s: check %s %q, paths %+v", tb.Name, v.Verdict, v.Summary, v.Paths)
	return v
}

// waitPath waits until both of the tab's PCs have a selected candidate pair satisfying ok.
func waitPath(t *testing.T, tb *tab, what string, ok func(pathView) bool) connectionView {
	t.Helper()
	v, err := waitJS(tb.Ctx, 20*time.Second, 250*time.Millisecond, `window.huddle.connectionPath()`, func(v connectionView) bool {
		return v.Publish != nil && v.Subscribe != nil && ok(*v.Publish) && ok(*v.Subscribe)
	})
	if err != nil {
		t.Fatalf("tab %s: want both PCs %s: %v (saw publish %+v, subscribe %+v)", tb.Name, what, err, v.Publish, v.Subscribe)
	}
	return v
}

// TestBrowserRelayOverTLSAndHTTPS: the node serves the client over HTTPS with a certificate the test
// made; two Chromium tabs open it over https:// (signalling over wss://) with ?relay=tls, so every
// packet goes through the embedded TURN server over TLS, and each decodes the other's video. The stats
// panel says so (relay over TLS), and the relay's allocations go when the tabs leave.
func TestBrowserRelayOverTLSAndHTTPS(t *testing.T) {
	cert, err := testcert.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Chromium trusts exactly this certificate, for the page, the socket and TURN over TLS.
	browser := startBrowser(t, "ignore-certificate-errors-spki-list="+cert.SPKIHash)
	n := startNode(t, "", withTURN, func(cfg *node.Config) { cfg.TLS.CertFile, cfg.TLS.KeyFile = cert.CertFile, cert.KeyFile })
	if !strings.HasPrefix(n.URL(), "https://") {
		t.Fatalf("node URL %s is not https", n.URL())
	}
	tabs := []*tab{openTab(t, browser, "clinic"), openTab(t, browser, "patient")}
	results := make([]tabResult, len(tabs))
	var wg sync.WaitGroup
	for i, tb := range tabs {
		q := url.Values{"room": {"relay-tls"}, "name": {tb.Name}, "autojoin": {"1"}, "relay": {"tls"}}
		wg.Go(func() { results[i] = watchTab(tb, n.URL()+"/?"+q.Encode(), 45*time.Second) })
	}
	wg.Wait()
	for i, tb := range tabs {
		r := results[i]
		if r.err != nil {
			t.Fatalf("tab %s over TURN/TLS: %v (last %+v)", tb.Name, r.err, r.last)
		}
		t.Logf("tab %s: joined %v after load; first remote frame %v after join (relay over TLS)",
			tb.Name, r.joinedAfter.Round(time.Millisecond), r.firstFrameWait.Round(time.Millisecond))
	}
	for _, tb := range tabs {
		page, err := evalJS[map[string]string](tb.Ctx, `({page: location.protocol, socket: window.huddle.socketURL ? window.huddle.socketURL() : ''})`)
		if err != nil || page["page"] != "https:" {
			t.Errorf("tab %s: page protocol %v (err %v), want https:", tb.Name, page, err)
		}
		v := waitPath(t, tb, "relayed over TLS", func(p pathView) bool { return p.Type == "relay" && p.RelayProtocol == "tls" })
		t.Logf("tab %s: publish %+v, subscribe %+v", tb.Name, *v.Publish, *v.Subscribe)
		if !strings.HasPrefix(page["socket"], "wss://") {
			t.Errorf("tab %s: signalling socket %q, want wss://", tb.Name, page["socket"])
		}
	}
	if got := n.TURNAllocations(); got < 2 {
		t.Errorf("TURN allocations during the call = %d, want one per tab PC at least (2)", got)
	}

	// The stats panel shows the relay to support staff.
	clickByID(t, tabs[0], "toggle-stats")
	text, err := waitJS(tabs[0].Ctx, 10*time.Second, 200*time.Millisecond,
		`document.querySelector('#stats-body [data-path="subscribe"]')?.textContent || ''`,
		func(s string) bool { return strings.Contains(s, "TLS") })
	if err != nil {
		t.Errorf("stats panel connection row = %q, want it to name the relay over TLS: %v", text, err)
	}
	dir := artifactsDir(t)
	if p, err := saveScreenshot(tabs[0].Ctx, dir, "relay-tls-stats-1280x800"); err == nil {
		t.Logf("screenshot: %s", p)
	}

	for _, tb := range tabs {
		clickByID(t, tb, "leave")
	}
	if _, err := waitFor(30*time.Second, func() bool { return n.TURNAllocations() == 0 }); err != nil {
		t.Errorf("TURN allocations after both left = %d, want 0", n.TURNAllocations())
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) (bool, error) {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false, os.ErrDeadlineExceeded
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true, nil
}

// TestBrowserConnectivityCheck: the pre-join check on an open network finds UDP, TCP and the relay
// working and says the connection is ready, in English and, with lang=zh-CN, in Chinese; a node without
// ICE/TCP is reported as not offering it. Screenshots at laptop and phone size.
func TestBrowserConnectivityCheck(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withTURN)
	dir := artifactsDir(t)

	tb := openTab(t, browser, "check")
	if err := tb.Navigate(n.URL()+"/?room=ward-3", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	v := waitCheck(t, tb)
	for id, want := range map[string]string{"udp": "works", "tcp": "works", "relay-udp": "works", "relay-tcp": "works", "relay-tls": "absent"} {
		if got := v.state(id); got != want {
			t.Errorf("path %s: %s, want %s", id, got, want)
		}
	}
	if v.Verdict != "check.verdict.good" || !strings.Contains(v.Summary, "ready") {
		t.Errorf("verdict %s %q, want the connection ready", v.Verdict, v.Summary)
	}
	shots(t, tb, dir, "check-open-network")

	// The same page in Chinese: the check's words come from the zh-CN catalogue.
	zh := openTab(t, browser, "check-zh")
	if err := zh.Navigate(n.URL()+"/?room=ward-3&lang=zh-CN", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	zv := waitCheck(t, zh)
	if lang, _ := evalJS[string](zh.Ctx, `window.huddle.language()`); lang != "zh-CN" {
		t.Errorf("page language %q, want zh-CN", lang)
	}
	if zv.Summary != "您的网络连接正常，可以进行视频通话。" {
		t.Errorf("zh-CN summary %q, want the catalogue's check.verdict.good", zv.Summary)
	}
	rows, _ := evalJS[string](zh.Ctx, `document.getElementById('net-check').textContent`)
	for _, english := range []string{"Connection check", "Check again", "Works", "Direct", "Relay"} {
		if strings.Contains(rows, english) {
			t.Errorf("zh-CN check panel still says %q: %q", english, rows)
		}
	}
	shots(t, zh, dir, "check-zh-CN")

	// A node that does not offer ICE/TCP: the check says so instead of calling it blocked.
	noTCP := startNode(t, "", withTURN, func(cfg *node.Config) { cfg.Media.ICETCP = false })
	tc := openTab(t, browser, "check-no-tcp")
	if err := tc.Navigate(noTCP.URL()+"/?room=ward-3", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := waitCheck(t, tc).state("tcp"); got != "absent" {
		t.Errorf("ICE/TCP off: tcp path %q, want absent (not offered)", got)
	}
}

// shots saves the pre-join screen at 1280x800 and at 390x844 with the check's details open.
func shots(t *testing.T, tb *tab, dir, name string) {
	t.Helper()
	if _, err := evalJS[bool](tb.Ctx, `(document.querySelector('.net-check__details').open = true, true)`); err != nil {
		t.Fatal(err)
	}
	for _, vp := range []struct {
		name string
		w, h int64
		opts []chromedp.EmulateViewportOption
	}{
		{"1280x800", 1280, 800, nil},
		{"390x844", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch}},
	} {
		if err := chromedp.Do(tb.Ctx, chromedp.EmulateViewport(vp.w, vp.h, vp.opts...)); err != nil {
			t.Fatal(err)
		}
		// The check is part of the form: scrolled to, it fits the width without scrolling sideways.
		problems, err := evalJS[[]string](tb.Ctx, `(document.getElementById('net-check').scrollIntoView({block: 'center'}), `+elementsFitJS("net-check", "net-check-summary")+`)`)
		if err != nil || len(problems) > 0 {
			t.Errorf("%s at %s: %v %v", name, vp.name, problems, err)
		}
		if p, err := saveScreenshot(tb.Ctx, dir, name+"-"+vp.name); err == nil {
			t.Logf("screenshot: %s", p)
		}
	}
}

// TestBrowserCheckWithUDPBlocked: Chromium whose WebRTC may not send UDP at all (the profile's
// ip_handling_policy "disable_non_proxied_udp", a managed browser's setting; to the client it is a
// network that drops UDP) — the check says UDP is blocked and TCP is used, and the join that follows
// reaches the node over TCP and decodes the other participant's video. Against a node without ICE/TCP
// the check says the secure relay is used.
func TestBrowserCheckWithUDPBlocked(t *testing.T) {
	cert, err := testcert.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	trust := "ignore-certificate-errors-spki-list=" + cert.SPKIHash
	blocked := startBrowserWithPrefs(t, map[string]any{"webrtc": map[string]any{"ip_handling_policy": "disable_non_proxied_udp"}}, trust)
	open := startBrowser(t, trust)
	n := startNode(t, "", withTURN, func(cfg *node.Config) { cfg.TLS.CertFile, cfg.TLS.KeyFile = cert.CertFile, cert.KeyFile })

	tb := openTab(t, blocked, "behind-firewall")
	if err := tb.Navigate(n.URL()+"/?room=firewall&name=Pat", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	// The policy leaves TCP: straight to the node's ICE/TCP port, and to the relay.
	v := waitCheck(t, tb)
	for id, want := range map[string]string{"udp": "blocked", "tcp": "works", "relay-udp": "blocked", "relay-tcp": "works", "relay-tls": "works"} {
		if got := v.state(id); got != want {
			t.Errorf("UDP blocked: path %s %s, want %s", id, got, want)
		}
	}
	if v.Verdict != "check.verdict.tcp" || !strings.Contains(v.Summary, "blocks UDP") {
		t.Errorf("verdict %s %q, want it to say UDP is blocked and TCP is used", v.Verdict, v.Summary)
	}
	shots(t, tb, artifactsDir(t), "check-udp-blocked")

	// A node that offers no ICE/TCP leaves only the relay, and the check says so in the words a
	// patient reads.
	relayOnly := startNode(t, "", withTURN, func(cfg *node.Config) {
		cfg.TLS.CertFile, cfg.TLS.KeyFile = cert.CertFile, cert.KeyFile
		cfg.Media.ICETCP = false
	})
	tr := openTab(t, blocked, "relay-only")
	if err := tr.Navigate(relayOnly.URL()+"/?room=firewall", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if v := waitCheck(t, tr); v.Verdict != "check.verdict.relay" || v.Summary != "Your network blocks UDP; using a secure relay." {
		t.Errorf("UDP blocked, no ICE/TCP: verdict %s %q, want the secure relay", v.Verdict, v.Summary)
	}
	shots(t, tr, artifactsDir(t), "check-udp-blocked-relay")

	other := openTab(t, open, "clinician")
	q := url.Values{"room": {"firewall"}, "name": {"Dr Ada"}, "autojoin": {"1"}}
	var wg sync.WaitGroup
	var res tabResult
	wg.Go(func() { res = watchTab(other, n.URL()+"/?"+q.Encode(), 40*time.Second) })
	clickByID(t, tb, "join-button")
	wg.Wait()
	if res.err != nil {
		t.Fatalf("the other participant: %v", res.err)
	}
	if _, err := waitVideoFrom(tb, "", 30*time.Second); err != nil {
		t.Fatalf("behind the firewall: %v", err)
	}
	// Over TCP one way or the other: ICE/TCP straight to the node, or the relay reached over TCP/TLS.
	p := waitPath(t, tb, "over TCP", func(p pathView) bool {
		return p.Protocol == "tcp" || p.Type == "relay" && (p.RelayProtocol == "tcp" || p.RelayProtocol == "tls")
	})
	t.Logf("behind the firewall: publish %+v, subscribe %+v", *p.Publish, *p.Subscribe)
}
