package signaling

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
	"github.com/huddlehq/huddle/signaling/recording"
	"github.com/huddlehq/huddle/signaling/webhook"
)

// Config tunes the control plane. Zero values take the defaults in PROTOCOL.md.
type Config struct {
	// Observer is told of joins and errors for the node's metrics (observer.go); nil: nobody.
	Observer   Observer
	ICEServers []protocol.ICEServer // handed to clients in `joined` when ICEIssuer is nil
	// ICEIssuer issues each session ICE servers with credentials of its own (TURN) and revokes them
	// when it ends; nil: ICEServers for everyone.
	ICEIssuer ICEIssuer
	// AllowedOrigins are web origins (scheme://host[:port], the host may start with "*.") besides the
	// node's own whose pages may open a socket (origin.go).
	AllowedOrigins []string
	// CheckLifetime is how long a connectivity check's PeerConnection lives (20 s).
	CheckLifetime time.Duration
	JoinTimeout   time.Duration // a socket must join within this (30 s)
	PingInterval  time.Duration // server pings (15 s); a socket silent for 3 intervals is closed
	WriteTimeout  time.Duration // one write to a socket (10 s)
	QueueLength   int           // outgoing messages a session may have queued (512)
	Logger        *slog.Logger

	// Keys verifies join tokens; nil: no token verifies (only dev-mode joins get in).
	Keys *auth.Keyring
	// DevTrustLoopback (dev mode) admits a join without a token from this machine with a host's rights.
	DevTrustLoopback bool
	// Rooms are configured rooms: they exist from the start with their policy, and come back with it
	// when a join recreates them after an admin closed them.
	Rooms map[string]auth.Policy
	// Webhooks receives room events; nil: none are sent. It must not block (webhook.Notifier does not).
	Webhooks webhook.Sink
	// Cluster turns on cluster mode (rooms placed and relayed through Redis); nil: a node alone.
	Cluster *ClusterConfig
	// PublicURL is the base of the join links a host creates in a call (create_invite), e.g.
	// https://meet.example.org; empty: the scheme and Host of the session's WebSocket request.
	PublicURL string
	// RequestTLS reports whether a request came over TLS, for that scheme; nil: r.TLS != nil. A node
	// whose HTTPS shares its port with TURN hands requests over without r.TLS and says so here.
	RequestTLS func(r *http.Request) bool
	// Recorder records calls (recording.go); nil: recording is off on this node.
	Recorder *recording.Recorder
	// Limits bound every door (limits.go); zero fields take the defaults.
	Limits Limits
}

func (c *Config) setDefaults() {
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	if c.JoinTimeout == 0 {
		c.JoinTimeout = 30 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 15 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.QueueLength == 0 {
		c.QueueLength = 512
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Limits = c.Limits.withDefaults()
}

// Server accepts WebSockets and runs their sessions. It is an http.Handler for the /ws endpoint.
type Server struct {
	cfg      Config
	media    Media
	log      *slog.Logger
	upgrader websocket.Upgrader

	mu       sync.Mutex
	rooms    map[string]*room
	sessions map[*Session]struct{}
	closed   bool
	wg       sync.WaitGroup // one per running session

	conns connLimiter // open sockets per address and on the node (connlimit.go)
	joins joinLimiter // join and preflight buckets per address (connlimit.go)

	claims   claimTable         // cluster mode: this node's holds on room claims
	bg       sync.WaitGroup     // cluster mode: acceptLoop, syncLoop, claim releases
	bgCancel context.CancelFunc // ends acceptLoop and syncLoop
}

// New returns a Server driving media.
func New(media Media, cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{
		cfg: cfg, media: media, log: cfg.Logger,
		// ServeHTTP checks the origin itself (origin.go), to refuse with a reason.
		upgrader: websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: func(*http.Request) bool { return true }},
		rooms:    make(map[string]*room),
		sessions: make(map[*Session]struct{}),
	}
	for name := range cfg.Rooms {
		s.rooms[name] = s.newRoom(name)
	}
	s.claims.held = make(map[string]*claimHold)
	ctx, cancel := context.WithCancel(context.Background())
	s.bgCancel = cancel
	if cfg.Cluster != nil {
		s.bg.Add(2)
		go s.acceptLoop(ctx)
		go s.syncLoop(ctx)
	}
	return s
}

// RoomsLost is told (cluster mode) of rooms another node took over while this one could not reach
// Redis: their members here are sent to reconnect, which brings them to the new owner.
func (s *Server) RoomsLost(rooms []string) { s.disown(rooms) }

// ServeHTTP upgrades the request and runs the session until it ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		s.log.Info("websocket refused: foreign origin", "origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr)
		refuseOrigin(w, r)
		return
	}
	release, ok := s.admitSocket(w, r)
	if !ok {
		return // admitSocket has answered 429 or 503
	}
	defer release() // the session has ended: its place goes to the next socket
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("websocket upgrade refused", "remote", r.RemoteAddr, "err", err)
		return // the upgrader has written the HTTP error
	}
	sess := newSession(s, newWSTransport(conn, s.cfg), r.RemoteAddr, s.cfg.DevTrustLoopback && auth.LoopbackRequest(r))
	sess.linkBase = s.linkBase(r)
	if !s.track(sess) {
		sess.closeWith(websocket.CloseGoingAway, "server shutting down")
		sess.writeLoop()
		sess.conn.release()
		return
	}
	defer s.untrack(sess)
	sess.run()
}

func (s *Server) track(sess *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(sess *Session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	s.wg.Done()
}

// room returns the named room, creating it.
func (s *Server) room(name string) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[name]
	if r == nil {
		r = s.newRoom(name)
		s.rooms[name] = r
	}
	return r
}

// newRoom makes a room; a configured one gets its policy and is kept when empty.
func (s *Server) newRoom(name string) *room {
	r := &room{name: name, srv: s, members: make(map[string]*Session),
		bans: make(map[string]bool), grants: make(map[string]auth.Grants)}
	if p, ok := s.cfg.Rooms[name]; ok {
		r.policy, r.hasPolicy, r.managed = p, true, true
	}
	return r
}

// lookup returns the named room or nil; it never creates one.
func (s *Server) lookup(name string) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[name]
}

// roomList returns every room.
func (s *Server) roomList() []*room {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		out = append(out, r)
	}
	return out
}

// notify hands a room event to the webhooks. It never blocks, so callers may hold room locks (which is
// what keeps each room's events in order).
func (s *Server) notify(ev webhook.Event) {
	if s.cfg.Webhooks != nil {
		s.cfg.Webhooks.Notify(ev)
	}
}

// dropRoomIfEmpty forgets a room whose last member left, unless it is managed; room.mu must not be held.
func (s *Server) dropRoomIfEmpty(r *room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.name] == r && r.dropIfEmpty() {
		delete(s.rooms, r.name)
		r.forgetPersisted(r.droppedVersion())
	}
}

// Stats counts what the control plane holds.
type Stats struct{ Sessions, Rooms int }

// Stats returns the number of open sessions and rooms.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Sessions: len(s.sessions), Rooms: len(s.rooms)}
}

// Close refuses new sessions, tells every open session the server is going away, and waits for them to
// end or for ctx.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	open := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		open = append(open, sess)
	}
	s.mu.Unlock()
	for _, sess := range open {
		sess.closeWith(websocket.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		s.bgCancel()
		s.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("signaling: %d sessions still open: %w", len(open), ctx.Err())
	}
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newParticipantID returns "P" and 10 random base32 characters.
func newParticipantID() string {
	var b [7]byte
	_, _ = rand.Read(b[:])
	return "P" + idEncoding.EncodeToString(b[:])[:10]
}

// newSessionID returns "S" and 26 random base32 characters: a relayed session's id, unique in the
// cluster.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "S" + idEncoding.EncodeToString(b[:])
}
