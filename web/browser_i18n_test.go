package web_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/web"
)

// pageTextJS lists the text a user can meet on the page: every text node under <body> and every
// aria-label, title, placeholder and alt, each with where it is. Left out: the room's name (the
// user's, ASCII by rule), chat messages (what people typed), the device lists (the system's names
// for cameras and microphones), and anything inside an element that declares another language
// (the language switch names English in English).
const pageTextJS = `(() => {
  const skip = '#call-room, .chat__text, script, style, noscript, ' +
    '#camera-select, #mic-select, #speaker-select, #call-camera-select, #call-mic-select, #call-speaker-select';
  const where = (el) => el.id ? '#' + el.id : el.tagName.toLowerCase() +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const foreign = (el) => {
    const l = el.closest('[lang]');
    return !!l && l !== document.documentElement && l.lang !== 'zh-CN';
  };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    const text = n.nodeValue.trim();
    if (text && el && !el.closest(skip) && !foreign(el)) out.push({where: where(el), text});
  }
  for (const el of document.body.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
    if (el.closest(skip) || foreign(el)) continue;
    for (const a of ['aria-label', 'title', 'placeholder', 'alt']) {
      const v = (el.getAttribute(a) || '').trim();
      if (v) out.push({where: where(el) + '[' + a + ']', text: v});
    }
  }
  return out;
})()`

type pageText struct {
	Where string `json:"where"`
	Text  string `json:"text"`
}

// englishFinder collects, across the steps of a test, every text on the page with Latin words that
// are not technical names (web.HasLatinWords), once each.
type englishFinder struct {
	t     *testing.T
	seen  map[string]bool
	found []string
	texts int
}

// check walks tb's page now; step says what was on screen.
func (f *englishFinder) check(tb *tab, step string) {
	f.t.Helper()
	items, err := evalJS[[]pageText](tb.Ctx, pageTextJS)
	if err != nil {
		f.t.Fatalf("tab %s, %s: reading the page's text: %v", tb.Name, step, err)
	}
	f.texts += len(items)
	for _, it := range items {
		if !web.HasLatinWords(it.Text) || f.seen[it.Where+"\x00"+it.Text] {
			continue
		}
		f.seen[it.Where+"\x00"+it.Text] = true
		f.found = append(f.found, fmt.Sprintf("%s (%s): %s: %q", step, tb.Name, it.Where, it.Text))
	}
}

// waitShown waits until the element with id is rendered.
func waitShown(t *testing.T, tb *tab, id string) {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const el = document.getElementById(%q); return !!el && el.getClientRects().length > 0; })()`, id)
	if _, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, expr, func(b bool) bool { return b }); err != nil {
		t.Fatalf("tab %s: #%s not shown: %v", tb.Name, id, err)
	}
}

// closeMenu closes the open action menu as Escape does.
func closeMenu(t *testing.T, tb *tab) {
	t.Helper()
	if _, err := evalJS[bool](tb.Ctx, `(document.querySelector('.action-menu')?.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true})), true)`); err != nil {
		t.Fatalf("tab %s: closing the menu: %v", tb.Name, err)
	}
}

// TestBrowserChineseHasNoEnglish walks the client in Simplified Chinese (?lang=zh-CN) from the
// pre-join page through a two-person call (header, tiles, People, a person's menu, the confirmation,
// Chat, Devices, connection details, Invite) to the end page of someone removed, and fails on every
// text shown with English words in it; the zh-CN catalogue is checked the same way. Screenshots at
// 1280x800 and on a 390x844 phone show that the Chinese renders and fits.
func TestBrowserChineseHasNoEnglish(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withTURN)
	dir := artifactsDir(t)
	const room = "ward-7"
	f := &englishFinder{t: t, seen: map[string]bool{}}
	zh := func(v url.Values) string {
		v.Set("lang", "zh-CN")
		return n.URL() + "/?" + v.Encode()
	}

	// The pre-join page, with the connectivity check's verdict and paths.
	a := openTab(t, browser, "zh-a")
	if err := a.Navigate(zh(url.Values{"room": {room}, "name": {"张医生"}}), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if lang, err := waitJS(a.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle ? document.documentElement.lang : ''`,
		func(s string) bool { return s != "" }); lang != "zh-CN" {
		t.Fatalf("<html lang> = %q with ?lang=zh-CN, want zh-CN (%v)", lang, err)
	}
	if sel, _ := evalJS[string](a.Ctx, `document.getElementById('lang-select').value`); sel != "zh-CN" {
		t.Errorf("the language switch shows %q, want zh-CN", sel)
	}
	if _, err := waitJS(a.Ctx, 40*time.Second, 200*time.Millisecond, `window.huddle.netCheck().verdict`,
		func(v string) bool { return v != "" && v != "check.verdict.checking" }); err != nil {
		t.Errorf("the connectivity check did not finish: %v", err)
	}
	if _, err := evalJS[bool](a.Ctx, `(document.querySelector('.net-check__details').open = true, true)`); err != nil {
		t.Fatal(err)
	}
	f.check(a, "pre-join")
	shot(t, a, dir, "zh-prejoin")

	// A two-person call: the host (dev mode) and a second person.
	clickByID(t, a, "join-button")
	waitState(t, a, "joined", 15*time.Second)
	b := openTab(t, browser, "zh-b")
	if err := b.Navigate(zh(url.Values{"room": {room}, "name": {"李护士"}, "autojoin": {"1"}}), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, "joined", 15*time.Second)
	bid, err := evalJS[string](b.Ctx, `window.huddle.participantId`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitVideoFrom(a, bid, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // a stats round, so the tiles show their connection quality
	f.check(a, "call")
	shot(t, a, dir, "zh-call")

	clickByID(t, a, "toggle-people")
	waitShown(t, a, "people-panel")
	f.check(a, "People panel")
	shot(t, a, dir, "zh-people")
	clickByID(t, a, "person-menu-"+bid)
	f.check(a, "a person's menu")
	closeMenu(t, a)
	clickByID(t, a, "room-end")
	waitShown(t, a, "confirm-dialog")
	f.check(a, "confirmation")
	clickByID(t, a, "confirm-cancel")

	clickByID(t, a, "toggle-chat")
	waitShown(t, a, "chat-panel")
	if _, err := evalJS[bool](a.Ctx, `(() => { const i = document.getElementById('chat-input'); i.value = '大家好';
	  i.dispatchEvent(new Event('input')); document.getElementById('chat-send').click(); return true; })()`); err != nil {
		t.Fatal(err)
	}
	if _, err := waitRoom(a, 10*time.Second, func(v roomView) bool { return len(v.Room.Chat.Messages) > 0 }); err != nil {
		t.Errorf("the chat message did not arrive: %v", err)
	}
	f.check(a, "Chat panel")
	shot(t, a, dir, "zh-chat")

	clickByID(t, a, "toggle-devices")
	waitShown(t, a, "device-panel")
	f.check(a, "Devices panel")

	clickByID(t, a, "toggle-stats")
	if _, err := waitJS(a.Ctx, 10*time.Second, 200*time.Millisecond, `document.querySelectorAll('#stats-body .stats-row').length`,
		func(n int) bool { return n > 0 }); err != nil {
		t.Errorf("connection details without figures: %v", err)
	}
	f.check(a, "connection details")
	shot(t, a, dir, "zh-stats")
	clickByID(t, a, "stats-close")

	if hidden, _ := evalJS[bool](a.Ctx, `document.getElementById('toggle-invite').hidden`); !hidden {
		clickByID(t, a, "toggle-invite")
		clickByID(t, a, "invite-create")
		if _, err := waitJS(a.Ctx, 10*time.Second, 100*time.Millisecond, `document.getElementById('invite-url').value`,
			func(s string) bool { return s != "" }); err != nil {
			t.Errorf("no invitation link: %v", err)
		}
		f.check(a, "Invite panel")
		clickByID(t, a, "invite-close")
	}
	clickByID(t, a, "toggle-layout")
	clickByID(t, a, "tile-menu-"+bid)
	f.check(a, "speaker view, a tile's menu")
	closeMenu(t, a)

	// The second person on a phone, then removed: the end page.
	emulatePhone(t, b, 390, 844)
	f.check(b, "call on a phone")
	shot(t, b, dir, "zh-call-phone")
	clickByID(t, b, "toggle-chat")
	waitShown(t, b, "chat-panel")
	f.check(b, "Chat panel on a phone")
	shot(t, b, dir, "zh-chat-phone")
	clickByID(t, a, "tile-menu-"+bid)
	clickByID(t, a, "menu-remove-"+bid)
	waitShown(t, a, "confirm-dialog")
	clickByID(t, a, "confirm-ok")
	if _, err := waitRoom(b, 15*time.Second, func(v roomView) bool { return v.End.Shown }); err != nil {
		t.Errorf("no end page after the removal: %v", err)
	}
	f.check(b, "end page")
	shot(t, b, dir, "zh-end-phone")

	// The pre-join page on a phone.
	c := openTab(t, browser, "zh-c")
	if err := c.Navigate(zh(url.Values{"room": {room}}), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	waitShown(t, c, "join-button")
	emulatePhone(t, c, 390, 844)
	f.check(c, "pre-join on a phone")
	shot(t, c, dir, "zh-prejoin-phone")

	// The catalogue itself, as the browser loads it.
	cat, err := evalJS[map[string]string](c.Ctx, `import('/js/i18n/zh-CN.js').then((m) => m.default)`)
	if err != nil {
		t.Fatalf("loading the zh-CN catalogue: %v", err)
	}
	for key, text := range cat {
		if web.HasLatinWords(text) {
			f.found = append(f.found, fmt.Sprintf("zh-CN catalogue: %s: %q", key, text))
		}
	}

	// ?lang=en gives English back.
	if err := c.Navigate(n.URL()+"/?lang=en", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, err := waitJS(c.Ctx, 10*time.Second, 100*time.Millisecond,
		`window.huddle ? document.documentElement.lang + ' ' + document.getElementById('join-button').textContent : ''`,
		func(s string) bool { return s != "" }); got != "en Join room" {
		t.Errorf("with ?lang=en: %q, want lang en and the Join room button (%v)", got, err)
	}

	if f.texts < 100 {
		t.Errorf("only %d texts walked: the walk missed the page", f.texts)
	}
	slices.Sort(f.found)
	if len(f.found) > 0 {
		t.Errorf("English in the Chinese client (%d):\n%s", len(f.found), strings.Join(f.found, "\n"))
	}
	t.Logf("%d texts walked; screenshots in %s", f.texts, dir)
}
