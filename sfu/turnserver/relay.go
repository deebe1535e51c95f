package turnserver

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/turn/v5"
)

// errNotMedia is what a relay write to anything but the node's media port returns.
var errNotMedia = errors.New("turn: relaying only to this node's media port")

// relayGenerator opens the relay socket of each UDP allocation, inside the configured port range, and
// wraps it so it talks only to the node's media port. TCP allocations (RFC 6062) are refused: an SFU's
// client only ever needs the UDP media port.
type relayGenerator struct {
	srv       *Server
	bindIP    net.IP // where relay sockets listen
	advertise net.IP // the relayed address clients are told
	min, max  int    // port range; 0, 0: any free port
}

var _ turn.RelayAddressGenerator = (*relayGenerator)(nil)

func (g *relayGenerator) Validate() error {
	if g.bindIP == nil || g.advertise == nil {
		return errors.New("turn: relay addresses not set")
	}
	if g.min < 0 || g.max > 65535 || g.min > g.max || (g.min == 0) != (g.max == 0) {
		return fmt.Errorf("turn: relay port range %d-%d is not a range of ports", g.min, g.max)
	}
	return nil
}

func (g *relayGenerator) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	if !g.srv.admitted(conf.UserID) {
		return nil, nil, errors.New("turn: no live session")
	}
	conn, err := g.listen(conf.Network, conf.RequestedPort)
	if err != nil {
		return nil, nil, err
	}
	local, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		_ = conn.Close()
		return nil, nil, errors.New("turn: relay socket has no UDP address")
	}
	rc := &relayConn{PacketConn: conn, srv: g.srv, peer: g.srv.cfg.Peer, user: conf.UserID}
	if !g.srv.addRelay(conf.UserID, rc) { // revoked meanwhile
		_ = conn.Close()
		return nil, nil, errors.New("turn: no live session")
	}
	return rc, &net.UDPAddr{IP: g.advertise, Port: local.Port}, nil
}

// listen opens a relay socket: on the requested port if it is in the range, else on a random port of
// the range (a few tries), else anywhere when no range is set.
func (g *relayGenerator) listen(network string, requested int) (net.PacketConn, error) {
	open := func(port int) (net.PacketConn, error) {
		pc, err := net.ListenPacket(network, net.JoinHostPort(g.bindIP.String(), strconv.Itoa(port)))
		if err == nil {
			enlargeBuffers(pc)
		}
		return pc, err
	}
	if g.min == 0 {
		return open(0)
	}
	if requested != 0 {
		if requested < g.min || requested > g.max {
			return nil, fmt.Errorf("turn: requested port %d is outside the relay range", requested)
		}
		return open(requested)
	}
	var err error
	for range 16 {
		var conn net.PacketConn
		if conn, err = open(g.min + rand.IntN(g.max-g.min+1)); err == nil { //nolint:gosec // a port, not a secret
			return conn, nil
		}
	}
	return nil, fmt.Errorf("turn: no free relay port in %d-%d: %w", g.min, g.max, err)
}

func (g *relayGenerator) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errors.New("turn: TCP allocations are not offered")
}

func (g *relayGenerator) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errors.New("turn: TCP allocations are not offered")
}

// relayConn is one allocation's relay socket, talking only to the node's media port: a write elsewhere
// fails and a datagram from elsewhere is dropped, so a participant cannot use the relay to reach the
// server's network (or anyone else). A write to an address the node advertises for itself (a public IP
// behind 1:1 NAT) goes to where its media socket really listens (Peer's answer), so relayed media never
// depends on the NAT hairpinning the public address back to this host; the replies, which come from
// that real address, are reported as coming from the advertised one, which is the address the client's
// permission and channel name.
//
// Locking: ReadFrom runs on the allocation's one reader goroutine, WriteTo on the TURN listener's
// goroutines; the wrapped socket allows both concurrently, and the one rewrite they share is an atomic
// pointer.
type relayConn struct {
	net.PacketConn
	srv     *Server
	peer    func(netip.AddrPort) (netip.AddrPort, bool)
	user    string
	rewrite atomic.Pointer[rewrite] // the latest advertised → real mapping a write used
	revoked atomic.Bool             // the user left: relay nothing more either way
	once    sync.Once
}

// errRevoked is what a relay write returns once its user's session has ended.
var errRevoked = errors.New("turn: the relay's session has ended")

// revokeGrace is how long a revoked relay's socket stays open, relaying nothing, before it is closed.
// Closing it makes pion delete the allocation from the relay's own goroutine; a request of the same
// client that passed authentication just before the revocation may still be adding a permission to
// that allocation on the listener's goroutine, which pion/turn v5.1.0 does not synchronise with the
// deletion (allocation.go Close / permission.go start). After the grace, that request is long done.
const revokeGrace = 5 * time.Second

// revoke stops the relay at once and closes its socket after revokeGrace.
func (c *relayConn) revoke() {
	if c.revoked.Swap(true) {
		return
	}
	time.AfterFunc(revokeGrace, func() { _ = c.Close() })
}

// Close closes the socket (which ends its allocation) and forgets it; revoke (after its grace) and
// pion both call it, and only the first does anything.
func (c *relayConn) Close() error {
	var err error
	c.once.Do(func() {
		c.srv.dropRelay(c.user, c)
		err = c.PacketConn.Close()
	})
	return err
}

// rewrite keeps the net.UDPAddr forms too, so that relaying a packet allocates none.
type rewrite struct {
	advertised, real         netip.AddrPort
	advertisedAddr, realAddr *net.UDPAddr
}

func (c *relayConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, from, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, from, err
		}
		if c.revoked.Load() {
			continue
		}
		ap, ok := udpAddrPort(from)
		if !ok {
			continue
		}
		if rw := c.rewrite.Load(); rw != nil && rw.real == ap {
			return n, rw.advertisedAddr, nil
		}
		if real, allowed := c.peer(ap); allowed && real == ap {
			return n, from, nil
		}
	}
}

func (c *relayConn) WriteTo(b []byte, to net.Addr) (int, error) {
	if c.revoked.Load() {
		return 0, errRevoked
	}
	ap, ok := udpAddrPort(to)
	if !ok {
		return 0, errNotMedia
	}
	real, allowed := c.peer(ap)
	if !allowed {
		return 0, errNotMedia
	}
	if real == ap {
		return c.PacketConn.WriteTo(b, to)
	}
	rw := c.rewrite.Load()
	if rw == nil || rw.advertised != ap || rw.real != real {
		rw = &rewrite{advertised: ap, real: real, advertisedAddr: net.UDPAddrFromAddrPort(ap), realAddr: net.UDPAddrFromAddrPort(real)}
		c.rewrite.Store(rw)
	}
	return c.PacketConn.WriteTo(b, rw.realAddr)
}

func udpAddrPort(a net.Addr) (netip.AddrPort, bool) {
	u, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := u.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// socketBufferSize is what relay and listener sockets ask the kernel for, each way. The kernel's
// default (about 200 KB) overflows within milliseconds when a call's video bursts through one relay
// socket (a keyframe is dozens of packets at once): measured, the relay lost most packets of a 30-person
// meeting with it. The kernel caps the request at net.core.rmem_max/wmem_max.
const socketBufferSize = 8 << 20

// enlargeBuffers asks for socketBufferSize on a UDP socket; a refusal leaves the default (not fatal).
func enlargeBuffers(pc net.PacketConn) {
	if c, ok := pc.(interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
	}); ok {
		_ = c.SetReadBuffer(socketBufferSize)
		_ = c.SetWriteBuffer(socketBufferSize)
	}
}
