package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Placement decides and records which node owns each room. It works through a started Registry, whose
// heartbeat keeps this node's claims alive. It is safe for concurrent use.
type Placement struct {
	reg *Registry

	mu           sync.Mutex
	redisStarted time.Time // when Redis last started, as of the Registry's outage count below
	startedAsOf  int64     // Registry.Outages when redisStarted was read; -1: never read
}

// NewPlacement returns the placement of rooms through reg.
func NewPlacement(reg *Registry) *Placement { return &Placement{reg: reg, startedAsOf: -1} }

// claimAttempts bounds how often Claim re-reads the node list when its candidate vanished meanwhile.
const claimAttempts = 5

// Claim returns the room's owner: its live owner if it has one, otherwise the node it has just claimed
// the room for, atomically: the least-loaded live, non-draining node, in preferredRegion if any node
// there qualifies. Any number of nodes may race to claim the same room; all get the same owner.
func (p *Placement) Claim(ctx context.Context, room, preferredRegion string) (NodeInfo, error) {
	if err := checkName("room", room); err != nil {
		return NodeInfo{}, err
	}
	if p.left() {
		return NodeInfo{}, fmt.Errorf("cluster: claim %s: %w", room, ErrLeft)
	}
	if err := p.settle(ctx); err != nil {
		return NodeInfo{}, fmt.Errorf("cluster: claim %s: %w", room, err)
	}
	r := p.reg
	for attempt := 0; attempt < claimAttempts; attempt++ {
		nodes, err := r.Nodes(ctx)
		if err != nil {
			return NodeInfo{}, fmt.Errorf("cluster: claim %s: %w", room, err)
		}
		cand, ok := pickNode(nodes, preferredRegion)
		if !ok {
			// Nobody can take a new room, but the room may have a live (draining) owner already.
			if owner, found, err := p.Lookup(ctx, room); err != nil || found {
				return owner, err
			}
			return NodeInfo{}, fmt.Errorf("cluster: claim %s: %w", room, ErrNoNode)
		}
		keys := []string{r.k.room(room), r.k.roomMembers(room), r.k.node(cand.ID), r.k.nodeRooms(cand.ID)}
		res, err := claimScript.Run(ctx, r.rdb, keys, cand.ID, r.cfg.NodeTTL.Milliseconds(), r.k.node(""), room, r.k.nodeRooms("")).Slice()
		if err != nil {
			return NodeInfo{}, fmt.Errorf("cluster: claim %s: %w", room, err)
		}
		status, info, err := parseClaim(res)
		if err != nil {
			return NodeInfo{}, fmt.Errorf("cluster: claim %s: %w", room, err)
		}
		switch status {
		case "gone", "draining":
			r.log.Debug("claim candidate changed meanwhile; retrying", "room", room, "candidate", cand.ID, "status", status)
			continue
		case "claimed":
			r.log.Debug("room claimed", "room", room, "owner", info.ID)
		}
		if info.ID == r.self.ID { // also "owner": a retried claim of ours may have landed already
			r.addOwned(room)
		}
		return info, nil
	}
	return NodeInfo{}, fmt.Errorf("cluster: claim %s: candidates kept vanishing: %w", room, ErrNoNode)
}

func parseClaim(res []any) (status string, info NodeInfo, err error) {
	if len(res) == 0 {
		return "", info, fmt.Errorf("empty claim reply: %w", ErrBadData)
	}
	status, _ = res[0].(string)
	switch status {
	case "gone", "draining":
		return status, info, nil
	case "owner", "claimed":
		if len(res) != 3 {
			return "", info, fmt.Errorf("claim reply of %d items: %w", len(res), ErrBadData)
		}
		raw, _ := res[2].(string)
		info, err = decodeNodeInfo([]byte(raw))
		if err != nil {
			return "", info, err
		}
		if id, _ := res[1].(string); id != info.ID {
			return "", info, fmt.Errorf("claim names %q but node info %q: %w", id, info.ID, ErrBadData)
		}
		return status, info, nil
	}
	return "", info, fmt.Errorf("claim reply %q: %w", status, ErrBadData)
}

// Lookup returns the room's live owner, if it has one, without claiming it.
func (p *Placement) Lookup(ctx context.Context, room string) (NodeInfo, bool, error) {
	owner, err := p.reg.rdb.Get(ctx, p.reg.k.room(room)).Result()
	if errors.Is(err, redis.Nil) {
		return NodeInfo{}, false, nil
	}
	if err != nil {
		return NodeInfo{}, false, fmt.Errorf("cluster: look up room %s: %w", room, err)
	}
	return p.reg.Node(ctx, owner)
}

// Owns reports whether this node owns the room, as of its last heartbeat or claim.
func (p *Placement) Owns(room string) bool {
	p.reg.mu.Lock()
	defer p.reg.mu.Unlock()
	_, ok := p.reg.owned[room]
	return ok
}

// Release gives up this node's claim on a room that has ended, with its participant list. It returns
// ErrNotOwner (and changes nothing) if another node owns the room.
func (p *Placement) Release(ctx context.Context, room string) error {
	if err := checkName("room", room); err != nil {
		return err
	}
	r := p.reg
	r.dropOwned(room)
	n, err := releaseScript.Run(ctx, r.rdb, []string{r.k.room(room), r.k.roomMembers(room), r.k.nodeRooms(r.self.ID)}, r.self.ID, room).Int()
	if err != nil {
		return fmt.Errorf("cluster: release %s (the next heartbeat retries): %w", room, err)
	}
	if n == 0 {
		return fmt.Errorf("cluster: release %s: %w", room, ErrNotOwner)
	}
	r.log.Debug("room released", "room", room)
	return nil
}

// Rooms lists every room owned by a live node, with its owner and participant count, sorted by name.
func (p *Placement) Rooms(ctx context.Context) ([]RoomInfo, error) {
	r := p.reg
	nodes, err := r.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	pipe := r.rdb.Pipeline()
	sets := make([]*redis.StringSliceCmd, len(nodes))
	for i, n := range nodes {
		sets[i] = pipe.SMembers(ctx, r.k.nodeRooms(n.ID))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("cluster: list rooms: %w", err)
	}
	var rooms []RoomInfo
	var owners []*redis.StringCmd
	var counts []*redis.IntCmd
	for i, n := range nodes {
		for _, name := range sets[i].Val() {
			rooms = append(rooms, RoomInfo{Name: name, Owner: n})
			owners = append(owners, pipe.Get(ctx, r.k.room(name)))
			counts = append(counts, pipe.HLen(ctx, r.k.roomMembers(name)))
		}
	}
	if len(rooms) == 0 {
		return nil, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("cluster: read rooms: %w", err)
	}
	out := rooms[:0]
	for i, room := range rooms {
		if owners[i].Val() != room.Owner.ID { // released or taken over since the node's last heartbeat
			continue
		}
		room.Participants = int(counts[i].Val())
		out = append(out, room)
	}
	slices.SortFunc(out, func(a, b RoomInfo) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out, nil
}

// Participants returns a room's participant list as its owner keeps it, in joining order.
func (p *Placement) Participants(ctx context.Context, room string) ([]Participant, error) {
	vals, err := p.reg.rdb.HGetAll(ctx, p.reg.k.roomMembers(room)).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: participants of %s: %w", room, err)
	}
	out := make([]Participant, 0, len(vals))
	for id, v := range vals {
		part, err := decodeParticipant([]byte(v))
		if err != nil || part.ID != id {
			p.reg.log.Warn("ignoring malformed participant entry", "room", room, "id", id, "err", err)
			continue
		}
		out = append(out, part)
	}
	sortParticipants(out)
	return out, nil
}

// SetParticipants replaces a room's participant list. Only the room's owner may change it
// (ErrNotOwner otherwise); the list lives as long as the claim.
func (p *Placement) SetParticipants(ctx context.Context, room string, parts []Participant) error {
	args := make([]any, 0, 2+2*len(parts))
	args = append(args, p.reg.self.ID, "set")
	for _, part := range parts {
		b, err := encodeParticipant(part)
		if err != nil {
			return fmt.Errorf("cluster: participants of %s: %w", room, err)
		}
		args = append(args, part.ID, b)
	}
	return p.members(ctx, room, args)
}

// AddParticipant adds or replaces one entry of a room's participant list (owner only).
func (p *Placement) AddParticipant(ctx context.Context, room string, part Participant) error {
	b, err := encodeParticipant(part)
	if err != nil {
		return fmt.Errorf("cluster: participant of %s: %w", room, err)
	}
	return p.members(ctx, room, []any{p.reg.self.ID, "add", part.ID, b})
}

// RemoveParticipant removes one entry of a room's participant list (owner only).
func (p *Placement) RemoveParticipant(ctx context.Context, room, id string) error {
	return p.members(ctx, room, []any{p.reg.self.ID, "del", id})
}

func (p *Placement) members(ctx context.Context, room string, args []any) error {
	if err := checkName("room", room); err != nil {
		return err
	}
	r := p.reg
	n, err := membersScript.Run(ctx, r.rdb, []string{r.k.room(room), r.k.roomMembers(room)}, args...).Int()
	if err != nil {
		return fmt.Errorf("cluster: participants of %s: %w", room, err)
	}
	if n == 0 {
		return fmt.Errorf("cluster: participants of %s: %w", room, ErrNotOwner)
	}
	return nil
}

func encodeParticipant(p Participant) ([]byte, error) {
	if err := checkName("participant id", p.ID); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode participant %s: %w", p.ID, err)
	}
	if len(b) > maxInfoSize {
		return nil, fmt.Errorf("participant %s is %d bytes, over %d: %w", p.ID, len(b), maxInfoSize, ErrTooLarge)
	}
	return b, nil
}

func (p *Placement) left() bool {
	p.reg.mu.Lock()
	defer p.reg.mu.Unlock()
	return p.reg.left
}

// settle makes a claim wait, right after Redis restarted under a running cluster (it started after this
// node did, so it lost every key), until every node's heartbeat has had the time to get through and
// re-claim its rooms: NodeTTL plus the heartbeat's longest backoff. Otherwise a join through one node
// could claim a room whose owner, elsewhere, has not re-claimed it yet, and split it.
func (p *Placement) settle(ctx context.Context) error {
	started, err := p.redisStart(ctx)
	if err != nil {
		return err
	}
	if !p.reg.self.StartedAt.Before(started) {
		return nil // Redis was there before this node: nothing was lost under it
	}
	// Every node's heartbeat retries within MaxBackoff plus its jitter (a fifth) of Redis coming back,
	// and started may be up to a second early (redisStart): wait all of that and a TTL more.
	wait := time.Until(started.Add(p.reg.cfg.NodeTTL + p.reg.cfg.MaxBackoff*6/5 + time.Second))
	if wait <= 0 {
		return nil
	}
	p.reg.log.Debug("redis restarted recently; the claim waits for the nodes to re-claim their rooms", "wait", wait)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the nodes to re-claim their rooms after a redis restart: %w", ctx.Err())
	}
}

// redisStart returns when Redis started (from INFO's uptime, rounded down by up to a second more),
// read again after every outage the heartbeat went through.
func (p *Placement) redisStart(ctx context.Context) (time.Time, error) {
	outages := p.reg.Outages()
	p.mu.Lock()
	if p.startedAsOf == outages {
		defer p.mu.Unlock()
		return p.redisStarted, nil
	}
	p.mu.Unlock()
	info, err := p.reg.rdb.Info(ctx, "server").Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("read redis uptime: %w", err)
	}
	uptime, err := parseUptime(info)
	if err != nil {
		return time.Time{}, err
	}
	started := time.Now().Add(-uptime - time.Second)
	p.mu.Lock()
	p.redisStarted, p.startedAsOf = started, outages
	p.mu.Unlock()
	return started, nil
}

// parseUptime reads uptime_in_seconds from INFO server's reply.
func parseUptime(info string) (time.Duration, error) {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "uptime_in_seconds:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("redis uptime %q: %w", v, ErrBadData)
			}
			return time.Duration(n) * time.Second, nil
		}
	}
	return 0, fmt.Errorf("no uptime_in_seconds in INFO server: %w", ErrBadData)
}
