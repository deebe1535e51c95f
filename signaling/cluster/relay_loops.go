package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
)

// readLoop is the reader goroutine: one blocking XREAD over the inbox, the wake stream and every
// session's inbound stream, then dispatch, until the relay closes.
func (r *Relay) readLoop() {
	defer r.wg.Done()
	inboxLast, wakeLast := "0-0", "0-0"
	fails := 0
	for r.ctx.Err() == nil {
		streams := r.readSet(inboxLast, wakeLast)
		ctx, cancel := context.WithTimeout(r.ctx, r.cfg.ReadBlock+r.ttl)
		res, err := r.rdb.XRead(ctx, &redis.XReadArgs{Streams: streams, Count: readCount, Block: r.cfg.ReadBlock}).Result()
		cancel()
		if err != nil && !errors.Is(err, redis.Nil) {
			if r.ctx.Err() != nil {
				return
			}
			fails++
			if fails == 1 {
				r.log.Debug("relay read failed; retrying", "err", err)
				continue // at once: most failures are one connection that died
			}
			if fails == 2 {
				r.log.Warn("relay reads fail; retrying with backoff", "err", err)
			}
			if !r.sleep(backoff(fails-1, r.reg.cfg.MaxBackoff)) {
				return
			}
			continue
		}
		if fails > 1 {
			r.log.Info("relay reads again", "failed_attempts", fails)
		}
		fails = 0
		r.dispatch(res, &inboxLast, &wakeLast)
	}
}

// readSet returns XREAD's STREAMS arguments: the keys, then the id to read after in each.
func (r *Relay) readSet(inboxLast, wakeLast string) []string {
	r.mu.Lock()
	conns := make([]*RelayConn, 0, len(r.conns))
	for _, c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	keys := []string{r.k.inbox(r.id), r.k.wake(r.id)}
	ids := []string{inboxLast, wakeLast}
	for _, c := range conns {
		c.mu.Lock()
		if !c.paused && !c.ended {
			keys = append(keys, c.inKey)
			ids = append(ids, c.lastID)
		}
		c.mu.Unlock()
	}
	return append(keys, ids...)
}

// dispatch hands what one XREAD returned to the sessions, accepts announced sessions, and then tidies
// Redis: read announcements are deleted, consumed entries trimmed, ended sessions' keys deleted.
func (r *Relay) dispatch(res []redis.XStream, inboxLast, wakeLast *string) {
	var readAnnouncements []string
	var trims []trim
	var ended, rejected []*RelayConn
	for _, s := range res {
		if len(s.Messages) == 0 {
			continue
		}
		switch s.Stream {
		case r.k.wake(r.id):
			*wakeLast = s.Messages[len(s.Messages)-1].ID
		case r.k.inbox(r.id):
			for _, m := range s.Messages {
				*inboxLast = m.ID
				readAnnouncements = append(readAnnouncements, m.ID)
				if c := r.announced(m); c != nil {
					rejected = append(rejected, c)
				}
			}
		default:
			r.mu.Lock()
			c := r.conns[s.Stream]
			r.mu.Unlock()
			if c == nil {
				continue // closed meanwhile
			}
			t, end := c.deliver(s.Messages)
			if t.minID != "" {
				trims = append(trims, t)
			}
			if end {
				r.forget(c)
				ended = append(ended, c)
			}
		}
	}
	for _, c := range rejected {
		if err := c.Close(); err != nil {
			r.log.Debug("refuse relay session", "session", c.sid, "err", err)
		}
	}
	if len(readAnnouncements) == 0 && len(trims) == 0 && len(ended) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.ttl/2)
	defer cancel()
	pipe := r.rdb.Pipeline()
	if len(readAnnouncements) > 0 {
		pipe.XDel(ctx, r.k.inbox(r.id), readAnnouncements...)
	}
	for _, t := range trims {
		pipe.XTrimMinID(ctx, t.key, t.minID)
	}
	for _, c := range ended {
		pipe.Del(ctx, c.keys()...)
	}
	if _, err := pipe.Exec(ctx); err != nil && r.ctx.Err() == nil {
		r.log.Debug("tidy relay streams (TTLs will)", "err", err)
	}
}

// announced handles one inbox entry: a new session to accept. It returns a session to refuse (the
// accept backlog is full, or the relay is closing), or nil.
func (r *Relay) announced(m redis.XMessage) *RelayConn {
	a, err := decodeAnnouncement(m.Values)
	if err != nil {
		r.log.Warn("ignoring malformed relay announcement", "id", m.ID, "err", err)
		return nil
	}
	c := newRelayConn(r, a.session, a.edge, true)
	r.mu.Lock()
	if _, dup := r.conns[c.inKey]; dup {
		r.mu.Unlock()
		return nil
	}
	if r.closed {
		r.mu.Unlock()
		return c
	}
	select {
	case r.accept <- c:
		r.conns[c.inKey] = c
		r.open[c] = struct{}{}
		r.mu.Unlock()
		return nil
	default:
		r.mu.Unlock()
		c.setSendErr(fmt.Errorf("cluster: relay %s: %w", c.sid, ErrAcceptOverflow))
		r.log.Warn("accept backlog full; refusing relayed session", "session", a.session, "edge", a.edge)
		return c
	}
}

// trim asks for a stream's consumed entries to be deleted.
type trim struct{ key, minID string }

// deliver queues the messages read from the session's stream. It returns a trim to make and whether
// the session has just ended (closed by the peer, or broken).
func (c *RelayConn) deliver(msgs []redis.XMessage) (trim, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return trim{}, false
	}
	for _, m := range msgs {
		e, err := decodeEntry(m.ID, m.Values)
		if err != nil {
			return trim{}, c.endLocked(fmt.Errorf("cluster: relay %s: %w", c.sid, err))
		}
		if e.seq <= c.lastSeq {
			continue // read before (cannot happen while ids are tracked; harmless if it does)
		}
		if e.seq != c.lastSeq+1 {
			return trim{}, c.endLocked(fmt.Errorf("cluster: relay %s: expected entry %d, got %d: %w",
				c.sid, c.lastSeq+1, e.seq, ErrRelayGap))
		}
		c.lastSeq, c.lastID = e.seq, m.ID
		if e.kind == kindClose {
			return trim{}, c.endLocked(io.EOF)
		}
		c.queue = append(c.queue, e.data)
	}
	if len(c.queue) >= c.relay.cfg.QueueLength {
		c.paused = true
	}
	c.signalLocked()
	if c.lastSeq-c.trimmedSeq < trimEvery {
		return trim{}, false
	}
	c.trimmedSeq = c.lastSeq
	return trim{key: c.inKey, minID: c.lastID}, false
}

// keepLoop is the keeper goroutine: every heartbeat interval it refreshes the TTLs of the relay's keys
// and fails the sessions whose peer is gone.
func (r *Relay) keepLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.reg.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		r.keep()
	}
}

type keepCheck struct {
	c    *RelayConn
	mine *redis.BoolCmd
	peer *redis.StringCmd
}

func (r *Relay) keep() {
	r.mu.Lock()
	conns := make([]*RelayConn, 0, len(r.conns))
	for _, c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(r.ctx, r.reg.cfg.Heartbeat)
	defer cancel()
	pipe := r.rdb.Pipeline()
	pipe.PExpire(ctx, r.k.inbox(r.id), r.ttl)
	pipe.PExpire(ctx, r.k.wake(r.id), r.ttl)
	checks := make([]keepCheck, len(conns))
	peers := make(map[string]*redis.IntCmd)
	for i, c := range conns {
		checks[i] = keepCheck{c: c, mine: pipe.PExpire(ctx, c.mineKey, r.ttl), peer: pipe.Get(ctx, c.peerKey)}
		pipe.PExpire(ctx, c.inKey, r.ttl)
		pipe.PExpire(ctx, c.outKey, r.ttl)
		if peers[c.peer] == nil {
			peers[c.peer] = pipe.Exists(ctx, r.k.node(c.peer))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		if r.ctx.Err() == nil {
			r.log.Debug("relay keep-alive failed", "err", err)
			r.noteTrouble()
		}
		return // say nothing about peers while Redis cannot answer
	}
	var resume []*RelayConn
	for _, k := range checks {
		peer, err := k.peer.Result()
		if err != nil && !errors.Is(err, redis.Nil) || k.mine.Err() != nil || peers[k.c.peer].Err() != nil {
			continue // no answer is no evidence
		}
		var why error
		switch {
		case !k.mine.Val() && (r.troubled() || k.c.resuming()):
			resume = append(resume, k.c) // Redis lost it in an outage: carry on
		case !k.mine.Val():
			why = fmt.Errorf("cluster: relay %s: this end's key expired: %w", k.c.sid, ErrSessionLost)
		case peer == "closed":
			k.c.mu.Lock()
			k.c.peerClosed = true // its close marker is in the stream; the reader will get to it
			k.c.mu.Unlock()
		case k.c.isPeerClosed():
		case k.c.resuming(): // the peer may not have re-created its keys yet
		case peer == "":
			why = fmt.Errorf("cluster: relay %s: peer node %s stopped refreshing the session: %w", k.c.sid, k.c.peer, ErrPeerGone)
		case peers[k.c.peer].Val() == 0:
			why = fmt.Errorf("cluster: relay %s: peer node %s left the registry: %w", k.c.sid, k.c.peer, ErrPeerGone)
		}
		if why != nil {
			r.fail(ctx, k.c, why)
		}
	}
	r.resume(ctx, resume)
}

// resume re-creates the presence keys of sessions whose keys Redis lost in an outage, and gives each a
// grace of two TTLs for its peer to do the same. Entries that were in the lost streams and not yet read
// are gone; the reader notices such a gap (ErrRelayGap) when the next entry arrives.
func (r *Relay) resume(ctx context.Context, conns []*RelayConn) {
	if len(conns) == 0 {
		return
	}
	pipe := r.rdb.Pipeline()
	for _, c := range conns {
		pipe.SetNX(ctx, c.mineKey, "open", r.ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		r.log.Debug("re-creating relay sessions' keys failed; retrying at the next keep-alive", "err", err)
		return
	}
	until := time.Now().Add(2 * r.ttl)
	for _, c := range conns {
		c.mu.Lock()
		c.resumeUntil = until
		c.mu.Unlock()
	}
	r.log.Info("relay sessions resumed after Redis lost their keys", "sessions", len(conns))
}

func (c *RelayConn) isPeerClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerClosed
}

// fail ends a session with err and deletes its keys.
func (r *Relay) fail(ctx context.Context, c *RelayConn, err error) {
	c.mu.Lock()
	ended := c.endLocked(err)
	c.mu.Unlock()
	if !ended {
		return
	}
	r.forget(c)
	r.log.Info("relay session failed", "session", c.sid, "peer", c.peer, "err", err)
	if err := r.rdb.Del(ctx, c.keys()...).Err(); err != nil {
		r.log.Debug("delete failed relay session's keys (TTLs will)", "session", c.sid, "err", err)
	}
}
