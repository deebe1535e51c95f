package node

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// TLSConfig serves HTTPS and WSS on http.addr, and TURN over TLS, with a certificate from files.
type TLSConfig struct {
	// CertFile and KeyFile are PEM files (the certificate chain, leaf first, and its private key). Both
	// or neither. They are read again when they change, so a renewed certificate needs no restart.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// HSTSMaxAge is the Strict-Transport-Security max-age sent over HTTPS (180 days; 0: no header).
	HSTSMaxAge time.Duration `yaml:"hsts_max_age"`
}

// Enabled reports whether a certificate is configured.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" }

// TURNConfig is the embedded TURN relay and the external TURN servers handed to clients.
type TURNConfig struct {
	// Enabled runs the embedded relay (pion/turn) on this node.
	Enabled bool `yaml:"enabled"`
	// Transports the embedded relay listens on: udp, tcp, tls (tls needs a certificate: tls.cert_file
	// or turn.cert_file). Default: all three, tls only with a certificate.
	Transports []string `yaml:"transports"`
	// UDPPort and TCPPort (3478), TLSPort (5349; 443 works when nothing else uses it, and may be the
	// HTTPS port of http.addr: the two then share it). 0 picks a free port (tests).
	UDPPort int `yaml:"udp_port"`
	TCPPort int `yaml:"tcp_port"`
	TLSPort int `yaml:"tls_port"`
	// CertFile and KeyFile: the TURN/TLS certificate; default tls.cert_file and tls.key_file.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Host is the name or address in the turn: URLs clients get; it must match the TLS certificate.
	// Default: the host of http.public_url, else the first media.public_ips, else media.bind_ip.
	Host string `yaml:"host"`
	// RelayIP is the relayed address clients are told; default the first media.public_ips, else
	// media.bind_ip (or this host's first address when that is 0.0.0.0).
	RelayIP string `yaml:"relay_ip"`
	// RelayPortMin and RelayPortMax bound the relay sockets (49152-65535, coturn's default; 0, 0: any).
	RelayPortMin int `yaml:"relay_port_min"`
	RelayPortMax int `yaml:"relay_port_max"`
	// Secret is the shared secret of the TURN REST credentials; default: derived from the signing API
	// key, so the nodes of a cluster agree. Give an external coturn this value (static-auth-secret) to
	// let it accept the same credentials.
	Secret string `yaml:"secret"`
	// CredentialTTL is how long a handed-out credential may allocate (4h). The embedded relay also
	// requires a live session, and keeps a call's relay past the expiry while the session lives.
	CredentialTTL time.Duration `yaml:"credential_ttl"`
	// Servers are external TURN (or STUN) servers handed to clients as well, e.g. a coturn in the DMZ.
	Servers []ExternalTURN `yaml:"servers"`
}

// ExternalTURN is one external ICE server.
type ExternalTURN struct {
	// URLs like turn:turn.example.org:3478?transport=udp, turns:turn.example.org:443?transport=tcp.
	URLs []string `yaml:"urls"`
	// Secret (the server's static-auth-secret) makes per-session REST credentials for it; or give a
	// fixed Username and Credential (every client gets the same: avoid).
	Secret     string `yaml:"secret"`
	Username   string `yaml:"username"`
	Credential string `yaml:"credential"`
}

// TURN transports.
const (
	turnUDP = "udp"
	turnTCP = "tcp"
	turnTLS = "tls"
)

// has reports whether the embedded relay listens on a transport (tls only with a certificate).
func (c *Config) turnHas(transport string) bool {
	t := c.TURN
	if !t.Enabled {
		return false
	}
	if transport == turnTLS && c.turnCertFile() == "" {
		return false
	}
	if len(t.Transports) == 0 {
		return true
	}
	return slices.Contains(t.Transports, transport)
}

func (c *Config) turnCertFile() string {
	if c.TURN.CertFile != "" {
		return c.TURN.CertFile
	}
	return c.TLS.CertFile
}

func (c *Config) turnKeyFile() string {
	if c.TURN.CertFile != "" {
		return c.TURN.KeyFile
	}
	return c.TLS.KeyFile
}

// validateNet checks the TLS, TURN, ICE/TCP and origin options.
func (c *Config) validateNet() []error {
	var errs []error
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls.cert_file and tls.key_file go together: set both or neither"))
	}
	if (c.TURN.CertFile == "") != (c.TURN.KeyFile == "") {
		errs = append(errs, errors.New("turn.cert_file and turn.key_file go together: set both or neither"))
	}
	if c.TLS.HSTSMaxAge < 0 {
		errs = append(errs, errors.New("tls.hsts_max_age must not be negative"))
	}
	if c.Media.TCPPort < 0 || c.Media.TCPPort > 65535 {
		errs = append(errs, fmt.Errorf("media.tcp_port %d is not a port", c.Media.TCPPort))
	}
	for _, o := range c.HTTP.AllowedOrigins {
		if err := validOriginPattern(o); err != nil {
			errs = append(errs, fmt.Errorf("http.allowed_origins: %w", err))
		}
	}
	t := c.TURN
	for _, tr := range t.Transports {
		if tr != turnUDP && tr != turnTCP && tr != turnTLS {
			errs = append(errs, fmt.Errorf("turn.transports: %q is not udp, tcp or tls", tr))
		}
	}
	if t.Enabled && slices.Contains(t.Transports, turnTLS) && c.turnCertFile() == "" {
		errs = append(errs, errors.New("turn.transports lists tls but no certificate is configured: set tls.cert_file/key_file or turn.cert_file/key_file"))
	}
	for name, port := range map[string]int{"turn.udp_port": t.UDPPort, "turn.tcp_port": t.TCPPort, "turn.tls_port": t.TLSPort,
		"turn.relay_port_min": t.RelayPortMin, "turn.relay_port_max": t.RelayPortMax} {
		if port < 0 || port > 65535 {
			errs = append(errs, fmt.Errorf("%s %d is not a port", name, port))
		}
	}
	if t.RelayPortMin > t.RelayPortMax || (t.RelayPortMin == 0) != (t.RelayPortMax == 0) {
		errs = append(errs, fmt.Errorf("turn.relay_port_min %d and turn.relay_port_max %d do not make a range (both 0: any port)", t.RelayPortMin, t.RelayPortMax))
	}
	if t.RelayIP != "" && net.ParseIP(t.RelayIP) == nil {
		errs = append(errs, fmt.Errorf("turn.relay_ip %q is not an IP address", t.RelayIP))
	}
	if strings.ContainsAny(t.Host, "/:?@ ") && net.ParseIP(t.Host) == nil {
		errs = append(errs, fmt.Errorf("turn.host %q must be a host name or an IP address, without port or scheme", t.Host))
	}
	if t.Secret != "" && len(t.Secret) < 16 {
		errs = append(errs, errors.New("turn.secret must be at least 16 characters"))
	}
	if t.CredentialTTL < 0 || (t.CredentialTTL > 0 && t.CredentialTTL < time.Minute) {
		errs = append(errs, fmt.Errorf("turn.credential_ttl %s must be at least a minute", t.CredentialTTL))
	}
	for i, s := range t.Servers {
		if len(s.URLs) == 0 {
			errs = append(errs, fmt.Errorf("turn.servers[%d]: no urls", i))
		}
		for _, u := range s.URLs {
			if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") && !strings.HasPrefix(u, "stun:") {
				errs = append(errs, fmt.Errorf("turn.servers[%d]: %q is not a turn:, turns: or stun: URL", i, u))
			}
		}
		if s.Secret != "" && (s.Username != "" || s.Credential != "") {
			errs = append(errs, fmt.Errorf("turn.servers[%d]: give a secret or a username and credential, not both", i))
		}
	}
	return errs
}

// validOriginPattern checks an allowed origin: scheme://host[:port], the host possibly starting "*.".
func validOriginPattern(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("%q is not an origin like https://portal.example.org (or https://*.example.org)", o)
	}
	return nil
}

// allowedOrigins are http.allowed_origins and the origin of http.public_url (a proxy may change Host).
func allowedOrigins(cfg Config) []string {
	out := slices.Clone(cfg.HTTP.AllowedOrigins)
	if u, err := url.Parse(cfg.HTTP.PublicURL); err == nil && cfg.HTTP.PublicURL != "" {
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}
