package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huddlehq/huddle/signaling"
	"github.com/huddlehq/huddle/signaling/cluster"
)

// ClusterConfig is cluster mode: several nodes sharing rooms through one Redis. Without a Redis URL the
// node runs alone with its state in memory.
type ClusterConfig struct {
	// RedisURL (redis://[:password@]host:port[/db]) turns cluster mode on; HUDDLE_REDIS_URL or -redis
	// set it too.
	RedisURL string `yaml:"redis_url"`
	// NodeID names the node in the cluster; default: the hostname and the HTTP port.
	NodeID string `yaml:"node_id"`
	// Region labels the node; a join asks for its own region (or the edge node's) when a room is placed.
	Region string `yaml:"region"`
	// SignalURL is where clients reach this node's signalling (ws://host:port/ws), shown to other nodes
	// and the admin API; default: derived from http.public_url or the listen address.
	SignalURL string `yaml:"signal_url"`
	// NodeTTL is how long the node's keys live without a heartbeat: a dead node's rooms move after
	// about this long (3s).
	NodeTTL time.Duration `yaml:"node_ttl"`
	// DrainTimeout is how long SIGTERM waits for the node's rooms to end before it leaves (10m).
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// Enabled reports whether cluster mode is on.
func (c ClusterConfig) Enabled() bool { return c.RedisURL != "" }

func (c ClusterConfig) validate() []error {
	var errs []error
	if c.RedisURL != "" {
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			errs = append(errs, fmt.Errorf("cluster.redis_url: %w", err))
		}
	}
	if c.NodeTTL != 0 && c.NodeTTL < 500*time.Millisecond {
		errs = append(errs, fmt.Errorf("cluster.node_ttl %s is under 500ms", c.NodeTTL))
	}
	if c.DrainTimeout < 0 {
		errs = append(errs, errors.New("cluster.drain_timeout must not be negative"))
	}
	return errs
}

// clusterParts is what cluster mode adds to a node.
type clusterParts struct {
	rdb       *redis.Client
	registry  *cluster.Registry
	placement *cluster.Placement
	relay     *cluster.Relay
	states    *cluster.RoomStates // each room's rules, for the node that re-homes it
}

// newRedisClient connects to the configured Redis with the cluster package's tuning (short timeouts,
// no blind retries).
func newRedisClient(rawURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("cluster.redis_url: %w", err)
	}
	base := cluster.NewClient(opts.Addr).Options()
	base.Username, base.Password, base.DB, base.TLSConfig = opts.Username, opts.Password, opts.DB, opts.TLSConfig
	return redis.NewClient(base), nil
}

// startCluster registers the node (within a few seconds: a node that cannot reach Redis at start says
// so and does not start) and starts its relay.
func (n *Node) startCluster() error {
	cc := n.cfg.Cluster
	if n.cfg.DevMode() {
		n.log.Warn("cluster mode in dev mode: each node makes up its own key, so tokens and links one node mints " +
			"verify on no other; configure the same auth.keys on every node")
	}
	rdb, err := newRedisClient(cc.RedisURL)
	if err != nil {
		return err
	}
	self := cluster.NodeInfo{ID: n.nodeID(), Region: cc.Region, SignalURL: n.signalURL(), MediaAddr: n.sfu.UDPAddr().String()}
	ttl := cc.NodeTTL
	if ttl == 0 {
		ttl = 3 * time.Second
	}
	reg, err := cluster.NewRegistry(rdb, self, cluster.Config{
		NodeTTL: ttl, Logger: n.log.With("component", "cluster"),
		OnHealthChange: func(healthy bool) {
			if n.leaving.Load() {
				return // Leave unregistered it; closeCluster says so
			}
			if !healthy {
				n.log.Warn("cluster: Redis unreachable; running rooms carry on, new rooms cannot be placed")
			} else {
				n.log.Info("cluster: registered", "node", self.ID)
			}
		},
		OnRoomsLost: func(rooms []string) { n.signaling.RoomsLost(rooms) },
	})
	if err != nil {
		_ = rdb.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := reg.Start(ctx); err != nil {
		_ = rdb.Close()
		return fmt.Errorf("cluster.redis_url (-redis, HUDDLE_REDIS_URL): cannot register with Redis at %s: %w", redactURL(cc.RedisURL), err)
	}
	states, err := cluster.NewRoomStates(rdb, cluster.Config{Logger: n.log})
	if err != nil {
		_ = reg.Leave(ctx)
		_ = rdb.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	n.cluster = &clusterParts{rdb: rdb, registry: reg, placement: cluster.NewPlacement(reg), relay: cluster.NewRelay(reg, cluster.RelayConfig{}), states: states}
	return nil
}

// signalingCluster is the control plane's view of cluster mode.
func (n *Node) signalingCluster() *signaling.ClusterConfig {
	c := n.cluster
	return &signaling.ClusterConfig{Registry: c.registry, Placement: c.placement, Relay: c.relay, States: c.states, Region: n.cfg.Cluster.Region,
		Load: func() cluster.Load {
			st := n.sfu.Stats()
			return cluster.Load{Tracks: st.Tracks, CPU: n.cpu.Share()}
		}}
}

// Drain stops taking new rooms, waits for this node's rooms to end (or for ctx), then leaves the
// cluster; Close follows. Without cluster mode it returns at once.
func (n *Node) Drain(ctx context.Context) error {
	n.draining.Store(true) // before anything: a load balancer stops sending new rooms at once
	if n.cluster == nil {
		return nil
	}
	n.cluster.registry.SetDraining(true)
	n.log.Info("draining: no new rooms; waiting for this node's rooms to end")
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for n.signaling.Stats().Sessions > 0 {
		select {
		case <-ctx.Done():
			n.log.Warn("drain timeout: closing the remaining sessions", "sessions", n.signaling.Stats().Sessions)
			return nil
		case <-t.C:
		}
	}
	n.log.Info("drained")
	return nil
}

// closeCluster leaves the registry and stops the relay, after the sessions have ended.
func (n *Node) closeCluster(ctx context.Context) error {
	if n.cluster == nil {
		return nil
	}
	n.leaving.Store(true)
	var errs []error
	if err := n.cluster.relay.Close(); err != nil {
		errs = append(errs, err)
	}
	// The rooms' last rules go to Redis before the node leaves: whoever re-homes a room needs them.
	if err := n.cluster.states.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := n.cluster.registry.Leave(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := n.cluster.rdb.Close(); err != nil {
		errs = append(errs, err)
	}
	n.log.Info("left the cluster")
	return errors.Join(errs...)
}

func (n *Node) nodeID() string {
	if id := n.cfg.Cluster.NodeID; id != "" {
		return id
	}
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(n.listener.Addr().String())
	return host + "-" + port
}

func (n *Node) signalURL() string {
	if u := n.cfg.Cluster.SignalURL; u != "" {
		return u
	}
	base := n.URL()
	if n.cfg.HTTP.PublicURL != "" {
		base = n.cfg.HTTP.PublicURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	u.Scheme = map[string]string{"https": "wss"}[u.Scheme]
	if u.Scheme == "" {
		u.Scheme = "ws"
	}
	u.Path = "/ws"
	return u.String()
}

// redactURL hides a password in a Redis URL for logs and errors.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// RedisLogger adapts go-redis's process-wide logger to slog at debug level: its messages (a refused
// dial per attempt while Redis is down) repeat what the cluster's own warnings say once. A program
// installs it once with redis.SetLogger.
func RedisLogger(log *slog.Logger) interface {
	Printf(ctx context.Context, format string, v ...any)
} {
	return redisLogger{log: log}
}

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
