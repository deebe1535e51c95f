// Package web is Huddle's bundled browser client.
//
// Its job: serve the static client (index.html, three stylesheets and plain ES modules
// under js/) that ships inside the server binary. The files are embedded
// (embed package) and served as they are: there is no build step, no npm and no
// bundler, so what is in static/ is exactly what the browser runs.
//
// The client speaks the signalling protocol of signaling/PROTOCOL.md over
// /ws on the same host; this package only serves files and knows nothing of
// the protocol.
//
// Locking rules: none. The embedded file system is read-only and the ETag
// table is built once in Handler and never written afterwards, so a Handler
// is safe for concurrent use without locks.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var embedded embed.FS

// contentType pins the types of the files we ship. Go's mime table is
// extended from the host's /etc/mime.types, which on some systems maps .js to
// application/x-javascript; browsers refuse ES modules served with a wrong
// type, so we do not leave it to the host. "" leaves it to net/http.
func contentType(ext string) string {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".json":
		return "application/json"
	default:
		return ""
	}
}

// contentSecurityPolicy applies to the HTML page. Everything the client loads
// comes from this origin; media arrives as MediaStreams, never as URLs.
// 'self' in connect-src also allows ws:/wss: to the same host in current
// browsers.
const contentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob: mediastream:; object-src 'none'; base-uri 'none'; form-action 'self'"

// Handler serves the embedded client at "/": index.html at "/", modules
// under "/js/", the stylesheets at "/style.css", "/rooms.css", "/roster.css"
// and "/network.css". Mount it at the root of the HTTP mux; /ws and other
// server routes take precedence by being more specific.
//
// Caching: the file names carry no content hash (there is no build step), so
// every response is "no-cache" with a strong ETag derived from the content.
// Browsers revalidate each file and get a cheap 304 until the binary changes,
// which keeps index.html and its modules from ever mixing versions.
func Handler() http.Handler {
	static, err := fs.Sub(embedded, "static")
	if err != nil {
		// fs.Sub only fails on an invalid path; "static" is a constant.
		panic("web: " + err.Error())
	}
	etags := contentETags(static)
	files := http.FileServerFS(static)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		// Directory listings would expose nothing secret but look broken;
		// only the root serves an index.
		if p != "/" && strings.HasSuffix(p, "/") {
			http.NotFound(w, r)
			return
		}
		name := strings.TrimPrefix(p, "/")
		if name == "" {
			name = "index.html"
		}
		h := w.Header()
		ext := path.Ext(name)
		if ct := contentType(ext); ct != "" {
			h.Set("Content-Type", ct)
		}
		if tag, ok := etags[name]; ok {
			// http.FileServerFS honours If-None-Match against this header.
			h.Set("ETag", tag)
		}
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if ext == ".html" {
			h.Set("Content-Security-Policy", contentSecurityPolicy)
		}
		files.ServeHTTP(w, r)
	})
}

// StatusPage serves the admins' status page (static/admin/status.html) for GET /admin/. The page holds
// no data: it asks the admin API, with the admin's token, from the browser.
func StatusPage() http.Handler {
	files := Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/admin/status.html"
		files.ServeHTTP(w, r2)
	})
}

// contentETags hashes every embedded file once. Embedded files have no
// modification time, so without an ETag the browser could not revalidate.
func contentETags(fsys fs.FS) map[string]string {
	tags := make(map[string]string)
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[p] = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return tags
}
