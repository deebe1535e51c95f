package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/huddlehq/huddle/signaling"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
	"github.com/huddlehq/huddle/signaling/webhook"
)

// Config is everything a node can be told. The zero-config default (DefaultConfig) is a single local
// node on loopback; configs/server.yaml documents every field.
type Config struct {
	// Version is the build's version, for /metrics (set by the binary, not read from a file).
	Version string `yaml:"-"`
	// HTTP is where the web client, the WebSocket endpoint (/ws) and /healthz are served.
	HTTP HTTPConfig `yaml:"http"`
	// Media is the WebRTC media plane.
	Media MediaConfig `yaml:"media"`
	// Log sets the log level and format.
	Log LogConfig `yaml:"log"`
	// Debug turns on diagnostics that must not be on in production by accident.
	Debug DebugConfig `yaml:"debug"`
	// Auth holds the API keys that sign join and admin tokens. None: dev mode (loopback only).
	Auth AuthConfig `yaml:"auth"`
	// Webhooks are where room events are POSTed.
	Webhooks WebhookConfig `yaml:"webhooks"`
	// Rooms configured ahead of any join, by name, with their policy.
	Rooms map[string]auth.Policy `yaml:"rooms"`
	// Cluster is cluster mode (several nodes, one Redis); off without a Redis URL.
	Cluster ClusterConfig `yaml:"cluster"`
	// TLS serves HTTPS/WSS (and TURN over TLS) with a certificate from files (config_net.go).
	TLS TLSConfig `yaml:"tls"`
	// TURN is the embedded relay and the external TURN servers clients are given (config_net.go).
	TURN TURNConfig `yaml:"turn"`
	// Recording is where calls are recorded (config_recording.go); off by default.
	Recording RecordingConfig `yaml:"recording"`
	// Limits bound what one client, one address and the whole node may ask of the signalling server
	// (config_limits.go, signaling/limits.go); zero fields take signaling.DefaultLimits.
	Limits signaling.Limits `yaml:"limits"`
}

// AuthConfig holds the API keys.
type AuthConfig struct {
	// Keys verify tokens; the first one signs the tokens the node mints. Several allow rotation.
	Keys []auth.Key `yaml:"keys"`
}

// WebhookConfig is the webhook delivery.
type WebhookConfig struct {
	URLs        []string      `yaml:"urls"`         // POST every event to each
	Key         string        `yaml:"key"`          // id of the API key whose secret signs; default the first key
	QueueLength int           `yaml:"queue_length"` // events waiting per URL before the oldest is dropped (256)
	MaxAttempts int           `yaml:"max_attempts"` // deliveries tried per event (6)
	Timeout     time.Duration `yaml:"timeout"`      // one POST (5s)
	// DrainTimeout is how long shutdown waits for queued events to go out (3s).
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// DevMode reports whether the node runs without API keys: joins from this machine need no token.
func (c *Config) DevMode() bool { return len(c.Auth.Keys) == 0 }

// DebugConfig holds diagnostics.
type DebugConfig struct {
	Pprof bool `yaml:"pprof"` // serve Go's profiler at /debug/pprof/ on the HTTP listener
}

// HTTPConfig is the HTTP listener.
type HTTPConfig struct {
	Addr string `yaml:"addr"` // host:port; port 0 picks a free port
	// PublicURL is how users reach the node (e.g. https://meet.example.org), for join links; empty:
	// http://<the address a request came to>.
	PublicURL string `yaml:"public_url"`
	// AllowedOrigins are the web origins besides this node's own whose pages may open a signalling
	// WebSocket (https://portal.example.org, https://*.example.org); empty: the same origin only.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// Bounds on every HTTP request (config_limits.go); 0 takes the default.
	MaxHeaderBytes    int           `yaml:"max_header_bytes"`    // request line and headers (16 KiB; at least 4096)
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"` // to read them (10s)
	IdleTimeout       time.Duration `yaml:"idle_timeout"`        // a keep-alive connection between requests (120s)
}

// MediaConfig is the media plane's network setup.
type MediaConfig struct {
	BindIP    string   `yaml:"bind_ip"`    // the one UDP port listens here
	UDPPort   int      `yaml:"udp_port"`   // all ICE traffic shares it; 0 picks a free port
	PublicIPs []string `yaml:"public_ips"` // advertised in candidates instead of bind_ip (1:1 NAT)
	// ICETCP offers ICE/TCP candidates on TCPPort beside the UDP port: a client whose network blocks
	// UDP connects over TCP by itself.
	ICETCP  bool `yaml:"ice_tcp"`
	TCPPort int  `yaml:"tcp_port"` // 0 picks a free port
	// AdaptiveProcs lets the server binary run on one scheduler thread (GOMAXPROCS=1) while its load
	// fits in one core and on all of them beyond: fewer thread wake-ups per packet. Ignored when the
	// GOMAXPROCS environment variable is set.
	AdaptiveProcs bool `yaml:"adaptive_procs"`
}

// LogConfig sets logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// DefaultConfig is a single node for local use: everything on 127.0.0.1, HTTP 7880, media UDP 7882 and
// ICE/TCP 7881, TURN on UDP and TCP 3478 (and TLS 5349 once a certificate is configured).
func DefaultConfig() Config {
	return Config{
		HTTP: HTTPConfig{Addr: "127.0.0.1:7880", MaxHeaderBytes: defaultMaxHeaderBytes,
			ReadHeaderTimeout: defaultReadHeaderTimeout, IdleTimeout: defaultIdleTimeout},
		Media: MediaConfig{BindIP: "127.0.0.1", UDPPort: 7882, ICETCP: true, TCPPort: 7881, AdaptiveProcs: true},
		Log:   LogConfig{Level: "info", Format: "text"},
		TLS:   TLSConfig{HSTSMaxAge: 180 * 24 * time.Hour},
		TURN: TURNConfig{Enabled: true, UDPPort: 3478, TCPPort: 3478, TLSPort: 5349,
			RelayPortMin: 49152, RelayPortMax: 65535, CredentialTTL: 4 * time.Hour},
		Recording: RecordingConfig{MinFreeMB: 500, CheckInterval: time.Second},
		Limits:    signaling.DefaultLimits(),
	}
}

// UseFreePorts moves every listener of the node to a free port on its address: HTTP, media UDP, ICE/TCP,
// the TURN relay's listeners and its relay sockets. Tests run many nodes side by side this way.
func (c *Config) UseFreePorts() {
	host, _, err := net.SplitHostPort(c.HTTP.Addr)
	if err != nil {
		host = "127.0.0.1"
	}
	c.HTTP.Addr = net.JoinHostPort(host, "0")
	c.Media.UDPPort, c.Media.TCPPort = 0, 0
	c.TURN.UDPPort, c.TURN.TCPPort, c.TURN.TLSPort = 0, 0, 0
	c.TURN.RelayPortMin, c.TURN.RelayPortMax = 0, 0
}

// LoadFile reads a YAML config over the defaults. Unknown keys are an error: a typo must not be ignored.
func LoadFile(path string, cfg *Config) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	// An empty file (io.EOF) means no overrides.
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// Validate checks the config and says what is wrong in words an admin can act on.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		errs = append(errs, fmt.Errorf("http.addr %q: %w", c.HTTP.Addr, err))
	}
	if net.ParseIP(c.Media.BindIP) == nil {
		errs = append(errs, fmt.Errorf("media.bind_ip %q is not an IP address", c.Media.BindIP))
	}
	if c.Media.UDPPort < 0 || c.Media.UDPPort > 65535 {
		errs = append(errs, fmt.Errorf("media.udp_port %d is not a port", c.Media.UDPPort))
	}
	for _, ip := range c.Media.PublicIPs {
		if net.ParseIP(ip) == nil {
			errs = append(errs, fmt.Errorf("media.public_ips: %q is not an IP address", ip))
		}
	}
	if _, err := c.Log.level(); err != nil {
		errs = append(errs, err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format %q is not text or json", c.Log.Format))
	}
	if c.HTTP.PublicURL != "" {
		if u, err := url.Parse(c.HTTP.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("http.public_url %q is not an http(s) URL", c.HTTP.PublicURL))
		}
	}
	errs = append(errs, c.validateAccess()...)
	errs = append(errs, c.validateNet()...)
	errs = append(errs, c.Cluster.validate()...)
	errs = append(errs, c.Recording.validate()...)
	errs = append(errs, c.validateLimits()...)
	return errors.Join(errs...)
}

// validateAccess checks keys, webhooks and rooms, and refuses to serve other machines without keys.
func (c *Config) validateAccess() []error {
	var errs []error
	if len(c.Auth.Keys) > 0 {
		if _, err := auth.NewKeyring(c.Auth.Keys...); err != nil {
			errs = append(errs, fmt.Errorf("auth.keys: %w", err))
		}
	} else if exposed := c.exposed(); exposed != "" {
		errs = append(errs, fmt.Errorf("%s is reachable from other machines but no API keys are configured, so anyone "+
			"could join any room: add auth.keys (see configs/server.yaml) or set HUDDLE_API_KEY and HUDDLE_API_SECRET, "+
			"or listen on 127.0.0.1 only", exposed))
	}
	if len(c.Webhooks.URLs) > 0 {
		if len(c.Auth.Keys) == 0 {
			errs = append(errs, errors.New("webhooks.urls: webhooks are signed with an API key; configure auth.keys"))
		} else if c.Webhooks.Key != "" && !slices.ContainsFunc(c.Auth.Keys, func(k auth.Key) bool { return k.ID == c.Webhooks.Key }) {
			errs = append(errs, fmt.Errorf("webhooks.key %q is not one of auth.keys", c.Webhooks.Key))
		}
		for _, u := range c.Webhooks.URLs {
			if err := webhook.ValidateURL(u); err != nil {
				errs = append(errs, fmt.Errorf("webhooks.urls: %w", err))
			}
		}
	}
	if c.Webhooks.QueueLength < 0 || c.Webhooks.MaxAttempts < 0 || c.Webhooks.Timeout < 0 || c.Webhooks.DrainTimeout < 0 {
		errs = append(errs, errors.New("webhooks: queue_length, max_attempts, timeout and drain_timeout must not be negative"))
	}
	for name, p := range c.Rooms {
		if err := protocol.ValidateRoomName(name); err != nil {
			errs = append(errs, fmt.Errorf("rooms: %w", err))
		}
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("rooms.%s: %w", name, err))
		}
	}
	return errs
}

// exposed names the first listener that other machines can reach ("" when everything is on loopback).
// The media port counts too: a node that serves media to other machines sits behind a proxy whose
// requests would all look local.
func (c *Config) exposed() string {
	if host, _, err := net.SplitHostPort(c.HTTP.Addr); err == nil && !loopbackHost(host) {
		return fmt.Sprintf("http.addr %s", c.HTTP.Addr)
	}
	if ip := net.ParseIP(c.Media.BindIP); ip != nil && !ip.IsLoopback() {
		return fmt.Sprintf("media.bind_ip %s", c.Media.BindIP)
	}
	if len(c.Media.PublicIPs) > 0 {
		return fmt.Sprintf("media.public_ips %v", c.Media.PublicIPs)
	}
	return ""
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (l LogConfig) level() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(l.Level))); err != nil {
		return 0, fmt.Errorf("log.level %q is not debug, info, warn or error", l.Level)
	}
	return lv, nil
}

// NewLogger builds the logger the config asks for, writing to w.
func (l LogConfig) NewLogger(w *os.File) (*slog.Logger, error) {
	lv, err := l.level()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lv}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
