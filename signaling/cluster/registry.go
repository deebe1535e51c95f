package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Registry is this node's membership in the cluster: it publishes the node's NodeInfo under a key with
// a TTL, refreshed (with the node's room claims) by a heartbeat goroutine, and lists the live nodes.
type Registry struct {
	rdb redis.UniversalClient
	cfg Config
	k   keys
	log *slog.Logger

	nudge   chan struct{} // asks the heartbeat goroutine for an early beat
	outages atomic.Int64  // see Outages
	rttNs   atomic.Int64  // the last heartbeat's round trip to Redis (RedisHealth)
	failed  atomic.Uint64 // heartbeats that failed (RedisHealth)

	mu       sync.Mutex
	self     NodeInfo
	owned    map[string]struct{} // rooms this node owns, as far as it knows
	released map[string]struct{} // rooms released since the last successful heartbeat
	healthy  bool
	started  bool
	left     bool
	cancel   context.CancelFunc
	done     chan struct{} // closed when the heartbeat goroutine ends
}

// RedisHealth returns the last heartbeat's round trip to Redis (one script call) and how many
// heartbeats failed so far, for the node's metrics.
func (r *Registry) RedisHealth() (lastRTT time.Duration, failures uint64) {
	return time.Duration(r.rttNs.Load()), r.failed.Load()
}

// Outages counts the times the heartbeat got through to Redis again after failing.
func (r *Registry) Outages() int64 { return r.outages.Load() }

// NewRegistry prepares the registration of self (self.ID is required). Nothing is written until Start.
func NewRegistry(rdb redis.UniversalClient, self NodeInfo, cfg Config) (*Registry, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := checkName("node id", self.ID); err != nil {
		return nil, err
	}
	if self.StartedAt.IsZero() {
		self.StartedAt = time.Now().UTC()
	}
	return &Registry{
		rdb: rdb, cfg: cfg, k: keys{cfg.Prefix}, log: cfg.Logger.With("node", self.ID),
		nudge: make(chan struct{}, 1),
		self:  self, owned: make(map[string]struct{}), released: make(map[string]struct{}),
	}, nil
}

// Start registers the node (one heartbeat, within ctx) and starts the heartbeat goroutine. If the
// first registration fails, nothing is started and the error is returned; the caller may try again.
func (r *Registry) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.left {
		r.mu.Unlock()
		return fmt.Errorf("cluster: start: %w", ErrLeft)
	}
	if r.started {
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	if err := r.beat(ctx); err != nil {
		return fmt.Errorf("cluster: register node %s: %w", r.self.ID, err)
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	if r.started || r.left { // a concurrent Start or Leave won
		r.mu.Unlock()
		cancel()
		return nil
	}
	r.started, r.cancel, r.done = true, cancel, make(chan struct{})
	done := r.done
	r.mu.Unlock()
	go r.loop(loopCtx, done)
	return nil
}

// ID returns the node's id.
func (r *Registry) ID() string { return r.self.ID }

// Self returns the node's info as it will be published at the next heartbeat.
func (r *Registry) Self() NodeInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.self
}

// SetLoad records the node's load; the next heartbeat publishes it.
func (r *Registry) SetLoad(l Load) {
	r.mu.Lock()
	r.self.Load = l
	r.mu.Unlock()
}

// SetDraining marks the node draining (placement stops choosing it; its rooms stay) or not, and
// publishes it at once.
func (r *Registry) SetDraining(draining bool) {
	r.mu.Lock()
	r.self.Draining = draining
	r.mu.Unlock()
	select {
	case r.nudge <- struct{}{}:
	default:
	}
}

// Healthy reports whether the last heartbeat reached Redis.
func (r *Registry) Healthy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.healthy
}

// Owned returns the rooms this node owns as of its last heartbeat or claim, sorted.
func (r *Registry) Owned() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.owned))
	for room := range r.owned {
		out = append(out, room)
	}
	slices.Sort(out)
	return out
}

// Nodes lists the live nodes, sorted by id.
func (r *Registry) Nodes(ctx context.Context) ([]NodeInfo, error) {
	ids, err := r.rdb.SMembers(ctx, r.k.nodes()).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: list nodes: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = r.k.node(id)
	}
	vals, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: read nodes: %w", err)
	}
	nodes := make([]NodeInfo, 0, len(ids))
	var stale []any
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			stale = append(stale, ids[i])
			continue
		}
		n, err := decodeNodeInfo([]byte(s))
		if err != nil || n.ID != ids[i] {
			r.log.Warn("ignoring malformed node entry", "id", ids[i], "err", err)
			continue
		}
		nodes = append(nodes, n)
	}
	if len(stale) > 0 { // expired nodes: tidy the index (best effort; its TTL bounds it anyway)
		if err := r.rdb.SRem(ctx, r.k.nodes(), stale...).Err(); err != nil {
			r.log.Debug("tidy node index", "err", err)
		}
	}
	return nodes, nil
}

// Node returns one live node.
func (r *Registry) Node(ctx context.Context, id string) (NodeInfo, bool, error) {
	b, err := r.rdb.Get(ctx, r.k.node(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return NodeInfo{}, false, nil
	}
	if err != nil {
		return NodeInfo{}, false, fmt.Errorf("cluster: read node %s: %w", id, err)
	}
	n, err := decodeNodeInfo(b)
	if err != nil {
		return NodeInfo{}, false, err
	}
	return n, true, nil
}

// Leave stops the heartbeat and deletes the node's keys and claims. The Registry cannot be started
// again. If Redis cannot be reached the keys expire within the TTL instead, and the error says so.
func (r *Registry) Leave(ctx context.Context) error {
	r.mu.Lock()
	if r.left {
		r.mu.Unlock()
		return nil
	}
	r.left = true
	cancel, done := r.cancel, r.done
	owned := r.ownedArgs()
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	args := append([]any{r.self.ID, r.k.room(""), r.k.roomMembers("")}, owned...)
	err := leaveScript.Run(ctx, r.rdb, []string{r.k.node(r.self.ID), r.k.nodes(), r.k.nodeRooms(r.self.ID)}, args...).Err()
	r.mu.Lock()
	clear(r.owned)
	clear(r.released)
	r.mu.Unlock()
	r.setHealthy(false) // no longer registered
	if err != nil {
		return fmt.Errorf("cluster: leave (keys expire within %s): %w", r.cfg.NodeTTL, err)
	}
	r.log.Info("left the cluster")
	return nil
}

// ownedArgs returns the owned rooms as script arguments; r.mu must be held.
func (r *Registry) ownedArgs() []any {
	out := make([]any, 0, len(r.owned))
	for room := range r.owned {
		out = append(out, room)
	}
	return out
}

// loop is the heartbeat goroutine: a beat every Heartbeat, retried with backoff while Redis fails.
func (r *Registry) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	fails := 0
	t := time.NewTimer(r.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.nudge:
		}
		if err := r.beat(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			fails++
			if fails == 1 {
				r.log.Warn("heartbeat failed; retrying", "err", err)
			} else {
				r.log.Debug("heartbeat failed again", "attempt", fails, "err", err)
			}
			t.Reset(backoff(fails, r.cfg.MaxBackoff))
			continue
		}
		if fails > 0 {
			r.log.Info("heartbeat reaches redis again", "failed_attempts", fails)
			r.outages.Add(1)
		}
		fails = 0
		t.Reset(r.cfg.Heartbeat)
	}
}

// backoff returns the delay after the n-th consecutive failure: 100 ms doubling up to max, with
// ±20 % jitter so that nodes do not retry in lock step.
func backoff(n int, limit time.Duration) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d + time.Duration(rand.Int64N(int64(d)*2/5+1)) - d/5
}

// beat runs one heartbeat: publish the node, refresh (or after an outage re-take) its claims, apply
// released rooms, and learn rooms other nodes claimed for it.
func (r *Registry) beat(ctx context.Context) error {
	r.mu.Lock()
	r.self.Claimed = len(r.owned)
	r.self.UpdatedAt = time.Now().UTC()
	info, err := json.Marshal(r.self)
	owned := r.ownedArgs()
	released := make([]any, 0, len(r.released))
	snapshot := make(map[string]struct{}, len(r.owned))
	for room := range r.owned {
		snapshot[room] = struct{}{}
	}
	for room := range r.released {
		released = append(released, room)
	}
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("cluster: encode node info: %w", err)
	}

	// One attempt may take up to half a TTL, so a slow Redis still gets a chance before the key expires.
	ctx, cancel := context.WithTimeout(ctx, r.cfg.NodeTTL/2)
	defer cancel()
	args := make([]any, 0, 6+len(owned)+len(released))
	args = append(args, r.self.ID, info, r.cfg.NodeTTL.Milliseconds(), r.k.room(""), r.k.roomMembers(""), len(owned))
	args = append(args, owned...)
	args = append(args, released...)
	sent := time.Now()
	res, err := heartbeatScript.Run(ctx, r.rdb, []string{r.k.node(r.self.ID), r.k.nodes(), r.k.nodeRooms(r.self.ID)}, args...).Slice()
	if err != nil {
		r.failed.Add(1)
		r.setHealthy(false)
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	r.rttNs.Store(int64(time.Since(sent)))
	recovering, kept, lost, err := parseHeartbeat(res)
	if err != nil {
		r.setHealthy(false)
		return err
	}

	r.mu.Lock()
	for _, room := range released {
		delete(r.released, room.(string))
	}
	// Rooms claimed or released while the script ran keep their newer state.
	next := make(map[string]struct{}, len(kept))
	for _, room := range kept {
		if _, gone := r.released[room]; !gone {
			next[room] = struct{}{}
		}
	}
	for room := range r.owned {
		if _, before := snapshot[room]; !before {
			next[room] = struct{}{}
		}
	}
	var reallyLost []string
	for _, room := range lost {
		if _, had := snapshot[room]; had {
			if _, still := r.owned[room]; still {
				if _, reclaimed := next[room]; !reclaimed {
					reallyLost = append(reallyLost, room)
				}
			}
		}
	}
	r.owned = next
	r.mu.Unlock()

	if recovering && len(snapshot) > 0 {
		r.log.Info("re-registered after losing the node key", "rooms_kept", len(kept), "rooms_lost", len(reallyLost))
	}
	r.setHealthy(true)
	if len(reallyLost) > 0 {
		slices.Sort(reallyLost)
		r.log.Warn("rooms taken over by other nodes", "rooms", reallyLost)
		if r.cfg.OnRoomsLost != nil {
			r.cfg.OnRoomsLost(reallyLost)
		}
	}
	return nil
}

func parseHeartbeat(res []any) (recovering bool, kept, lost []string, err error) {
	if len(res) != 3 {
		return false, nil, nil, fmt.Errorf("cluster: heartbeat reply of %d items: %w", len(res), ErrBadData)
	}
	flag, ok := res[0].(int64)
	if !ok {
		return false, nil, nil, fmt.Errorf("cluster: heartbeat reply flag %T: %w", res[0], ErrBadData)
	}
	if kept, err = stringList(res[1]); err != nil {
		return false, nil, nil, err
	}
	if lost, err = stringList(res[2]); err != nil {
		return false, nil, nil, err
	}
	return flag == 1, kept, lost, nil
}

func stringList(v any) ([]string, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("cluster: expected a list, got %T: %w", v, ErrBadData)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("cluster: expected a string, got %T: %w", it, ErrBadData)
		}
		out = append(out, s)
	}
	return out, nil
}

func (r *Registry) setHealthy(h bool) {
	r.mu.Lock()
	changed := r.healthy != h
	r.healthy = h
	r.mu.Unlock()
	if changed && r.cfg.OnHealthChange != nil {
		r.cfg.OnHealthChange(h)
	}
}

// addOwned records a room this node has just claimed.
func (r *Registry) addOwned(room string) {
	r.mu.Lock()
	r.owned[room] = struct{}{}
	delete(r.released, room)
	r.mu.Unlock()
}

// dropOwned forgets a room and queues its release for the next heartbeat too, which deletes the claim
// again should a concurrent heartbeat have re-taken it.
func (r *Registry) dropOwned(room string) {
	r.mu.Lock()
	delete(r.owned, room)
	r.released[room] = struct{}{}
	r.mu.Unlock()
}
