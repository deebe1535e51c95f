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

// hasLatinWords reports whether s, placeholders removed, still has ASCII letters that are not one
// of the technical names users see as they are (UDP, TCP, TURN, ...).
func hasLatinWords(s string) bool {
	s = placeholderRE.ReplaceAllString(s, "")
	for _, word := range []string{"UDP", "TCP", "TURN", "TLS", "NAT", "srflx", "prflx", "relay=", "Huddle"} {
		s = strings.ReplaceAll(s, word, "")
	}
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
