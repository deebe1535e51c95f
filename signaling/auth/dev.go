package auth

import (
	"net"
	"net/http"
)

// LoopbackRequest reports whether r comes straight from this machine: a loopback peer address and no
// proxy forwarding headers. Dev mode trusts such requests; a reverse proxy on the same machine would make
// every request look local, so a forwarded request is never trusted.
func LoopbackRequest(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
