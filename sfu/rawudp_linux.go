//go:build linux && !386

package sfu

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
)

// rawUDPConn is the media socket as pion's UDP mux sees it (net.PacketConn plus pion's allocation-free
// AddrPort methods), with recvfrom and sendto issued as raw system calls through the socket's RawConn.
//
// Why: every read and write of *net.UDPConn enters the scheduler's syscall state, and the first to do
// so after the process has been idle wakes the runtime's monitor thread, which then polls every 20 µs
// until the burst is over. A forwarding node is idle between packets, so that is once per incoming
// packet: measured at 17 % of the server's CPU in the livestream preset. These calls never block (the
// socket is non-blocking; a would-block waits in the netpoller, as the standard library does), so
// they need none of the syscall state's bookkeeping.
//
// Locking: rmu serialises reads and wmu writes (each guards its call's arguments and results). The
// RawConn holds the descriptor open across each call, as the standard library's own reads and writes do.
type rawUDPConn struct {
	conn *net.UDPConn
	raw  syscall.RawConn
	ipv4 bool // an AF_INET socket; otherwise AF_INET6 (IPv4 peers as mapped addresses)

	rmu    sync.Mutex
	rbuf   []byte
	rfrom  syscall.RawSockaddrInet6 // large enough for either family
	rn     int
	rerr   syscall.Errno
	readFn func(fd uintptr) bool // bound once: a method value per call would allocate

	wmu     sync.Mutex
	wbuf    []byte
	wto4    syscall.RawSockaddrInet4
	wto6    syscall.RawSockaddrInet6
	wn      int
	werr    syscall.Errno
	writeFn func(fd uintptr) bool
}

// newMediaConn wraps the media socket; it falls back to the plain socket where the raw one can't be had.
func newMediaConn(conn *net.UDPConn) net.PacketConn {
	raw, err := conn.SyscallConn()
	if err != nil {
		return conn
	}
	local, _ := conn.LocalAddr().(*net.UDPAddr)
	c := &rawUDPConn{conn: conn, raw: raw, ipv4: local != nil && local.IP.To4() != nil && !local.IP.IsUnspecified()}
	if local != nil && local.IP.IsUnspecified() {
		// An unspecified address may have been opened either way: ask the socket.
		var family int
		var serr error
		if cerr := raw.Control(func(fd uintptr) {
			family, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_DOMAIN)
		}); cerr != nil || serr != nil {
			return conn
		}
		c.ipv4 = family == syscall.AF_INET
	}
	c.readFn = c.recvfrom
	c.writeFn = c.sendto
	return c
}

func (c *rawUDPConn) recvfrom(fd uintptr) bool {
	for {
		fromLen := uint32(unsafe.Sizeof(c.rfrom))
		var p unsafe.Pointer
		if len(c.rbuf) > 0 {
			p = unsafe.Pointer(&c.rbuf[0])
		}
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(p), uintptr(len(c.rbuf)), 0,
			uintptr(unsafe.Pointer(&c.rfrom)), uintptr(unsafe.Pointer(&fromLen)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait for the netpoller
		}
		c.rn, c.rerr = int(n), errno
		return true
	}
}

// ReadFromAddrPort reads one datagram.
func (c *rawUDPConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf = b
	err := c.raw.Read(c.readFn)
	c.rbuf = nil
	if err != nil {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Source: c.conn.LocalAddr(), Err: err}
	}
	if c.rerr != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Source: c.conn.LocalAddr(), Err: c.rerr}
	}
	return c.rn, c.fromAddr(), nil
}

func (c *rawUDPConn) fromAddr() netip.AddrPort {
	port := uint16(portBytes(&c.rfrom.Port)[0])<<8 | uint16(portBytes(&c.rfrom.Port)[1])
	if c.rfrom.Family == syscall.AF_INET {
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&c.rfrom))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port)
	}
	ip := netip.AddrFrom16(c.rfrom.Addr)
	if c.rfrom.Scope_id != 0 {
		ip = ip.WithZone(strconv.FormatUint(uint64(c.rfrom.Scope_id), 10)) // link-local only: rare
	}
	return netip.AddrPortFrom(ip, port)
}

func portBytes(p *uint16) *[2]byte { return (*[2]byte)(unsafe.Pointer(p)) }

func (c *rawUDPConn) sendto(fd uintptr) bool {
	to, toLen := unsafe.Pointer(&c.wto6), unsafe.Sizeof(c.wto6)
	if c.ipv4 {
		to, toLen = unsafe.Pointer(&c.wto4), unsafe.Sizeof(c.wto4)
	}
	for {
		var p unsafe.Pointer
		if len(c.wbuf) > 0 {
			p = unsafe.Pointer(&c.wbuf[0])
		}
		n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(p), uintptr(len(c.wbuf)), 0,
			uintptr(to), toLen)
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // the send buffer is full: wait for room, as the standard library does
		}
		c.wn, c.werr = int(n), errno
		return true
	}
}

// WriteToAddrPort sends one datagram to addr.
func (c *rawUDPConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	ip := addr.Addr()
	if ip.Zone() != "" || (c.ipv4 && !ip.Unmap().Is4()) {
		return c.conn.WriteToUDPAddrPort(b, addr) // zoned or foreign-family: the library's errors and zone lookup
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	port := portBytes(&c.wto4.Port)
	if c.ipv4 {
		c.wto4.Family = syscall.AF_INET
		c.wto4.Addr = ip.Unmap().As4()
	} else {
		c.wto6.Family = syscall.AF_INET6
		c.wto6.Addr = ip.As16()
		port = portBytes(&c.wto6.Port)
	}
	port[0], port[1] = byte(addr.Port()>>8), byte(addr.Port())
	c.wbuf = b
	err := c.raw.Write(c.writeFn)
	c.wbuf = nil
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: c.conn.LocalAddr(), Addr: net.UDPAddrFromAddrPort(addr), Err: err}
	}
	if c.werr != 0 {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: c.conn.LocalAddr(), Addr: net.UDPAddrFromAddrPort(addr), Err: c.werr}
	}
	return c.wn, nil
}

// ReadFrom is net.PacketConn's read.
func (c *rawUDPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// WriteTo is net.PacketConn's write.
func (c *rawUDPConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("sfu: media socket: write to %T, not a UDP address", addr)
	}
	return c.WriteToAddrPort(b, ua.AddrPort())
}

func (c *rawUDPConn) Close() error                       { return c.conn.Close() }
func (c *rawUDPConn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c *rawUDPConn) SetDeadline(t time.Time) error      { return c.conn.SetDeadline(t) }
func (c *rawUDPConn) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *rawUDPConn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// mediaNet opens the sockets of a media port listening on every interface (pion's multi-socket mux)
// as rawUDPConns.
type mediaNet struct{ transport.Net }

func newMediaNet() (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("sfu: network interfaces: %w", err)
	}
	return mediaNet{n}, nil
}

func (n mediaNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	conn, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	udp, ok := conn.(*net.UDPConn)
	if !ok {
		return conn, nil
	}
	raw, ok := newMediaConn(udp).(*rawUDPConn)
	if !ok {
		return conn, nil
	}
	return &rawTransportConn{UDPConn: udp, raw: raw}, nil
}

// rawTransportConn is a rawUDPConn with the rest of *net.UDPConn's methods, as pion's Net returns them;
// pion's mux uses only the ones redirected here.
type rawTransportConn struct {
	*net.UDPConn
	raw *rawUDPConn
}

func (c *rawTransportConn) ReadFrom(b []byte) (int, net.Addr, error) { return c.raw.ReadFrom(b) }
func (c *rawTransportConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	return c.raw.WriteTo(b, addr)
}

func (c *rawTransportConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.raw.ReadFromAddrPort(b)
}

func (c *rawTransportConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.raw.WriteToAddrPort(b, addr)
}
