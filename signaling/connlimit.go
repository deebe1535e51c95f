package signaling

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// Sockets and joins per source address (PROTOCOL.md "Limits").
//
// Before ServeHTTP upgrades a request it takes a place in the socket table: at most
// Limits.MaxSocketsPerAddress open WebSockets from one IP address (more: 429 too_many_connections) and
// Limits.MaxSockets on the node (more: 503 server_busy, with Retry-After). The place is given back when
// ServeHTTP returns, i.e. when the session has ended. A refused request costs a map look-up and a short
// HTTP answer, nothing more.
//
// join and preflight messages are charged to a token bucket per IP address (Limits.JoinsPerAddress)
// through Server.allowJoin, so that one address cannot make the node join rooms, issue TURN credentials
// and build PeerConnections faster than people do, however many sockets it spreads the work over.
//
// An address is an IP (an IPv4-mapped IPv6 address counts as its IPv4 address), without the port;
// behind a reverse proxy every client has the proxy's address.
//
// Bounds: the socket table holds only addresses with an open socket, at most Limits.MaxSockets of them.
// The join table drops buckets that are full again (a full bucket is the same as none) every
// joinSweepEvery calls, and holds at most maxJoinBuckets: when it is full even after a sweep (that many
// addresses each joined within the last Burst/PerSecond seconds), a new address is refused until buckets
// fill up again. It never grows with what an attacker sends.
//
// Locking: connLimiter.mu and joinLimiter.mu are leaves: nothing is called and no other lock is taken
// while either is held (logging and the HTTP answer come after). No goroutines.

// Codes of the JSON body ({"code": ..., "message": ...}) of a refused upgrade.
const (
	CodeTooManyConnections = "too_many_connections" // 429: this address has Limits.MaxSocketsPerAddress sockets open
	CodeServerBusy         = "server_busy"          // 503: the node has Limits.MaxSockets sockets open
)

// busyRetryAfter is the Retry-After of a 503 server_busy: sockets end by the second on a full node.
const busyRetryAfter = 10 * time.Second

const (
	joinSweepEvery = 1024        // allowJoin calls between two sweeps of the join table
	maxJoinBuckets = 1 << 16     // addresses the join table holds at most
	minSweepGap    = time.Second // a full table is swept again at most this often (a sweep is O(table))
)

// addressKey is the source address of a remote "host:port" (or a bare host): the IP, IPv4-mapped
// addresses unmapped. An unparseable address is its own key.
func addressKey(remote string) string {
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().WithZone("").String()
	}
	return host
}

// refusal says why a socket was refused; refuseNone: it was not.
type refusal uint8

const (
	refuseNone refusal = iota
	refuseAddress
	refuseNode
)

// connLimiter counts open sockets per address and on the node. The zero value is ready.
type connLimiter struct {
	mu     sync.Mutex
	byAddr map[string]int // only addresses with a socket open
	total  int
}

// acquire takes a place for a socket from addr, or says why not. The caller must release a place taken.
func (c *connLimiter) acquire(addr string, perAddress, total int) refusal {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byAddr[addr] >= perAddress {
		return refuseAddress
	}
	if c.total >= total {
		return refuseNode
	}
	if c.byAddr == nil {
		c.byAddr = make(map[string]int)
	}
	c.byAddr[addr]++
	c.total++
	return refuseNone
}

// release gives back a place acquire took.
func (c *connLimiter) release(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.byAddr[addr]; n > 1 {
		c.byAddr[addr] = n - 1
	} else {
		delete(c.byAddr, addr)
	}
	c.total--
}

// counts returns the open sockets of addr and of the node.
func (c *connLimiter) counts(addr string) (perAddress, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byAddr[addr], c.total
}

// joinLimiter is a token bucket per address. The zero value is ready; the rate is passed with each call
// (it is the server's, fixed at New).
type joinLimiter struct {
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	calls     int       // since the last sweep
	lastSweep time.Time // of a full table
	max       int       // buckets held at most; 0: maxJoinBuckets
}

// allow charges one join from addr at now.
func (j *joinLimiter) allow(addr string, r Rate, now time.Time) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.buckets == nil {
		j.buckets = make(map[string]*rate.Limiter)
	}
	if j.calls++; j.calls >= joinSweepEvery {
		j.sweep(r, now)
	}
	b := j.buckets[addr]
	if b == nil {
		limit := j.max
		if limit <= 0 {
			limit = maxJoinBuckets
		}
		if len(j.buckets) >= limit && now.Sub(j.lastSweep) >= minSweepGap {
			j.lastSweep = now
			j.sweep(r, now)
		}
		if len(j.buckets) >= limit {
			return false
		}
		b = rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)
		j.buckets[addr] = b
	}
	return b.AllowN(now, 1)
}

// sweep drops the buckets that are full at now: a full bucket allows what a new one would. j.mu is held.
func (j *joinLimiter) sweep(r Rate, now time.Time) {
	j.calls = 0
	for addr, b := range j.buckets {
		if b.TokensAt(now) >= float64(r.Burst) {
			delete(j.buckets, addr)
		}
	}
}

// size is the number of buckets held.
func (j *joinLimiter) size() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.buckets)
}

// allowJoin charges a join or preflight from the client at remoteAddr ("ip:port", as in
// http.Request.RemoteAddr) to its address's bucket; false: answer rate_limited.
func (s *Server) allowJoin(remoteAddr string) bool {
	return s.joins.allow(addressKey(remoteAddr), s.cfg.Limits.JoinsPerAddress, time.Now())
}

// admitSocket takes a place in the socket table for r before the upgrade. When it returns false it has
// answered the request (and logged why); otherwise the caller must call release once the session ends.
func (s *Server) admitSocket(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	addr := addressKey(r.RemoteAddr)
	lim := s.cfg.Limits
	switch s.conns.acquire(addr, lim.MaxSocketsPerAddress, lim.MaxSockets) {
	case refuseAddress:
		s.log.Info("websocket refused: too many sockets from this address", "remote", r.RemoteAddr, "limit", lim.MaxSocketsPerAddress)
		refuseSocket(w, http.StatusTooManyRequests, protocol.Errorf(CodeTooManyConnections,
			"this address has %d signalling sockets open, the most this server allows (limits.max_sockets_per_address); close one first",
			lim.MaxSocketsPerAddress))
		return nil, false
	case refuseNode:
		s.log.Info("websocket refused: node full", "remote", r.RemoteAddr, "limit", lim.MaxSockets)
		w.Header().Set("Retry-After", strconv.Itoa(int(busyRetryAfter/time.Second)))
		refuseSocket(w, http.StatusServiceUnavailable, protocol.Errorf(CodeServerBusy,
			"this server has %d signalling sockets open, the most it allows (limits.max_sockets); try again later or another node",
			lim.MaxSockets))
		return nil, false
	}
	return func() { s.conns.release(addr) }, true
}

// refuseSocket answers a refused upgrade with status and a JSON body {"code", "message"}.
func refuseSocket(w http.ResponseWriter, status int, perr *protocol.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(perr)
}
