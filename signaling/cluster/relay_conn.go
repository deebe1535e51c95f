package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// RelayConn is one end of a relayed session: ordered messages both ways, none lost or duplicated
// while both nodes and Redis live. One Send and one Recv may run at a time; Close may be called from
// any goroutine, and must be, once the session is over (even after io.EOF or an error).
type RelayConn struct {
	relay   *Relay
	sid     string
	peer    string // the other end's node id
	isOwner bool   // this end is the room owner's (it reads the up stream)
	inKey   string // stream this end reads
	outKey  string // stream this end appends to
	mineKey string // this end's presence key
	peerKey string // the peer's presence key

	sendTok chan struct{} // holds a token while a Send (or Close's marker) is in flight
	sendSeq atomic.Uint64 // sequence number of the last entry appended to outKey

	closedCh chan struct{} // closed by Close

	mu         sync.Mutex
	queue      [][]byte      // received, not yet returned by Recv
	notify     chan struct{} // signalled when queue or recvErr changes
	recvErr    error         // set once nothing more can be received: io.EOF or a failure
	sendErr    error         // set once nothing more can be sent
	closed     bool          // Close was called
	ended      bool          // the reader and keeper no longer serve this session
	lastID     string        // id of the last entry read from inKey
	lastSeq    uint64        // its sequence number
	trimmedSeq uint64        // entries up to this one have been trimmed
	paused     bool          // queue full: inKey left out of reads until Recv drains it
	peerClosed bool          // the peer's presence key said "closed": its close marker is on its way
	// resumeUntil: Redis lost this session's keys (restarted empty) and the keeper re-created this end's;
	// until then a missing peer is taken for one that has not re-created its own yet.
	resumeUntil time.Time
}

// resuming reports whether the session is within its grace after Redis lost its keys.
func (c *RelayConn) resuming() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Before(c.resumeUntil)
}

func newRelayConn(r *Relay, sid, peer string, isOwner bool) *RelayConn {
	c := &RelayConn{
		relay: r, sid: sid, peer: peer, isOwner: isOwner,
		sendTok: make(chan struct{}, 1), closedCh: make(chan struct{}),
		notify: make(chan struct{}, 1), lastID: "0-0",
	}
	if isOwner {
		c.inKey, c.outKey, c.mineKey, c.peerKey = r.k.up(sid), r.k.down(sid), r.k.owner(sid), r.k.edge(sid)
	} else {
		c.inKey, c.outKey, c.mineKey, c.peerKey = r.k.down(sid), r.k.up(sid), r.k.edge(sid), r.k.owner(sid)
	}
	return c
}

// SessionID returns the session's id, chosen by the edge.
func (c *RelayConn) SessionID() string { return c.sid }

// PeerNode returns the id of the node at the other end.
func (c *RelayConn) PeerNode() string { return c.peer }

// IsOwner reports whether this is the owner's end.
func (c *RelayConn) IsOwner() bool { return c.isOwner }

// Send appends one message for the peer. It retries while Redis cannot be reached, until ctx ends or
// the session closes; if it gives up after a try whose outcome is unknown, the session is broken
// (ErrRelayBroken from then on), since the message may or may not have been delivered. Errors wrapping
// ErrRelayClosed mean the peer closed (or this end did).
func (c *RelayConn) Send(ctx context.Context, msg []byte) error {
	if len(msg) > MaxMessageSize {
		return fmt.Errorf("cluster: relay send of %d bytes (max %d): %w", len(msg), MaxMessageSize, ErrTooLarge)
	}
	select {
	case c.sendTok <- struct{}{}:
		defer func() { <-c.sendTok }()
	default:
		return fmt.Errorf("cluster: relay %s: %w", c.sid, ErrConcurrentSend)
	}
	if err := c.sendState(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil { // nothing sent: the session stays usable
		return err
	}
	r := c.relay
	seq := c.sendSeq.Load() + 1
	keys := []string{c.outKey, c.peerKey, c.mineKey}
	for attempt := 1; ; attempt++ {
		waitingForKeys := false
		res, err := sendScript.Run(ctx, r.rdb, keys, seqID(seq), kindMessage, msg, r.ttl.Milliseconds(), r.cfg.MaxStreamLength).Text()
		if err == nil {
			switch res {
			case "ok", "dup":
				if res == "dup" {
					r.dups.Add(1)
				}
				c.sendSeq.Store(seq)
				return nil
			case "closed":
				return c.setSendErr(fmt.Errorf("cluster: relay %s: peer %s closed: %w", c.sid, c.peer, ErrRelayClosed))
			case "gone", "lost":
				// A key is missing. Right after Redis lost its data (an outage, a restart) both ends
				// re-create theirs within a heartbeat: wait for that. Otherwise the session is over.
				if !r.troubled() && !c.resuming() {
					if res == "gone" {
						return c.setSendErr(fmt.Errorf("cluster: relay %s: peer %s gone: %w", c.sid, c.peer, ErrRelayClosed))
					}
					return c.setSendErr(fmt.Errorf("cluster: relay %s: %w", c.sid, ErrSessionLost))
				}
				err, waitingForKeys = fmt.Errorf("relay %s: waiting for the session's keys to be re-created", c.sid), true
			default:
				err = fmt.Errorf("reply %q: %w", res, ErrBadData)
			}
		}
		if isReplyError(err) || errors.Is(err, ErrBadData) {
			return c.setSendErr(fmt.Errorf("cluster: relay %s send: %w: %w", c.sid, ErrRelayBroken, err))
		}
		if !waitingForKeys {
			r.noteTrouble()
		}
		if attempt == 1 {
			r.log.Debug("relay send failed; retrying", "session", c.sid, "err", err)
		}
		r.retries.Add(1)
		wait := time.Duration(0) // the first retry at once: most failures are a connection that died idle
		if attempt > 1 {
			wait = backoff(attempt-1, time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
			if err := c.sendState(); err != nil { // failed meanwhile (peer gone, session lost)
				return err
			}
			continue
		case <-ctx.Done():
			err = ctx.Err()
		case <-c.closedCh:
			err = ErrRelayClosed
		}
		t.Stop()
		return c.setSendErr(fmt.Errorf("cluster: relay %s send gave up: %w: %w", c.sid, ErrRelayBroken, err))
	}
}

// sendState returns why nothing can be sent, or nil.
func (c *RelayConn) sendState() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("cluster: relay %s: closed by this end: %w", c.sid, ErrRelayClosed)
	}
	return c.sendErr
}

func (c *RelayConn) setSendErr(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sendErr == nil {
		c.sendErr = err
	}
	return c.sendErr
}

// Recv returns the next message. It returns io.EOF once the peer has closed and every message it sent
// before has been returned, an error wrapping ErrPeerGone (or ErrSessionLost, ErrRelayGap) if the
// session failed, or ctx's error; a Recv cancelled by ctx loses nothing and a later Recv resumes.
func (c *RelayConn) Recv(ctx context.Context) ([]byte, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, fmt.Errorf("cluster: relay %s: closed by this end: %w", c.sid, ErrRelayClosed)
		}
		if len(c.queue) > 0 {
			msg := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			resume := c.paused && len(c.queue) <= c.relay.cfg.QueueLength/2
			if resume {
				c.paused = false
			}
			c.mu.Unlock()
			if resume {
				c.relay.wake()
			}
			return msg, nil
		}
		if err := c.recvErr; err != nil {
			c.mu.Unlock()
			return nil, err
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-c.closedCh:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close closes this end: the peer receives everything sent before, then io.EOF. Keys are deleted (or,
// if Redis cannot be reached within a second, expire within the TTL). Safe to call more than once.
func (c *RelayConn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return c.close(ctx)
}

// close is Close with the Redis work bounded by ctx.
func (c *RelayConn) close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closedCh)
	ended := c.ended
	c.ended = true
	c.mu.Unlock()
	c.relay.dropClosed(c)
	if ended { // the peer closed or the session failed: the reader or keeper deletes the keys
		return nil
	}
	return c.closeRemote(ctx)
}

// closeRemote runs the close script: the close marker for the peer, or the deletion of every key.
func (c *RelayConn) closeRemote(ctx context.Context) error {
	// Wait for an in-flight Send so the marker takes the next sequence number after it (Send gives up
	// soon: closedCh is closed).
	select {
	case c.sendTok <- struct{}{}:
		defer func() { <-c.sendTok }()
	case <-ctx.Done():
	}
	r := c.relay
	seq := c.sendSeq.Load() + 1
	err := closeScript.Run(ctx, r.rdb, []string{c.mineKey, c.peerKey, c.outKey, c.inKey}, seqID(seq), r.ttl.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("cluster: close relay %s (keys expire within %s): %w", c.sid, r.ttl, err)
	}
	return nil
}

// keys returns every key of the session, for deletion.
func (c *RelayConn) keys() []string { return []string{c.inKey, c.outKey, c.mineKey, c.peerKey} }

// endLocked stops serving the session, with err as what Recv returns after the queue (io.EOF for a
// clean close by the peer). It reports whether this call ended it. c.mu must be held.
func (c *RelayConn) endLocked(err error) bool {
	if c.ended {
		return false
	}
	c.ended = true
	if c.recvErr == nil {
		c.recvErr = err
	}
	if c.sendErr == nil {
		if errors.Is(err, io.EOF) {
			c.sendErr = fmt.Errorf("cluster: relay %s: peer %s closed: %w", c.sid, c.peer, ErrRelayClosed)
		} else {
			c.sendErr = err
		}
	}
	c.signalLocked()
	return true
}

func (c *RelayConn) signalLocked() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}
