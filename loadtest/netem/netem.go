// Package netem emulates a constrained network link on loopback: a UDP relay between a client's
// PeerConnections and a server's media port that caps the downlink rate through a bounded queue (so both
// queueing delay and loss appear, as at a bottleneck router) and drops the packets a test chooses. The
// kernel here has no tc netem, and tests must not need privileges.
//
// A client reaches the relay instead of the server by rewriting the server's ICE candidates
// (RewriteCandidate, client.Options.RewriteCandidate). The relay keeps one upstream socket per client
// source address, since a client's publish and subscribe PeerConnections use different local ports, and
// sends the server's replies back from its listening socket. All flows share one downlink queue: they
// share the emulated link.
//
// What a drop function sees: SRTP keeps the RTP header in the clear, so rtp.Header.Unmarshal works on it
// (the payload is encrypted). The first byte tells the protocols apart (RFC 7983): 0–3 STUN, 20–63 DTLS,
// 128–191 RTP or RTCP; of those, RTCP has a second byte (marker bit and payload type together) of 192–223,
// which is where its packet types 200–207 (SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR) fall (RFC 5761 §4).
// IsRTP and IsRTCP apply these rules.
//
// Locking: a Relay is safe for concurrent use. It runs one goroutine reading from clients, one per flow
// reading from the target, and one pacing the downlink queue; Close ends them all and waits for them.
// SetRate and SetDrop take effect on the next packet. mu guards the flow table and is never held across
// I/O; the queue has its own lock, also never held across I/O.
package netem

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Direction is the way a packet crosses the relay.
type Direction uint8

// Directions.
const (
	Uplink   Direction = iota // client → target
	Downlink                  // target → client
)

func (d Direction) String() string {
	if d == Uplink {
		return "uplink"
	}
	return "downlink"
}

// DirStats counts one direction. Bytes are UDP payload bytes.
type DirStats struct {
	Packets, Bytes          uint64 // forwarded
	Dropped, DroppedBytes   uint64 // dropped by the drop function
	Overflow, OverflowBytes uint64 // tail-dropped because the rate queue was full (downlink only)
}

// Stats counts both directions.
type Stats struct {
	Uplink, Downlink DirStats
}

// Tuning of the emulated bottleneck.
const (
	// queueDelay is how much traffic at the configured rate the downlink queue holds before tail drop.
	queueDelay = 200 * time.Millisecond
	// minQueueBytes keeps a couple of full-size packets queueable even at tiny rates.
	minQueueBytes = 3000
	// maxQueuePackets bounds the queue when the rate is unlimited and the writer falls behind.
	maxQueuePackets = 8192
	// maxBurst is how far the pacer may run behind schedule and catch up: sleeps overshoot on a busy machine,
	// and without catching up the achieved rate would fall short of the cap.
	maxBurst = 5 * time.Millisecond
	// maxFlows bounds the upstream sockets; packets from further client addresses are dropped.
	maxFlows    = 64
	maxDatagram = 65535
)

// Relay forwards UDP between clients and one target.
type Relay struct {
	target *net.UDPAddr
	conn   *net.UDPConn // client-facing
	rate   atomic.Int64 // downlink bits per second, 0 = unlimited
	drop   atomic.Pointer[func(Direction, []byte) bool]
	stats  [2]dirCounters
	queue  queue
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once

	mu     sync.Mutex
	flows  map[netip.AddrPort]*flow
	closed bool
}

type dirCounters struct {
	packets, bytes, dropped, droppedBytes, overflow, overflowBytes atomic.Uint64
}

// flow is one client source address and the socket that speaks to the target for it.
type flow struct {
	client netip.AddrPort
	up     *net.UDPConn // connected to the target
}

// New starts a relay listening on 127.0.0.1:0 that forwards to target.
func New(target *net.UDPAddr) (*Relay, error) {
	if target == nil {
		return nil, errors.New("netem: no target")
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("netem: listen: %w", err)
	}
	r := &Relay{target: target, conn: conn, done: make(chan struct{}), flows: make(map[netip.AddrPort]*flow)}
	r.queue.wake = make(chan struct{}, 1)
	r.wg.Add(2)
	go r.uplink()
	go r.pace()
	return r, nil
}

// Addr is where clients should send instead of the target.
func (r *Relay) Addr() *net.UDPAddr { return r.conn.LocalAddr().(*net.UDPAddr) }

// Target is where the relay forwards to.
func (r *Relay) Target() *net.UDPAddr { return r.target }

// SetRate caps the downlink (target → client) at bitsPerSecond of UDP payload; 0 (or less) means
// unlimited. Packets over the rate wait in a queue holding about 200 ms of traffic at that rate; beyond
// that they are dropped at the tail.
func (r *Relay) SetRate(bitsPerSecond int) { r.rate.Store(int64(max(bitsPerSecond, 0))) }

// SetDrop installs f to choose packets to drop, in either direction (nil: drop none). f runs on the
// relay's goroutines, concurrently for different flows; pkt is only valid during the call.
func (r *Relay) SetDrop(f func(dir Direction, pkt []byte) bool) {
	if f == nil {
		r.drop.Store(nil)
		return
	}
	r.drop.Store(&f)
}

// Stats returns what the relay has forwarded and dropped so far.
func (r *Relay) Stats() Stats {
	get := func(c *dirCounters) DirStats {
		return DirStats{Packets: c.packets.Load(), Bytes: c.bytes.Load(), Dropped: c.dropped.Load(), DroppedBytes: c.droppedBytes.Load(),
			Overflow: c.overflow.Load(), OverflowBytes: c.overflowBytes.Load()}
	}
	return Stats{Uplink: get(&r.stats[Uplink]), Downlink: get(&r.stats[Downlink])}
}

// Close stops the relay: it closes every socket and waits for every goroutine to end.
func (r *Relay) Close() error {
	var err error
	r.once.Do(func() {
		close(r.done)
		r.mu.Lock()
		r.closed = true
		flows := make([]*flow, 0, len(r.flows))
		for _, f := range r.flows {
			flows = append(flows, f)
		}
		r.mu.Unlock()
		errs := []error{r.conn.Close()}
		for _, f := range flows {
			errs = append(errs, f.up.Close())
		}
		if err = errors.Join(errs...); err != nil {
			err = fmt.Errorf("netem: close: %w", err)
		}
	})
	r.wg.Wait()
	return err
}

// dropped reports whether the drop function wants pkt gone, counting it if so.
func (r *Relay) dropped(dir Direction, pkt []byte) bool {
	f := r.drop.Load()
	if f == nil || !(*f)(dir, pkt) {
		return false
	}
	r.stats[dir].dropped.Add(1)
	r.stats[dir].droppedBytes.Add(uint64(len(pkt)))
	return true
}

func (r *Relay) forwarded(dir Direction, n int) {
	r.stats[dir].packets.Add(1)
	r.stats[dir].bytes.Add(uint64(n))
}

// uplink reads what clients send and forwards it to the target, each client on its own flow.
func (r *Relay) uplink() {
	defer r.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if r.isClosed(err) {
				return
			}
			continue // e.g. an ICMP error reported on the socket: the next datagram is fine
		}
		pkt := buf[:n]
		if r.dropped(Uplink, pkt) {
			continue
		}
		f, err := r.flow(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
		if err != nil || f == nil {
			continue
		}
		if _, err := f.up.Write(pkt); err == nil {
			r.forwarded(Uplink, n)
		}
	}
}

// flow returns the flow of a client address, opening it on first use. Only uplink calls it, so there is
// no race between the lookup and the insert; the lock is for Close and is not held while dialling.
func (r *Relay) flow(client netip.AddrPort) (*flow, error) {
	r.mu.Lock()
	f, ok := r.flows[client]
	full := len(r.flows) >= maxFlows
	r.mu.Unlock()
	if ok {
		return f, nil
	}
	if full {
		return nil, nil
	}
	up, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, r.target)
	if err != nil {
		return nil, fmt.Errorf("netem: upstream socket: %w", err)
	}
	f = &flow{client: client, up: up}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = up.Close()
		return nil, nil
	}
	r.flows[client] = f
	r.wg.Add(1)
	r.mu.Unlock()
	go r.downlink(f)
	return f, nil
}

// downlink reads the target's replies on one flow and queues them for the client.
func (r *Relay) downlink(f *flow) {
	defer r.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, err := f.up.Read(buf)
		if err != nil {
			if r.isClosed(err) {
				return
			}
			continue // ECONNREFUSED while the target is not listening, and the like
		}
		pkt := buf[:n]
		if r.dropped(Downlink, pkt) {
			continue
		}
		if !r.queue.push(append([]byte(nil), pkt...), f.client, r.rate.Load()) {
			r.stats[Downlink].overflow.Add(1)
			r.stats[Downlink].overflowBytes.Add(uint64(n))
		}
	}
}

func (r *Relay) isClosed(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// pace sends the downlink queue to the clients no faster than the rate: each packet leaves when its last
// bit would have crossed a link of that rate, as from a router's output queue.
func (r *Relay) pace() {
	defer r.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var free time.Time // when the emulated link has finished sending what it has sent
	for {
		p, ok := r.queue.peek()
		if !ok {
			select {
			case <-r.queue.wake:
				continue
			case <-r.done:
				return
			}
		}
		now := time.Now()
		if rate := r.rate.Load(); rate > 0 {
			free = later(free, now.Add(-maxBurst)) // an idle link banks no more than a small burst
			free = free.Add(time.Duration(len(p.pkt)) * 8 * time.Second / time.Duration(rate))
			if wait := free.Sub(now); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-r.done:
					timer.Stop()
					return
				}
			}
		}
		r.queue.pop()
		if _, err := r.conn.WriteToUDPAddrPort(p.pkt, p.to); err == nil {
			r.forwarded(Downlink, len(p.pkt))
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// queue is the downlink FIFO; push and peek/pop may run on different goroutines.
type queue struct {
	mu    sync.Mutex
	items []queued
	head  int
	bytes int
	wake  chan struct{} // signalled on push; capacity 1
}

type queued struct {
	pkt []byte
	to  netip.AddrPort
}

// push appends a packet unless the queue is full for the given rate (0: unlimited); it reports whether the
// packet was queued.
func (q *queue) push(pkt []byte, to netip.AddrPort, rate int64) bool {
	limit := max(int(rate*int64(queueDelay)/int64(8*time.Second)), minQueueBytes)
	q.mu.Lock()
	n := len(q.items) - q.head
	if n >= maxQueuePackets || (rate > 0 && q.bytes+len(pkt) > limit) {
		q.mu.Unlock()
		return false
	}
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.items) { // compact now and then so the slice does not grow
		q.items = append(q.items[:0], q.items[q.head:]...)
		q.head = 0
	}
	q.items = append(q.items, queued{pkt: pkt, to: to})
	q.bytes += len(pkt)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// peek returns the head without removing it: it still occupies the queue while the link sends it.
func (q *queue) peek() (queued, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		return queued{}, false
	}
	return q.items[q.head], true
}

func (q *queue) pop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		return
	}
	q.bytes -= len(q.items[q.head].pkt)
	q.items[q.head] = queued{}
	q.head++
}
