// Package turnserver is the node's embedded TURN relay (pion/turn) for clients whose network blocks
// UDP or everything but TLS: TURN over UDP, TCP and TLS, relaying only to the node's own media port.
//
// Credentials follow the TURN REST scheme (MintCredentials), so an external coturn with the same
// secret accepts the same ones. The embedded server asks more: the credential's user must be admitted
// (Admit) — a live signalling session — and Revoke stops that user's relays at once, so a participant
// who left can neither allocate nor keep relaying. An Allocate needs an unexpired credential; Refresh,
// CreatePermission and ChannelBind of an admitted user are accepted after the expiry, so a call longer
// than the credential's lifetime keeps its relay.
//
// The package knows TURN and sockets; it knows nothing of sessions, tokens or JSON. The caller opens
// the listeners (it knows which ports and which certificate) and says which peer addresses are the
// node's media port (Config.Peer).
//
// Locking: Server.mu guards the admitted users and their relays; it is a leaf, never held across I/O
// (Revoke stops the relays after letting go). pion's server calls the auth, quota and relay callbacks
// from its listener goroutines, concurrently with Admit and Revoke from the signalling goroutines.
// Goroutines: pion's (one reader per listener, per TCP/TLS connection and per allocation), all ended
// by Close; a revoked relay's close timer (revokeGrace) ends by itself.
package turnserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// Config sets up the relay.
type Config struct {
	// Listeners; each may be nil, at least one must be set. TLS is a listener that already speaks TLS.
	UDP net.PacketConn
	TCP net.Listener
	TLS net.Listener
	// RelayBindIP is where relay sockets listen; RelayIP is the relayed address clients are told
	// (a public IP behind 1:1 NAT).
	RelayBindIP, RelayIP net.IP
	// PortMin, PortMax bound the relay sockets' ports (both 0: any free port).
	PortMin, PortMax int
	// Realm names the server in its challenges.
	Realm string
	// Secret is the REST credentials' shared secret.
	Secret string
	// Peer says whether a peer address is the node's media port, and where that really listens: the
	// address itself, or for an address the node advertises through NAT, the local one.
	Peer func(netip.AddrPort) (netip.AddrPort, bool)
	// MaxAllocationsPerUser caps one user's relays (0: 16). A browser makes one per PeerConnection and
	// TURN URL.
	MaxAllocationsPerUser int
	// Logger receives the relay's logs; nil means slog.Default().
	Logger *slog.Logger
	// LoggerFactory receives pion's own logs; nil: pion's default (warnings to stderr).
	LoggerFactory logging.LoggerFactory
}

// Server is a running relay.
type Server struct {
	cfg  Config
	log  *slog.Logger
	turn *turn.Server

	mu    sync.Mutex
	users map[string]map[*relayConn]struct{} // admitted users and their relays
}

// New starts the relay on the given listeners.
func New(cfg Config) (*Server, error) {
	if cfg.UDP == nil && cfg.TCP == nil && cfg.TLS == nil {
		return nil, errors.New("turn: no listener")
	}
	if cfg.Secret == "" || cfg.Peer == nil {
		return nil, errors.New("turn: a secret and a peer check are needed")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAllocationsPerUser == 0 {
		cfg.MaxAllocationsPerUser = 16
	}
	if cfg.Realm == "" {
		cfg.Realm = "huddle"
	}
	s := &Server{cfg: cfg, log: cfg.Logger, users: make(map[string]map[*relayConn]struct{})}
	gen := &relayGenerator{srv: s, bindIP: cfg.RelayBindIP, advertise: cfg.RelayIP, min: cfg.PortMin, max: cfg.PortMax}
	if err := gen.Validate(); err != nil {
		return nil, err
	}
	permit := func(_ net.Addr, peerIP net.IP) bool {
		ip, ok := netip.AddrFromSlice(peerIP)
		if !ok {
			return false
		}
		// The port is checked per datagram (relayConn); a permission is per IP.
		_, allowed := cfg.Peer(netip.AddrPortFrom(ip.Unmap(), 0))
		return allowed
	}
	sc := turn.ServerConfig{
		Realm: cfg.Realm, AuthHandler: s.authenticate, QuotaHandler: s.quota,
		LoggerFactory: cfg.LoggerFactory,
	}
	if cfg.UDP != nil {
		enlargeBuffers(cfg.UDP)
		sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{PacketConn: cfg.UDP, RelayAddressGenerator: gen, PermissionHandler: permit})
	}
	for _, ln := range []net.Listener{cfg.TCP, cfg.TLS} {
		if ln != nil {
			sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{Listener: newDrainingListener(ln), RelayAddressGenerator: gen, PermissionHandler: permit})
		}
	}
	srv, err := turn.NewServer(sc)
	if err != nil {
		return nil, fmt.Errorf("turn: %w", err)
	}
	s.turn = srv
	return s, nil
}

// authenticate is pion's AuthHandler: a REST credential of an admitted user, unexpired for an Allocate.
func (s *Server) authenticate(ra *turn.RequestAttributes) (string, []byte, bool) {
	expiry, user, ok := parseUsername(ra.Username)
	if !ok {
		s.log.Debug("turn: refused: not a REST username", "from", ra.SrcAddr.String())
		return "", nil, false
	}
	if !s.admitted(user) {
		s.log.Info("turn: refused: no live session for the credential", "user", user, "from", ra.SrcAddr.String(), "method", ra.Method.String())
		return "", nil, false
	}
	if ra.Method == stun.MethodAllocate && time.Now().After(expiry) {
		s.log.Info("turn: refused: credential expired", "user", user, "expired", expiry.UTC().Format(time.RFC3339))
		return "", nil, false
	}
	// A wrong password fails pion's MESSAGE-INTEGRITY check against this key.
	return user, turn.GenerateAuthKey(ra.Username, ra.Realm, restPassword(s.cfg.Secret, ra.Username)), true
}

// quota is pion's QuotaHandler (called with the user authenticate returned): a user has at most
// MaxAllocationsPerUser relays.
func (s *Server) quota(user, _ string, _ net.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	relays, live := s.users[user]
	return live && len(relays) < s.cfg.MaxAllocationsPerUser
}

// Credentials mints a REST credential for user, valid until expiry.
func (s *Server) Credentials(user string, expiry time.Time) (username, password string) {
	return MintCredentials(s.cfg.Secret, user, expiry)
}

// Admit lets user's credentials allocate relays.
func (s *Server) Admit(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[user] == nil {
		s.users[user] = make(map[*relayConn]struct{})
	}
}

// Revoke refuses user's credentials from now on and stops the user's relays at once; their sockets
// close, and so their allocations end, a few seconds later (relayConn.revoke says why).
func (s *Server) Revoke(user string) {
	s.mu.Lock()
	relays := s.users[user]
	delete(s.users, user)
	s.mu.Unlock()
	for rc := range relays {
		rc.revoke()
	}
}

func (s *Server) admitted(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.users[user]
	return ok
}

// addRelay records a user's new relay; false when the user is no longer admitted.
func (s *Server) addRelay(user string, rc *relayConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	relays, ok := s.users[user]
	if ok {
		relays[rc] = struct{}{}
	}
	return ok
}

func (s *Server) dropRelay(user string, rc *relayConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users[user], rc)
}

// Allocations is how many relays are open.
func (s *Server) Allocations() int { return s.turn.AllocationCount() }

// Close ends every allocation and closes the listeners.
func (s *Server) Close() error {
	if err := s.turn.Close(); err != nil {
		return fmt.Errorf("turn: close: %w", err)
	}
	return nil
}
