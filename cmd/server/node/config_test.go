package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/signaling/auth"
)

// TestConfigAccess: a node that other machines can reach refuses to start without API keys, and the
// access settings are checked.
func TestConfigAccess(t *testing.T) {
	key := auth.Key{ID: "APIa", Secret: strings.Repeat("s", 40)}
	cases := []struct {
		name string
		edit func(*node.Config)
		want string // substring of the error; "" = valid
	}{
		{"dev mode on loopback", func(*node.Config) {}, ""},
		{"localhost", func(c *node.Config) { c.HTTP.Addr = "localhost:7880" }, ""},
		{"all interfaces without keys", func(c *node.Config) { c.HTTP.Addr = "0.0.0.0:7880" }, "no API keys"},
		{"empty host without keys", func(c *node.Config) { c.HTTP.Addr = ":7880" }, "no API keys"},
		{"media on all interfaces without keys", func(c *node.Config) { c.Media.BindIP = "0.0.0.0" }, "media.bind_ip"},
		{"public IP without keys", func(c *node.Config) { c.Media.PublicIPs = []string{"203.0.113.1"} }, "media.public_ips"},
		{"all interfaces with keys", func(c *node.Config) { c.HTTP.Addr, c.Auth.Keys = "0.0.0.0:7880", []auth.Key{key} }, ""},
		{"short secret", func(c *node.Config) { c.Auth.Keys = []auth.Key{{ID: "k", Secret: "short"}} }, "secret"},
		{"webhooks without keys", func(c *node.Config) { c.Webhooks.URLs = []string{"http://127.0.0.1:9/h"} }, "webhooks"},
		{"webhook key unknown", func(c *node.Config) {
			c.Auth.Keys, c.Webhooks.URLs, c.Webhooks.Key = []auth.Key{key}, []string{"http://127.0.0.1:9/h"}, "other"
		}, "webhooks.key"},
		{"webhook url not http", func(c *node.Config) { c.Auth.Keys, c.Webhooks.URLs = []auth.Key{key}, []string{"ftp://x"} }, "webhook url"},
		{"room with a bad name", func(c *node.Config) { c.Rooms = map[string]auth.Policy{"a b": {}} }, "rooms"},
		{"room with a bad mode", func(c *node.Config) { c.Rooms = map[string]auth.Policy{"ab": {Mode: "rave"}} }, "rooms.ab"},
		{"bad public url", func(c *node.Config) { c.HTTP.PublicURL = "meet.example.org" }, "public_url"},
	}
	for _, tc := range cases {
		cfg := node.DefaultConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// TestConfigNet: the TLS, TURN, ICE/TCP and origin options are checked, each error naming its option.
func TestConfigNet(t *testing.T) {
	cases := []struct {
		name string
		edit func(*node.Config)
		want string // substring of the error; "" = valid
	}{
		{"defaults", func(*node.Config) {}, ""},
		{"cert without key", func(c *node.Config) { c.TLS.CertFile = "c.pem" }, "tls.cert_file and tls.key_file"},
		{"turn cert without key", func(c *node.Config) { c.TURN.CertFile = "c.pem" }, "turn.cert_file"},
		{"tls transport without a certificate", func(c *node.Config) { c.TURN.Transports = []string{"tls"} }, "no certificate"},
		{"unknown transport", func(c *node.Config) { c.TURN.Transports = []string{"quic"} }, `turn.transports: "quic"`},
		{"tcp port", func(c *node.Config) { c.Media.TCPPort = 70000 }, "media.tcp_port"},
		{"turn port", func(c *node.Config) { c.TURN.TLSPort = -2 }, "turn.tls_port"},
		{"relay range reversed", func(c *node.Config) { c.TURN.RelayPortMin, c.TURN.RelayPortMax = 60000, 50000 }, "turn.relay_port_min"},
		{"relay range half", func(c *node.Config) { c.TURN.RelayPortMin, c.TURN.RelayPortMax = 0, 50000 }, "turn.relay_port_min"},
		{"relay ip", func(c *node.Config) { c.TURN.RelayIP = "turn.example.org" }, "turn.relay_ip"},
		{"turn host with port", func(c *node.Config) { c.TURN.Host = "turn.example.org:443" }, "turn.host"},
		{"short turn secret", func(c *node.Config) { c.TURN.Secret = "short" }, "turn.secret"},
		{"credential ttl", func(c *node.Config) { c.TURN.CredentialTTL = time.Second }, "turn.credential_ttl"},
		{"external server url", func(c *node.Config) { c.TURN.Servers = []node.ExternalTURN{{URLs: []string{"http://x"}}} }, "turn.servers[0]"},
		{"external secret and password", func(c *node.Config) {
			c.TURN.Servers = []node.ExternalTURN{{URLs: []string{"turn:x:3478"}, Secret: "s", Username: "u"}}
		}, "not both"},
		{"external coturn", func(c *node.Config) {
			c.TURN.Servers = []node.ExternalTURN{{URLs: []string{"turns:turn.example.org:443?transport=tcp"}, Secret: "coturn-static-auth-secret"}}
		}, ""},
		{"origin pattern", func(c *node.Config) { c.HTTP.AllowedOrigins = []string{"portal.example.org"} }, "http.allowed_origins"},
		{"origin with path", func(c *node.Config) { c.HTTP.AllowedOrigins = []string{"https://portal.example.org/app"} }, "http.allowed_origins"},
		{"origin wildcard", func(c *node.Config) { c.HTTP.AllowedOrigins = []string{"https://*.example.org"} }, ""},
	}
	for _, tc := range cases {
		cfg := node.DefaultConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
