package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// The client's catalogues (static/js/i18n/*.js) are JSON objects inside a module: comment lines,
// then `export default {...};`. These tests read them as the browser would see their data.

var (
	placeholderRE = regexp.MustCompile(`\{(\w+)\}`)
	literalKeyRE  = regexp.MustCompile(`\bt\(\s*['"]([A-Za-z0-9_.-]+)['"]`)
	templateKeyRE = regexp.MustCompile("\\bt\\(\\s*`([A-Za-z0-9_.-]+)\\$\\{")
	countKeyRE    = regexp.MustCompile(`\btn\(\s*['"]([A-Za-z0-9_.-]+)['"]`)
	markupKeyRE   = regexp.MustCompile(`data-i18n="([^"]+)"`)
	markupAttrRE  = regexp.MustCompile(`data-i18n-attr="([^"]+)"`)
)

// readCatalogue parses one catalogue, refusing duplicate keys (JSON would keep the last silently).
func readCatalogue(t *testing.T, name string) map[string]string {
	t.Helper()
	raw, err := fs.ReadFile(embedded, "static/js/i18n/"+name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	text := string(raw)
	start := strings.Index(text, "export default ")
	if start < 0 {
		t.Fatalf("%s: no `export default`", name)
	}
	body := strings.TrimSuffix(strings.TrimSpace(text[start+len("export default "):]), ";")
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s: catalogue is not a JSON object: %v", name, err)
	}
	out := map[string]string{}
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		key := keyTok.(string)
		var value string
		if err := dec.Decode(&value); err != nil {
			t.Fatalf("%s: value of %q: %v", name, key, err)
		}
		if _, dup := out[key]; dup {
			t.Errorf("%s: key %q appears twice", name, key)
		}
		out[key] = value
	}
	return out
}

func placeholders(s string) []string {
	var names []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// technicalRE matches what users see as it is in any language: protocol and candidate names, the
// product's name, video formats, key names, and figures with their units (12 ms, 30 fps, 480 kbit/s).
var technicalRE = regexp.MustCompile(`\b(UDP|TCP|TURN|TLS|NAT|srflx|prflx|CPU|https|Huddle|720p|1080p|Ctrl\+C)\b|relay=|\d\s*(ms|fps|[kM]bit/s)\b`)

// hasLatinWords reports whether s, placeholders removed, still has ASCII letters that are not one
// of the technical names users see as they are (UDP, TCP, TURN, ...).
func hasLatinWords(s string) bool {
	s = placeholderRE.ReplaceAllString(s, "")
	s = technicalRE.ReplaceAllString(s, "")
	return strings.IndexFunc(s, func(r rune) bool { return r < unicode.MaxASCII && unicode.IsLetter(r) }) >= 0
}

func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

func TestCatalogues(t *testing.T) {
	en := readCatalogue(t, "en.js")
	zh := readCatalogue(t, "zh-CN.js")
	if len(en) == 0 {
		t.Fatal("the English catalogue is empty")
	}
	for key, text := range en {
		other, ok := zh[key]
		switch {
		case !ok:
			t.Errorf("zh-CN lacks %q", key)
		case strings.TrimSpace(other) == "" || strings.TrimSpace(text) == "":
			t.Errorf("%q is empty in one catalogue", key)
		case fmt.Sprint(placeholders(text)) != fmt.Sprint(placeholders(other)):
			t.Errorf("%q: placeholders differ: en %v, zh-CN %v", key, placeholders(text), placeholders(other))
		case hasLatinWords(other) && !hasHan(other):
			t.Errorf("%q: the zh-CN text %q is not Chinese", key, other)
		}
	}
	for key := range zh {
		if _, ok := en[key]; !ok {
			t.Errorf("zh-CN has %q, which en lacks", key)
		}
	}
}

// TestCatalogueCoversCode: every key the modules and the page name exists in the catalogue, so no
// user sees a raw key.
func TestCatalogueCoversCode(t *testing.T) {
	en := readCatalogue(t, "en.js")
	hasPrefix := func(prefix string) bool {
		for key := range en {
			if strings.HasPrefix(key, prefix) {
				return true
			}
		}
		return false
	}
	err := fs.WalkDir(embedded, "static", func(path string, d fs.DirEntry, err error) error {
		// i18n.js documents the markup syntax with example keys; the catalogues are the keys.
		if err != nil || d.IsDir() || strings.Contains(path, "/i18n") {
			return err
		}
		raw, err := fs.ReadFile(embedded, path)
		if err != nil {
			return err
		}
		text := string(raw)
		for _, m := range literalKeyRE.FindAllStringSubmatch(text, -1) {
			if _, ok := en[m[1]]; !ok {
				t.Errorf("%s: t(%q): no such key in the catalogue", path, m[1])
			}
		}
		for _, m := range countKeyRE.FindAllStringSubmatch(text, -1) {
			if _, ok := en[m[1]+".other"]; !ok {
				t.Errorf("%s: tn(%q): no key %s.other in the catalogue", path, m[1], m[1])
			}
		}
		for _, m := range templateKeyRE.FindAllStringSubmatch(text, -1) {
			if !hasPrefix(m[1]) {
				t.Errorf("%s: t(`%s${...}`): no key starts with %q", path, m[1], m[1])
			}
		}
		for _, m := range markupKeyRE.FindAllStringSubmatch(text, -1) {
			if _, ok := en[m[1]]; !ok {
				t.Errorf("%s: data-i18n=%q: no such key", path, m[1])
			}
		}
		for _, m := range markupAttrRE.FindAllStringSubmatch(text, -1) {
			for _, pair := range strings.Fields(m[1]) {
				_, key, _ := strings.Cut(pair, ":")
				if _, ok := en[key]; !ok {
					t.Errorf("%s: data-i18n-attr %q: no such key", path, pair)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Where the client's modules hand text to the user: DOM text and attributes, the labels of
// buttons, menus, banners and dialogs, and the messages its views show.
var (
	uiSinkRE = regexp.MustCompile(`\.(textContent|innerText|title|placeholder|alt)\s*=|setAttribute\(\s*'(aria-label|title|placeholder|alt)'|` +
		`\b(text|ariaLabel|title|label|confirmLabel|message|reason|lead)\s*:|new Option\(|` +
		`\.(announce|setError|setStatus|setPermission|setReceiveOnly|show|append)\(|\bendCall\(`)
	// A JavaScript string literal: '...', "..." or `...` on one line.
	jsStringRE = regexp.MustCompile("'(?:[^'\\\\]|\\\\.)*'|\"(?:[^\"\\\\]|\\\\.)*\"|`(?:[^`\\\\]|\\\\.)*`")
	// English prose: two words in a row, or one capitalised word ("Leave", "(You)").
	proseRE         = regexp.MustCompile(`[A-Za-z]{2,}[,.:;!?'’]?\s+[A-Za-z]{2,}|\b[A-Z][a-z]+\b`)
	interpolationRE = regexp.MustCompile(`\$\{[^}]*\}`)
)

// englishInCode returns the string literals of line that look like English prose handed to the
// user (see uiSinkRE), ignoring comments and what the console and thrown errors say (developers').
func englishInCode(line string) []string {
	code := strings.TrimSpace(line)
	if strings.HasPrefix(code, "//") || strings.HasPrefix(code, "*") || strings.HasPrefix(code, "/*") ||
		strings.Contains(code, "console.") || strings.Contains(code, "Error(") || !uiSinkRE.MatchString(code) {
		return nil
	}
	var out []string
	for _, lit := range jsStringRE.FindAllString(code, -1) {
		body := interpolationRE.ReplaceAllString(lit[1:len(lit)-1], " ")
		if strings.Contains(body, "<") { // markup (icons, the end page's skeleton): its text is checked in the DOM
			continue
		}
		if proseRE.MatchString(technicalRE.ReplaceAllString(body, "")) {
			out = append(out, lit)
		}
	}
	return out
}

func TestEnglishInCodeDetector(t *testing.T) {
	flagged := []string{
		`renderButton(this.leaveBtn, { iconName: 'leave', text: 'Leave', ariaLabel: 'Leave the room' });`,
		"who.textContent = m.mine ? `${m.name} (You)` : m.name;",
		`x.setAttribute('aria-label', 'Dismiss message');`,
		"this.countEl.textContent = n === 1 ? 'Only you' : `${n} people`;",
		`banners.show('screen', { title: "Cannot share the screen.", text: message });`,
	}
	clean := []string{
		`renderButton(this.leaveBtn, { iconName: 'leave', text: t('call.leave'), ariaLabel: t('call.leave.aria') });`,
		"who.textContent = m.mine ? t('common.you', { name: m.name }) : m.name;",
		`x.setAttribute('aria-label', t('banner.dismiss.aria'));`,
		"console.warn(`huddle: no text for ${key}`);",
		"// text: 'Leave' in a comment",
		"add(t('stats.frameRate'), r.fps ? `${Math.round(r.fps)} fps` : '\\u2014');",
		"this.el.setAttribute('aria-label', this.local ? t('tile.youAria', { name }) : name);",
	}
	for _, line := range flagged {
		if len(englishInCode(line)) == 0 {
			t.Errorf("not flagged: %s", line)
		}
	}
	for _, line := range clean {
		if got := englishInCode(line); len(got) > 0 {
			t.Errorf("flagged %v in %s", got, line)
		}
	}
}

// TestNoEnglishInCode: the modules name catalogue keys, not English, wherever text reaches the user.
func TestNoEnglishInCode(t *testing.T) {
	err := fs.WalkDir(embedded, "static/js", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, "/i18n") || !strings.HasSuffix(path, ".js") {
			return err
		}
		raw, err := fs.ReadFile(embedded, path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(raw), "\n") {
			for _, lit := range englishInCode(line) {
				t.Errorf("%s:%d: English shown to the user: %s (put it in the catalogue)", path, i+1, lit)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var (
	markupTextRE  = regexp.MustCompile(`<([a-z0-9]+)([^>]*)>([^<]*[A-Za-z][^<]*)<`)
	markupAttrRE2 = regexp.MustCompile(`\s(aria-label|title|placeholder|alt)="[^"]*[A-Za-z][^"]*"`)
)

// TestMarkupIsTranslated: the page's own text carries data-i18n and its labels data-i18n-attr, so
// translatePage replaces the English left in the markup as a fallback.
func TestMarkupIsTranslated(t *testing.T) {
	raw, err := fs.ReadFile(embedded, "static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	// The document's title and the brand are the product's name; noscript runs no translation.
	page := regexp.MustCompile(`(?s)<title>.*?</title>|<noscript>.*?</noscript>|<!--.*?-->`).ReplaceAllString(string(raw), "")
	for _, m := range markupTextRE.FindAllStringSubmatch(page, -1) {
		if strings.TrimSpace(m[3]) == "Huddle" || strings.Contains(m[2], "data-i18n=") {
			continue
		}
		t.Errorf("index.html: <%s%s> has text %q without data-i18n", m[1], m[2], strings.TrimSpace(m[3]))
	}
	for _, tag := range regexp.MustCompile(`<[a-z][^>]*>`).FindAllString(page, -1) {
		for _, a := range markupAttrRE2.FindAllStringSubmatch(tag, -1) {
			if !strings.Contains(tag, "data-i18n-attr=") || !regexp.MustCompile(`data-i18n-attr="[^"]*\b`+a[1]+`:`).MatchString(tag) {
				t.Errorf("index.html: %s in %s without data-i18n-attr", a[1], tag)
			}
		}
	}
}
