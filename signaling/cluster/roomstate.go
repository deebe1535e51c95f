package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrStatesClosed: Save or Delete after Close.
var ErrStatesClosed = errors.New("room states closed")

// RoomStateTTL is how long a room's saved state outlives its last write: long enough for any re-homing
// and for a class that pauses over lunch, short enough that a forgotten room does not stay forever.
// The owner deletes the state when the room ends.
const RoomStateTTL = 24 * time.Hour

// saveStateScript writes a room's state if its version is newer than the stored one (compare and set),
// so a late retry of an old write never overwrites a newer state. KEYS[1] state key; ARGV version,
// data, ttl in ms. Returns 1 when written, 0 when the stored version was as new or newer.
var saveStateScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'v')
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// deleteStateScript deletes a room's state unless a newer version was written meanwhile (a new life of
// the room on another node). KEYS[1] state key; ARGV version.
var deleteStateScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'v')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
return redis.call('DEL', KEYS[1])
`)

// RoomStates keeps each room's rules (signalling's snapshot: policy, bans, grants, lobby admissions,
// hands, spotlight, chat) in Redis so that the node that re-homes a room after its owner died restores
// them before admitting anyone. The data is opaque here; versions order it.
//
// Writes are asynchronous and never lost while the process lives: Save keeps the newest state of each
// room until Redis has it, retrying with backoff while Redis is down. One goroutine (the writer) does
// the I/O, from NewRoomStates until Close. Save, Load, Delete, Flush and Close may be called from any
// goroutine; no lock is held across Redis I/O.
type RoomStates struct {
	rdb        redis.UniversalClient
	keys       keys
	log        *slog.Logger
	maxBackoff time.Duration

	mu      sync.Mutex
	pending map[string]pendingState // newest unwritten state per room
	deletes map[string]uint64       // rooms to delete, with the version deleted
	closed  bool

	wake    chan struct{} // buffered(1): there is something to write
	flushed chan struct{} // closed and replaced whenever pending and deletes become empty
	done    chan struct{}
	stop    context.CancelFunc
}

type pendingState struct {
	version uint64
	data    []byte
}

// NewRoomStates starts the writer on rdb with cfg's prefix and backoff.
func NewRoomStates(rdb redis.UniversalClient, cfg Config) (*RoomStates, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &RoomStates{
		rdb: rdb, keys: keys{cfg.Prefix}, log: cfg.Logger.With("component", "room-state"), maxBackoff: cfg.MaxBackoff,
		pending: make(map[string]pendingState), deletes: make(map[string]uint64),
		wake: make(chan struct{}, 1), flushed: make(chan struct{}), done: make(chan struct{}), stop: cancel,
	}
	go s.writer(ctx)
	return s, nil
}

// Save queues version of room's state for writing; a newer pending version replaces an older one.
// It never blocks on Redis.
func (s *RoomStates) Save(room string, version uint64, data []byte) error {
	if err := checkName("room", room); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStatesClosed
	}
	if p, ok := s.pending[room]; ok && p.version >= version {
		return nil
	}
	s.pending[room] = pendingState{version: version, data: append([]byte(nil), data...)}
	delete(s.deletes, room)
	s.signal()
	return nil
}

// Delete queues the removal of room's state (the room ended), unless a version newer than version is
// saved by then.
func (s *RoomStates) Delete(room string, version uint64) error {
	if err := checkName("room", room); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStatesClosed
	}
	delete(s.pending, room)
	s.deletes[room] = version
	s.signal()
	return nil
}

// Load reads room's saved state: found false when there is none.
func (s *RoomStates) Load(ctx context.Context, room string) (version uint64, data []byte, found bool, err error) {
	if err := checkName("room", room); err != nil {
		return 0, nil, false, err
	}
	vals, err := s.rdb.HMGet(ctx, s.keys.roomState(room), "v", "d").Result()
	if err != nil {
		return 0, nil, false, fmt.Errorf("cluster: load state of room %q: %w", room, err)
	}
	vs, ok1 := vals[0].(string)
	ds, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return 0, nil, false, nil
	}
	version, err = strconv.ParseUint(vs, 10, 64)
	if err != nil {
		return 0, nil, false, fmt.Errorf("cluster: state of room %q has version %q: %w", room, vs, err)
	}
	return version, []byte(ds), true, nil
}

// Pending is how many rooms have a state or deletion not yet in Redis.
func (s *RoomStates) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) + len(s.deletes)
}

// Flush waits until everything saved or deleted before it is in Redis, or ctx ends.
func (s *RoomStates) Flush(ctx context.Context) error {
	for {
		s.mu.Lock()
		empty := len(s.pending) == 0 && len(s.deletes) == 0
		ch := s.flushed
		s.mu.Unlock()
		if empty {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cluster: room states not written: %w", ctx.Err())
		}
	}
}

// Close stops the writer after one last attempt (bounded by ctx) to write what is pending.
func (s *RoomStates) Close(ctx context.Context) error {
	err := s.Flush(ctx)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stop()
	<-s.done
	return err
}

func (s *RoomStates) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// writer writes what is pending, oldest concern first, backing off while Redis fails.
func (s *RoomStates) writer(ctx context.Context) {
	defer close(s.done)
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		for {
			if err := s.writeOnce(ctx); err == nil {
				backoff = 50 * time.Millisecond
				break
			} else if ctx.Err() != nil {
				return
			} else {
				s.log.Warn("room state not written; will retry", "err", err, "pending", s.Pending(), "retry_in", backoff)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, s.maxBackoff)
		}
	}
}

// writeOnce takes a snapshot of the pending work, writes it unlocked, and forgets what was written
// unless a newer version arrived meanwhile. It returns the first Redis error.
func (s *RoomStates) writeOnce(ctx context.Context) error {
	s.mu.Lock()
	saves := make(map[string]pendingState, len(s.pending))
	for room, p := range s.pending {
		saves[room] = p
	}
	dels := make(map[string]uint64, len(s.deletes))
	for room, v := range s.deletes {
		dels[room] = v
	}
	s.mu.Unlock()

	var firstErr error
	for room, p := range saves {
		opCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := saveStateScript.Run(opCtx, s.rdb, []string{s.keys.roomState(room)}, p.version, p.data, RoomStateTTL.Milliseconds()).Err()
		cancel()
		if err != nil {
			firstErr = errors.Join(firstErr, fmt.Errorf("room %q v%d: %w", room, p.version, err))
			continue
		}
		s.mu.Lock()
		if cur, ok := s.pending[room]; ok && cur.version == p.version {
			delete(s.pending, room)
		}
		s.mu.Unlock()
	}
	for room, v := range dels {
		opCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := deleteStateScript.Run(opCtx, s.rdb, []string{s.keys.roomState(room)}, v).Err()
		cancel()
		if err != nil {
			firstErr = errors.Join(firstErr, fmt.Errorf("delete room %q: %w", room, err))
			continue
		}
		s.mu.Lock()
		if cur, ok := s.deletes[room]; ok && cur == v {
			delete(s.deletes, room)
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	if len(s.pending) == 0 && len(s.deletes) == 0 {
		close(s.flushed)
		s.flushed = make(chan struct{})
	} else if firstErr == nil {
		s.signal() // new work arrived while writing
	}
	s.mu.Unlock()
	return firstErr
}
