package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is everything a node can be told. The zero-config default (DefaultConfig) is a single local
// node on loopback; configs/server.yaml documents every field.
type Config struct {
	// HTTP is where the web client, the WebSocket endpoint (/ws) and /healthz are served.
	HTTP HTTPConfig `yaml:"http"`
	// Media is the WebRTC media plane.
	Media MediaConfig `yaml:"media"`
	// Log sets the log level and format.
	Log LogConfig `yaml:"log"`
	// Debug turns on diagnostics that must not be on in production by accident.
	Debug DebugConfig `yaml:"debug"`
}

// DebugConfig holds diagnostics.
type DebugConfig struct {
	Pprof bool `yaml:"pprof"` // serve Go's profiler at /debug/pprof/ on the HTTP listener
}

// HTTPConfig is the HTTP listener.
type HTTPConfig struct {
	Addr string `yaml:"addr"` // host:port; port 0 picks a free port
}

// MediaConfig is the media plane's network setup.
type MediaConfig struct {
	BindIP    string   `yaml:"bind_ip"`    // the one UDP port listens here
	UDPPort   int      `yaml:"udp_port"`   // all ICE traffic shares it; 0 picks a free port
	PublicIPs []string `yaml:"public_ips"` // advertised in candidates instead of bind_ip (1:1 NAT)
}

// LogConfig sets logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// DefaultConfig is a single node for local use: everything on 127.0.0.1, HTTP 7880, media UDP 7882.
func DefaultConfig() Config {
	return Config{
		HTTP:  HTTPConfig{Addr: "127.0.0.1:7880"},
		Media: MediaConfig{BindIP: "127.0.0.1", UDPPort: 7882},
		Log:   LogConfig{Level: "info", Format: "text"},
	}
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
	return errors.Join(errs...)
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
