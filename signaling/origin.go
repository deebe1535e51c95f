package signaling

import (
	"net/http"
	"net/url"
	"strings"
)

// CodeOriginNotAllowed starts the body of the 403 a refused WebSocket upgrade gets.
const CodeOriginNotAllowed = "origin_not_allowed"

// originAllowed decides whether the page that opens a socket may: a request without Origin (not a
// browser: the Go client, the load tester), a page of this very host (the bundled client), or one of
// Config.AllowedOrigins. Otherwise another site could open a socket on a visitor's behalf.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, pattern := range s.cfg.AllowedOrigins {
		if originMatches(pattern, u) {
			return true
		}
	}
	return false
}

// originMatches compares an origin with an allowed pattern: scheme://host[:port], where the host may
// start with "*." for any subdomain (not the domain itself).
func originMatches(pattern string, origin *url.URL) bool {
	p, err := url.Parse(pattern)
	if err != nil || !strings.EqualFold(p.Scheme, origin.Scheme) {
		return false
	}
	if p.Port() != origin.Port() {
		return false
	}
	want, got := strings.ToLower(p.Hostname()), strings.ToLower(origin.Hostname())
	if rest, ok := strings.CutPrefix(want, "*."); ok {
		return strings.HasSuffix(got, "."+rest)
	}
	return want == got
}

// refuseOrigin answers a refused upgrade with 403 and says why, in words an integrator can act on.
func refuseOrigin(w http.ResponseWriter, r *http.Request) {
	http.Error(w, CodeOriginNotAllowed+": a page at "+r.Header.Get("Origin")+
		" may not open a signalling socket on this server; only its own pages and the origins in http.allowed_origins may",
		http.StatusForbidden)
}
