package sfu

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// socketBufferSize is what the media socket asks the kernel for, each way.
const socketBufferSize = 8 << 20

// tcpWriteBufferSize bounds what one ICE/TCP connection queues when its client reads slowly: beyond it
// pion's TCP mux drops packets rather than blocking the fan-out (a congested TCP client loses its own
// video, as a UDP one would).
const tcpWriteBufferSize = 4 << 20

// How long the controlling ICE agent (ours on subscribe PeerConnections) waits, from the start of the
// checks, before it nominates a pair by the type of its candidates. pion's defaults (prflx 1 s, relay
// 2 s) hold a client that comes over ICE/TCP (its active candidates are peer-reflexive to us) or a relay
// back by a second or two before its first frame. The node's own candidates are host candidates, so the
// only better pair a wait could find is the client's host one, which on any real network succeeds
// within these.
const (
	srflxAcceptanceWait = 100 * time.Millisecond
	prflxAcceptanceWait = 200 * time.Millisecond
	relayAcceptanceWait = 300 * time.Millisecond
)

func setAcceptanceWaits(se *webrtc.SettingEngine) {
	se.SetSrflxAcceptanceMinWait(srflxAcceptanceWait)
	se.SetPrflxAcceptanceMinWait(prflxAcceptanceWait)
	se.SetRelayAcceptanceMinWait(relayAcceptanceWait)
}

// mediaPorts are the node's ICE sockets: the one UDP port, and the ICE/TCP port when it is on.
type mediaPorts struct {
	udpMux  ice.UDPMux
	udpAddr net.Addr
	tcpMux  ice.TCPMux // nil without ICE/TCP
	tcpLn   net.Listener
}

// openMediaPorts opens the UDP port (one socket, or one per interface when bindIP is unspecified) and,
// if asked, the ICE/TCP listener, and installs them in se with the network types they serve.
// Which of the SFU's ports a PortError is about.
const (
	PortMediaUDP = "media UDP"
	PortICETCP   = "ICE/TCP"
)

// PortError says which of the SFU's ports could not be opened, so that the caller can name the option
// that sets it.
type PortError struct {
	Port string // PortMediaUDP or PortICETCP
	Err  error
}

func (e *PortError) Error() string { return e.Err.Error() }
func (e *PortError) Unwrap() error { return e.Err }

func openMediaPorts(cfg Config, bindIP net.IP, se *webrtc.SettingEngine) (*mediaPorts, error) {
	ports := &mediaPorts{}
	if bindIP.IsUnspecified() {
		mediaNet, err := newMediaNet()
		if err != nil {
			return nil, err
		}
		multi, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, ice.UDPMuxFromPortWithLoopback(), ice.UDPMuxFromPortWithNet(mediaNet),
			ice.UDPMuxFromPortWithReadBufferSize(socketBufferSize), ice.UDPMuxFromPortWithWriteBufferSize(socketBufferSize))
		if err != nil {
			return nil, fmt.Errorf("sfu: open media UDP port %d on all interfaces: %w", cfg.UDPPort, &PortError{Port: PortMediaUDP, Err: err})
		}
		ports.udpMux, ports.udpAddr = multi, &net.UDPAddr{IP: bindIP, Port: cfg.UDPPort}
	} else {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: bindIP, Port: cfg.UDPPort})
		if err != nil {
			return nil, fmt.Errorf("sfu: open media UDP port %s: %w", net.JoinHostPort(cfg.BindIP, strconv.Itoa(cfg.UDPPort)), &PortError{Port: PortMediaUDP, Err: err})
		}
		// Every publisher's packets arrive on this one socket, a keyframe's in one burst: the kernel's
		// default receive buffer (~208 KB) overflows under a few simultaneous keyframes. The kernel caps
		// the size at net.core.rmem_max/wmem_max; raise those for big nodes.
		_ = conn.SetReadBuffer(socketBufferSize)
		_ = conn.SetWriteBuffer(socketBufferSize)
		ports.udpMux, ports.udpAddr = webrtc.NewICEUDPMux(se.LoggerFactory.NewLogger("udpmux"), newMediaConn(conn)), conn.LocalAddr()
	}
	se.SetICEUDPMux(ports.udpMux)
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if cfg.ICETCP {
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: bindIP, Port: cfg.TCPPort})
		if err != nil {
			_ = ports.udpMux.Close()
			return nil, fmt.Errorf("sfu: open ICE/TCP port %s: %w", net.JoinHostPort(cfg.BindIP, strconv.Itoa(cfg.TCPPort)), &PortError{Port: PortICETCP, Err: err})
		}
		ports.tcpLn = ln
		ports.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener: ln, Logger: se.LoggerFactory.NewLogger("tcpmux"),
			ReadBufferSize: 64, WriteBufferSize: tcpWriteBufferSize,
		})
		se.SetICETCPMux(ports.tcpMux)
		types = append(types, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(types)
	return ports, nil
}

// tcpAddr is the ICE/TCP listener's address, nil when ICE/TCP is off.
func (p *mediaPorts) tcpAddr() net.Addr {
	if p.tcpLn == nil {
		return nil
	}
	return p.tcpLn.Addr()
}

func (p *mediaPorts) close() error {
	var errs []error
	if err := p.udpMux.Close(); err != nil {
		errs = append(errs, fmt.Errorf("media UDP port: %w", err))
	}
	if p.tcpMux != nil {
		// The mux closes its listener.
		if err := p.tcpMux.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("ICE/TCP port: %w", err))
		}
	}
	return errors.Join(errs...)
}
