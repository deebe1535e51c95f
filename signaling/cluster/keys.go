package cluster

import (
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"
)

// DefaultPrefix starts every key unless Config.Prefix says otherwise.
const DefaultPrefix = "huddle:"

// MaxNameLength bounds node ids, room names and session ids.
const MaxNameLength = 256

// keys names every key this package writes; the package documentation lists them.
type keys struct{ prefix string }

func (k keys) node(id string) string          { return k.prefix + "node:" + id }
func (k keys) nodes() string                  { return k.prefix + "nodes" }
func (k keys) nodeRooms(id string) string     { return k.prefix + "node-rooms:" + id }
func (k keys) room(name string) string        { return k.prefix + "room:" + name }
func (k keys) roomMembers(name string) string { return k.prefix + "room-members:" + name }
func (k keys) roomState(name string) string   { return k.prefix + "room-state:" + name }
func (k keys) inbox(id string) string         { return k.prefix + "relay-inbox:" + id }
func (k keys) wake(id string) string          { return k.prefix + "relay-wake:" + id }
func (k keys) up(sid string) string           { return k.prefix + "relay-up:" + sid }
func (k keys) down(sid string) string         { return k.prefix + "relay-down:" + sid }
func (k keys) edge(sid string) string         { return k.prefix + "relay-edge:" + sid }
func (k keys) owner(sid string) string        { return k.prefix + "relay-owner:" + sid }

// checkName validates a node id, room name or session id: 1 to MaxNameLength bytes of valid UTF-8
// without control characters.
func checkName(kind, s string) error {
	if s == "" || len(s) > MaxNameLength || !utf8.ValidString(s) {
		return fmt.Errorf("cluster: %s %q: %w", kind, s, ErrInvalidName)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("cluster: %s %q: %w", kind, s, ErrInvalidName)
		}
	}
	return nil
}

// Config tunes a Registry, and through it the Placement and Relay built on it. Zero values take the
// defaults.
type Config struct {
	Prefix    string        // key prefix (DefaultPrefix)
	NodeTTL   time.Duration // lifetime of every key without a refresh (5 s)
	Heartbeat time.Duration // refresh interval (NodeTTL/5); at most NodeTTL/2
	// MaxBackoff caps the delay between attempts while Redis is unreachable (2 s).
	MaxBackoff time.Duration
	// OnHealthChange is called whenever Healthy changes: on the heartbeat goroutine, or on Start's
	// caller for the first registration.
	OnHealthChange func(healthy bool)
	// OnRoomsLost is called on the heartbeat goroutine with rooms this node believed it owned and no
	// longer does: another node took them over while this one could not reach Redis.
	OnRoomsLost func(rooms []string)
	Logger      *slog.Logger // slog.Default() when nil
}

func (c *Config) setDefaults() error {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.NodeTTL == 0 {
		c.NodeTTL = 5 * time.Second
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = c.NodeTTL / 5
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.NodeTTL < 10*time.Millisecond || c.Heartbeat <= 0 || c.Heartbeat > c.NodeTTL/2 {
		return fmt.Errorf("cluster: heartbeat %s must be positive and at most half of the TTL %s: %w",
			c.Heartbeat, c.NodeTTL, ErrInvalidConfig)
	}
	return nil
}
