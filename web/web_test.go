package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/huddlehq/huddle/web"
)

func get(t *testing.T, h http.Handler, path string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandlerServesClient(t *testing.T) {
	h := web.Handler()
	for _, tc := range []struct {
		path, contentType, bodyHas string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/js/app.js">`},
		{"/style.css", "text/css; charset=utf-8", ":root"},
		{"/rooms.css", "text/css; charset=utf-8", ".device-panel"},
		{"/network.css", "text/css; charset=utf-8", ".net-check"},
		{"/roster.css", "text/css; charset=utf-8", ".roster"},
		{"/js/app.js", "text/javascript; charset=utf-8", "import { Session }"},
		{"/js/signaling.js", "text/javascript; charset=utf-8", "export class Signaling"},
	} {
		res := get(t, h, tc.path, nil)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", tc.path, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != tc.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.contentType)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", tc.path, got)
		}
		if res.Header.Get("ETag") == "" {
			t.Errorf("GET %s: no ETag", tc.path)
		}
		if !strings.Contains(string(body), tc.bodyHas) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.bodyHas)
		}
	}
	if csp := get(t, h, "/", nil).Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("GET /: Content-Security-Policy %q, want default-src 'self'", csp)
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	h := web.Handler()
	tag := get(t, h, "/js/session.js", nil).Header.Get("ETag")
	res := get(t, h, "/js/session.js", map[string]string{"If-None-Match": tag})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match %s: status %d, want 304", tag, res.StatusCode)
	}
}

func TestHandlerNotFound(t *testing.T) {
	h := web.Handler()
	for _, path := range []string{"/js/", "/nope.js", "/static/style.css"} {
		if res := get(t, h, path, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, res.StatusCode)
		}
	}
}
