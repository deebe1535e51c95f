package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Relay carries signalling sessions between the node holding a client's WebSocket (the edge) and the
// node owning the client's room (the owner). Each node runs one Relay, which plays both roles.
//
// # Protocol
//
// A session has two streams, relay-up:{sid} (edge → owner) and relay-down:{sid} (owner → edge), and
// one presence key per end, relay-edge:{sid} and relay-owner:{sid}, holding "open" while that end
// lives and "closed" once it has closed. Entries are appended by a script that refuses unless both
// ends are "open"; each carries the sender's next sequence number as its id ("0-1", "0-2", …), a kind
// ("m" message, "c" close) and the payload.
//
//  1. Dial (edge): one script checks that the owner's node key exists, creates both presence keys,
//     appends the first message to the up stream and announces {session, edge} in the owner's inbox
//     stream relay-inbox:{owner}.
//  2. The owner's reader sees the announcement, starts reading the up stream from 0 and queues the
//     session for Accept; the announcement is then deleted from the inbox.
//  3. Each reader tracks the last id it read per stream, so a failed XREAD, a lost connection or a
//     cancelled Recv resumes exactly after it: nothing is skipped or read twice. A reader checks that
//     sequence numbers follow each other (a gap fails the session with ErrRelayGap: the stream was
//     trimmed past an entry nobody read) and trims what it has consumed.
//  4. A sender whose script call fails on the network retries with the same sequence number; a retry of
//     an entry that had landed is recognised and not added again.
//  5. Close (either end): a script marks this end "closed", appends the close marker and deletes the
//     stream this end was reading. The peer reads everything sent before the marker, then io.EOF, and
//     deletes the remaining keys. If the peer had closed or vanished, Close deletes all four keys.
//  6. Every heartbeat interval each node refreshes the TTL of its sessions' keys and checks its peers:
//     a peer whose presence key or node key has gone (it stopped refreshing: crashed, or cut off from
//     Redis for a TTL) fails the session with ErrPeerGone, within NodeTTL plus one interval; a session
//     whose own presence key has gone (Redis lost its data) fails with ErrSessionLost.
//
// One reader goroutine serves all of a node's sessions with a blocking XREAD over its inbox, its wake
// stream (which Dial and flow control append to, so that the blocked read picks up a new set of
// streams at once) and every session's inbound stream. A session whose receive queue is full is left
// out of the read until Recv drains it, so a slow consumer holds its messages in Redis, not in memory.
type Relay struct {
	reg *Registry
	rdb redis.UniversalClient
	k   keys
	id  string
	log *slog.Logger
	cfg RelayConfig
	ttl time.Duration

	ctx    context.Context // ends the goroutines
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wakeCh chan struct{}
	accept chan *RelayConn
	done   chan struct{} // closed by Close

	trouble atomic.Int64 // when Redis last failed to answer (unix nanoseconds); see troubled
	retries atomic.Int64 // sends retried after a failure to reach Redis
	dups    atomic.Int64 // retried sends that had landed the first time

	mu     sync.Mutex
	conns  map[string]*RelayConn   // sessions being read, by inbound stream key
	open   map[*RelayConn]struct{} // sessions not yet closed by this end (Close closes them)
	closed bool
}

// RelayConfig tunes a Relay; zero values take the defaults.
type RelayConfig struct {
	// QueueLength is how many received messages a RelayConn holds before its stream is left out of
	// reads until Recv catches up (1024).
	QueueLength int
	// MaxStreamLength bounds a session stream: a reader that falls this far behind fails with
	// ErrRelayGap instead of letting Redis grow (10000).
	MaxStreamLength int64
	// AcceptBacklog is how many relayed sessions may wait for Accept; more are closed at once (1024).
	AcceptBacklog int
	// ReadBlock is how long one XREAD blocks when nothing arrives (2 s).
	ReadBlock time.Duration
}

func (c *RelayConfig) setDefaults() {
	if c.QueueLength <= 0 {
		c.QueueLength = 1024
	}
	if c.MaxStreamLength <= 0 {
		c.MaxStreamLength = 10000
	}
	if c.AcceptBacklog <= 0 {
		c.AcceptBacklog = 1024
	}
	if c.ReadBlock <= 0 {
		c.ReadBlock = 2 * time.Second
	}
}

const (
	readCount    = 256         // entries per stream per XREAD
	trimEvery    = 32          // consumed entries between two trims of a stream
	inboxMaxLen  = 10000       // announcements kept in an inbox (they are deleted once read)
	closeTimeout = time.Second // bound on Close's Redis work
)

// NewRelay starts this node's relay on reg's Redis client, key prefix, TTL and interval. The Registry
// should be started: the peers' liveness checks look for this node's registry key.
func NewRelay(reg *Registry, cfg RelayConfig) *Relay {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay{
		reg: reg, rdb: reg.rdb, k: reg.k, id: reg.self.ID, log: reg.log.With("component", "relay"),
		cfg: cfg, ttl: reg.cfg.NodeTTL,
		ctx: ctx, cancel: cancel,
		wakeCh: make(chan struct{}, 1),
		accept: make(chan *RelayConn, cfg.AcceptBacklog),
		done:   make(chan struct{}),
		conns:  make(map[string]*RelayConn),
		open:   make(map[*RelayConn]struct{}),
	}
	r.wg.Add(3)
	go r.readLoop()
	go r.keepLoop()
	go r.wakeLoop()
	return r
}

// Dial opens a relayed session to the room's owner node. first, if not nil, is the session's first
// message (typically the client's join); it reaches the owner before anything sent later. The owner
// sees the session in Accept. sessionID must be unique in the cluster (random). If Dial fails on the
// network the session may have been half made: its keys expire within the TTL; dial with a new id.
func (r *Relay) Dial(ctx context.Context, ownerNodeID, sessionID string, first []byte) (*RelayConn, error) {
	if err := checkName("owner node id", ownerNodeID); err != nil {
		return nil, err
	}
	if err := checkName("session id", sessionID); err != nil {
		return nil, err
	}
	if len(first) > MaxMessageSize {
		return nil, fmt.Errorf("cluster: dial %s: first message of %d bytes: %w", sessionID, len(first), ErrTooLarge)
	}
	if r.isClosed() {
		return nil, fmt.Errorf("cluster: dial %s: %w", sessionID, ErrRelayClosed)
	}
	c := newRelayConn(r, sessionID, ownerNodeID, false)
	hasFirst := "0"
	if first != nil {
		hasFirst = "1"
	}
	keys := []string{r.k.edge(sessionID), r.k.owner(sessionID), r.k.up(sessionID), r.k.down(sessionID),
		r.k.inbox(ownerNodeID), r.k.node(ownerNodeID)}
	res, err := dialScript.Run(ctx, r.rdb, keys, r.ttl.Milliseconds(), sessionID, r.id, inboxMaxLen, hasFirst, first).Text()
	if err != nil {
		return nil, fmt.Errorf("cluster: dial %s on %s: %w", sessionID, ownerNodeID, err)
	}
	switch res {
	case "ok":
	case "nonode":
		return nil, fmt.Errorf("cluster: dial %s: owner node %s is not registered: %w", sessionID, ownerNodeID, ErrPeerGone)
	case "exists":
		return nil, fmt.Errorf("cluster: dial %s: %w", sessionID, ErrSessionExists)
	default:
		return nil, fmt.Errorf("cluster: dial %s: reply %q: %w", sessionID, res, ErrBadData)
	}
	if first != nil {
		c.sendSeq.Store(1)
	}
	if !r.register(c) {
		_ = c.Close()
		return nil, fmt.Errorf("cluster: dial %s: %w", sessionID, ErrRelayClosed)
	}
	r.wake()
	return c, nil
}

// Accept returns the next session relayed to this node.
func (r *Relay) Accept(ctx context.Context) (*RelayConn, error) {
	select {
	case <-r.done:
		return nil, fmt.Errorf("cluster: accept: %w", ErrRelayClosed)
	default:
	}
	select {
	case c := <-r.accept:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.done:
		return nil, fmt.Errorf("cluster: accept: %w", ErrRelayClosed)
	}
}

// Close closes every session (their peers read io.EOF after what was sent), stops the relay's
// goroutines and deletes its keys.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.wg.Wait()
		return nil
	}
	r.closed = true
	open := make([]*RelayConn, 0, len(r.open))
	for c := range r.open {
		open = append(open, c)
	}
	r.mu.Unlock()
	close(r.done)
	// One deadline for all: with Redis unreachable, Close must not wait a timeout per session.
	ctx, cancel := context.WithTimeout(context.Background(), 2*closeTimeout)
	defer cancel()
	for _, c := range open {
		if err := c.close(ctx); err != nil {
			r.log.Debug("close relay session", "session", c.sid, "err", err)
		}
	}
	r.cancel()
	ctx, cancel = context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	r.appendWake(ctx) // the reader may be blocked in XREAD
	r.wg.Wait()
	if err := r.rdb.Del(ctx, r.k.inbox(r.id), r.k.wake(r.id)).Err(); err != nil {
		return fmt.Errorf("cluster: close relay (its keys expire within %s): %w", r.ttl, err)
	}
	return nil
}

func (r *Relay) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// register adds a session to the read set, unless the relay is closed.
func (r *Relay) register(c *RelayConn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c.inKey] = c
	r.open[c] = struct{}{}
	return true
}

// forget takes a session out of the read set and the keeper's care.
func (r *Relay) forget(c *RelayConn) {
	r.mu.Lock()
	if r.conns[c.inKey] == c {
		delete(r.conns, c.inKey)
	}
	r.mu.Unlock()
}

// dropClosed forgets a session this end has closed.
func (r *Relay) dropClosed(c *RelayConn) {
	r.mu.Lock()
	delete(r.open, c)
	if r.conns[c.inKey] == c {
		delete(r.conns, c.inKey)
	}
	r.mu.Unlock()
}

// wake asks the waker to nudge the reader so it reads a new set of streams.
func (r *Relay) wake() {
	select {
	case r.wakeCh <- struct{}{}:
	default:
	}
}

// appendWake appends to the wake stream, which the reader always reads: a blocked XREAD returns.
func (r *Relay) appendWake(ctx context.Context) {
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: r.k.wake(r.id), MaxLen: 1, Values: []string{"w", ""}})
		p.PExpire(ctx, r.k.wake(r.id), r.ttl)
		return nil
	})
	if err != nil && r.ctx.Err() == nil {
		r.log.Debug("wake relay reader", "err", err)
	}
}

// wakeLoop is the waker goroutine; wakes requested while one is being sent coalesce.
func (r *Relay) wakeLoop() {
	defer r.wg.Done()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.wakeCh:
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.ttl/2)
		r.appendWake(ctx)
		cancel()
	}
}

// sleep waits d or until the relay closes; it reports whether the relay is still running.
func (r *Relay) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// isReplyError tells an error reply from Redis (the command ran and failed: retrying will not help)
// from a failure to reach it or a reply that asks to retry later.
func isReplyError(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) || errors.Is(err, redis.Nil) {
		return false
	}
	for _, transient := range []string{"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "ERR max number of clients"} {
		if strings.HasPrefix(err.Error(), transient) {
			return false
		}
	}
	return true
}

// noteTrouble records that Redis failed to answer just now.
func (r *Relay) noteTrouble() { r.trouble.Store(time.Now().UnixNano()) }

// troubled reports whether Redis failed to answer within the last two TTLs: keys missing then were
// probably lost with Redis (a restart without persistence, or expired during the outage), not deleted
// by a peer that ended the session.
func (r *Relay) troubled() bool {
	last := r.trouble.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < 2*r.ttl
}
