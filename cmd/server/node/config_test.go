package node_test

import (
	"strings"
	"testing"

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
