package node

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/sfu/turnserver"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// relayParts is the embedded TURN relay, its listeners and the URLs clients are given for it.
type relayParts struct {
	server *turnserver.Server
	urls   []string
	addrs  map[string]net.Addr // by transport, for tests and the log
}

// startTURN opens the embedded relay's listeners and starts it. shared, when not nil, is the HTTPS
// port's TURN side (turn.tls_port equal to the HTTPS port).
func (n *Node) startTURN(shared net.Listener, tlsCfg *tls.Config) (*relayParts, error) {
	cfg := n.cfg
	t := cfg.TURN
	bindIP := net.ParseIP(cfg.Media.BindIP)
	parts := &relayParts{addrs: make(map[string]net.Addr)}
	tc := turnserver.Config{RelayBindIP: bindIP, RelayIP: n.relayIP(), PortMin: t.RelayPortMin, PortMax: t.RelayPortMax,
		Realm: "huddle", Secret: n.turnSecret(), Peer: n.mediaPeer(), Logger: n.log.With("component", "turn"),
		LoggerFactory: sfu.NewPionLoggerFactory(n.log.With("component", "turn"))}
	var opened []interface{ Close() error }
	fail := func(err error) (*relayParts, error) {
		for _, c := range opened {
			_ = c.Close()
		}
		return nil, err
	}
	host := n.turnHost()
	if cfg.turnHas(turnUDP) {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(cfg.Media.BindIP, strconv.Itoa(t.UDPPort)))
		if err != nil {
			return fail(fmt.Errorf("turn.udp_port %d: %w", t.UDPPort, err))
		}
		opened, tc.UDP = append(opened, pc), pc
		parts.addrs[turnUDP] = pc.LocalAddr()
		parts.urls = append(parts.urls, turnURL("turn", host, pc.LocalAddr(), "udp"))
	}
	if cfg.turnHas(turnTCP) {
		ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Media.BindIP, strconv.Itoa(t.TCPPort)))
		if err != nil {
			return fail(fmt.Errorf("turn.tcp_port %d: %w", t.TCPPort, err))
		}
		opened, tc.TCP = append(opened, ln), ln
		parts.addrs[turnTCP] = ln.Addr()
		parts.urls = append(parts.urls, turnURL("turn", host, ln.Addr(), "tcp"))
	}
	if cfg.turnHas(turnTLS) {
		ln := shared
		if ln == nil {
			raw, err := net.Listen("tcp", net.JoinHostPort(cfg.Media.BindIP, strconv.Itoa(t.TLSPort)))
			if err != nil {
				return fail(fmt.Errorf("turn.tls_port %d: %w", t.TLSPort, err))
			}
			turnTLSCfg := tlsCfg.Clone()
			turnTLSCfg.NextProtos = nil // ignore clients' ALPN rather than refuse what is not http/1.1
			ln = tls.NewListener(raw, turnTLSCfg)
			opened = append(opened, ln)
		}
		tc.TLS = ln
		parts.addrs[turnTLS] = ln.Addr()
		parts.urls = append(parts.urls, turnURL("turns", host, ln.Addr(), "tcp"))
	}
	srv, err := turnserver.New(tc)
	if err != nil {
		return fail(err)
	}
	parts.server = srv
	n.log.Info("turn relay listening", "urls", parts.urls, "relay_ip", tc.RelayIP.String(),
		"relay_ports", fmt.Sprintf("%d-%d", t.RelayPortMin, t.RelayPortMax))
	return parts, nil
}

// turnURL is a turn:/turns: URL for host at the listener's port.
func turnURL(scheme, host string, addr net.Addr, transport string) string {
	_, port, _ := net.SplitHostPort(addr.String())
	return scheme + ":" + net.JoinHostPort(host, port) + "?transport=" + transport
}

// turnHost is the host clients put in the turn: URLs (it must match the TLS certificate).
func (n *Node) turnHost() string {
	cfg := n.cfg
	if cfg.TURN.Host != "" {
		return cfg.TURN.Host
	}
	if cfg.HTTP.PublicURL != "" {
		if u, err := url.Parse(cfg.HTTP.PublicURL); err == nil && u.Hostname() != "" {
			return u.Hostname()
		}
	}
	if len(cfg.Media.PublicIPs) > 0 {
		return cfg.Media.PublicIPs[0]
	}
	return n.relayIP().String()
}

// relayIP is the relayed address clients are told: turn.relay_ip, the first public IP, the bind IP, or
// for a node bound to every interface, this host's first global address.
func (n *Node) relayIP() net.IP {
	cfg := n.cfg
	if cfg.TURN.RelayIP != "" {
		return net.ParseIP(cfg.TURN.RelayIP)
	}
	if len(cfg.Media.PublicIPs) > 0 {
		return net.ParseIP(cfg.Media.PublicIPs[0])
	}
	bind := net.ParseIP(cfg.Media.BindIP)
	if !bind.IsUnspecified() {
		return bind
	}
	for _, ip := range interfaceIPs() {
		if ip.IsGlobalUnicast() && ip.To4() != nil {
			return ip
		}
	}
	return net.IPv4(127, 0, 0, 1)
}

// mediaPeer says which peer addresses the relay may reach: the media UDP port on an address where it
// listens, or on a public IP the node advertises (sent to where it really listens, see
// turnserver.Config.Peer).
func (n *Node) mediaPeer() func(netip.AddrPort) (netip.AddrPort, bool) {
	port := uint16(n.sfu.UDPAddr().(*net.UDPAddr).Port) //nolint:gosec // a port
	bind, _ := netip.ParseAddr(n.cfg.Media.BindIP)
	bind = bind.Unmap()
	local := map[netip.Addr]bool{}
	target := bind
	if bind.IsUnspecified() {
		target = netip.MustParseAddr("127.0.0.1") // the all-interfaces mux listens on loopback too
		for _, ip := range interfaceIPs() {
			if a, ok := netip.AddrFromSlice(ip); ok {
				local[a.Unmap()] = true
			}
		}
	} else {
		local[bind] = true
	}
	public := map[netip.Addr]bool{}
	for _, s := range n.cfg.Media.PublicIPs {
		if a, err := netip.ParseAddr(s); err == nil && !local[a.Unmap()] {
			public[a.Unmap()] = true
		}
	}
	return func(ap netip.AddrPort) (netip.AddrPort, bool) {
		ip := ap.Addr().Unmap()
		portOK := ap.Port() == port || ap.Port() == 0 // 0: a permission, which is per IP
		switch {
		case !portOK:
			return netip.AddrPort{}, false
		case local[ip]:
			return netip.AddrPortFrom(ip, ap.Port()), true
		case public[ip]:
			return netip.AddrPortFrom(target, ap.Port()), true
		}
		return netip.AddrPort{}, false
	}
}

func interfaceIPs() []net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var ips []net.IP
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			ips = append(ips, ipn.IP)
		}
	}
	return ips
}

// turnSecret is turn.secret, or one derived from the signing API key: every node with the same keys
// derives the same, and the API secret itself never leaves the node.
func (n *Node) turnSecret() string {
	if n.cfg.TURN.Secret != "" {
		return n.cfg.TURN.Secret
	}
	secret, _ := n.keys.Secret(n.keys.SigningKeyID())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("huddle turn credentials v1"))
	return hex.EncodeToString(mac.Sum(nil))
}

// iceIssuer gives each session the embedded relay's URLs and the external servers, with credentials
// of its own (signaling.ICEIssuer).
type iceIssuer struct {
	relay    *turnserver.Server // nil: no embedded relay
	urls     []string
	ttl      time.Duration
	external []ExternalTURN
}

// Issue implements signaling.ICEIssuer.
func (i *iceIssuer) Issue(user string) []protocol.ICEServer {
	expiry := time.Now().Add(i.ttl)
	var out []protocol.ICEServer
	if i.relay != nil && len(i.urls) > 0 {
		i.relay.Admit(user)
		username, password := i.relay.Credentials(user, expiry)
		out = append(out, protocol.ICEServer{URLs: slices.Clone(i.urls), Username: username, Credential: password})
	}
	for _, e := range i.external {
		s := protocol.ICEServer{URLs: slices.Clone(e.URLs), Username: e.Username, Credential: e.Credential}
		if e.Secret != "" {
			s.Username, s.Credential = turnserver.MintCredentials(e.Secret, user, expiry)
		}
		out = append(out, s)
	}
	return out
}

// Revoke implements signaling.ICEIssuer.
func (i *iceIssuer) Revoke(user string) {
	if i.relay != nil {
		i.relay.Revoke(user)
	}
}
