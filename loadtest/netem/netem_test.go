package netem

import (
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// echo is a UDP target on 127.0.0.1 that sends every datagram back to its sender.
type echo struct {
	conn *net.UDPConn
	wg   sync.WaitGroup
}

func newEcho(t testing.TB) *echo {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	e := &echo{conn: conn}
	e.wg.Go(func() {
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = conn.WriteToUDPAddrPort(buf[:n], from)
		}
	})
	t.Cleanup(e.close)
	return e
}

func (e *echo) addr() *net.UDPAddr { return e.conn.LocalAddr().(*net.UDPAddr) }
func (e *echo) close()             { _ = e.conn.Close(); e.wg.Wait() }

func newRelay(t testing.TB, target *net.UDPAddr) *Relay {
	t.Helper()
	r, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func dialRelay(t testing.TB, r *Relay) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func rtpPacket(t testing.TB, ssrc uint32, seq uint16, size int) []byte {
	t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: ssrc}, Payload: make([]byte, size)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSetDropDropsExactlyWhatItChooses(t *testing.T) {
	e := newEcho(t)
	r := newRelay(t, e.addr())
	c := dialRelay(t, r)
	const ssrc, other = 0x1111, 0x2222
	r.SetDrop(func(dir Direction, pkt []byte) bool {
		var h rtp.Header
		if !IsRTP(pkt) {
			return false
		}
		if _, err := h.Unmarshal(pkt); err != nil || h.SSRC != ssrc {
			return false
		}
		return (dir == Uplink && h.SequenceNumber%10 == 3) || (dir == Downlink && h.SequenceNumber%10 == 7)
	})
	want := map[[2]uint32]bool{}
	for seq := range uint16(100) {
		for _, s := range []uint32{ssrc, other} {
			if _, err := c.Write(rtpPacket(t, s, seq, 100)); err != nil {
				t.Fatal(err)
			}
			if s == other || (seq%10 != 3 && seq%10 != 7) {
				want[[2]uint32{s, uint32(seq)}] = true
			}
		}
		if seq%20 == 0 {
			time.Sleep(time.Millisecond) // keep socket buffers far from full
		}
	}
	got := map[[2]uint32]bool{}
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for len(got) < len(want) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("received %d of %d echoes: %v", len(got), len(want), err)
		}
		var h rtp.Header
		if _, err := h.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		key := [2]uint32{h.SSRC, uint32(h.SequenceNumber)}
		if !want[key] {
			t.Fatalf("received ssrc %#x seq %d, which should have been dropped", h.SSRC, h.SequenceNumber)
		}
		got[key] = true
	}
	// Nothing else arrives.
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(buf); err == nil {
		t.Fatalf("an extra %d-byte datagram arrived", n)
	}
	st := r.Stats()
	if st.Uplink.Dropped != 10 || st.Uplink.Packets != 190 || st.Downlink.Dropped != 10 || st.Downlink.Packets != 180 {
		t.Fatalf("stats %+v, want uplink 190 forwarded 10 dropped, downlink 180 forwarded 10 dropped", st)
	}
	if st.Uplink.DroppedBytes != 10*uint64(len(rtpPacket(t, 0, 0, 100))) {
		t.Errorf("uplink dropped bytes %d", st.Uplink.DroppedBytes)
	}
	r.SetDrop(nil)
	if _, err := c.Write(rtpPacket(t, ssrc, 3, 10)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(buf); err != nil {
		t.Fatalf("after SetDrop(nil) a formerly dropped packet still does not pass: %v", err)
	}
}

// blaster is a target that, once a client has spoken, sends it size-byte datagrams at bitsPerSecond for d,
// each stamped with its send time.
func blaster(t *testing.T, bitsPerSecond, size int, d time.Duration) (*net.UDPAddr, <-chan time.Time) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan time.Time, 1)
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = conn.Close(); wg.Wait() })
	wg.Go(func() {
		buf := make([]byte, 64)
		_, to, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		pkt := make([]byte, size)
		perTick := 10 * time.Millisecond
		bytesPerTick := bitsPerSecond / 8 / int(time.Second/perTick)
		start := time.Now()
		sent := 0
		for now := start; now.Sub(start) < d; now = time.Now() {
			// Catch up to the schedule, so oversleeping does not lower the offered load.
			for due := int(now.Sub(start)/perTick+1) * bytesPerTick; sent < due; sent += size {
				binary.BigEndian.PutUint64(pkt, uint64(time.Now().UnixNano()))
				if _, err := conn.WriteToUDPAddrPort(pkt, to); err != nil {
					return
				}
			}
			time.Sleep(perTick)
		}
		stopped <- time.Now()
	})
	return conn.LocalAddr().(*net.UDPAddr), stopped
}

func TestRateCapQueuesAndDrops(t *testing.T) {
	const (
		capBps  = 2_000_000
		offered = 4_000_000
		size    = 1000
		run     = 1500 * time.Millisecond
	)
	target, stopped := blaster(t, offered, size, run)
	r := newRelay(t, target)
	r.SetRate(capBps)
	c := dialRelay(t, r)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	type arrival struct {
		at    time.Time
		delay time.Duration
	}
	var arrivals []arrival
	buf := make([]byte, 2048)
	var stop time.Time
	giveUp := time.Now().Add(10 * time.Second)
	for (stop.IsZero() || time.Since(stop) < 400*time.Millisecond) && time.Now().Before(giveUp) { // and let the queue drain
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil && n == size {
			now := time.Now()
			arrivals = append(arrivals, arrival{now, now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(buf))))})
		}
		if stop.IsZero() {
			select {
			case stop = <-stopped:
			default:
			}
		}
	}
	if stop.IsZero() || len(arrivals) < 10 {
		t.Fatalf("only %d packets arrived", len(arrivals))
	}
	// Throughput while the sender was offering twice the cap: the link should be full at the cap.
	first := arrivals[0].at
	var bytes int
	var maxDelay time.Duration
	for _, a := range arrivals {
		if a.at.Before(stop) {
			bytes += size
		}
		maxDelay = max(maxDelay, a.delay)
	}
	got := float64(bytes*8) / stop.Sub(first).Seconds()
	t.Logf("throughput %.2f Mbps over %v (cap %.1f), max delay %v, stats %+v", got/1e6, stop.Sub(first), capBps/1e6, maxDelay, r.Stats().Downlink)
	if got < 0.75*capBps || got > 1.25*capBps {
		t.Errorf("throughput %.0f bps, want within 25%% of %d", got, capBps)
	}
	st := r.Stats().Downlink
	if st.Overflow == 0 || st.OverflowBytes != st.Overflow*size {
		t.Errorf("no tail drops while offering twice the rate: %+v", st)
	}
	// A full 200 ms queue: packets wait about that long, not much more.
	if maxDelay < 120*time.Millisecond || maxDelay > 450*time.Millisecond {
		t.Errorf("max queueing delay %v, want about 200ms", maxDelay)
	}
	if st.Packets != uint64(len(arrivals)) {
		t.Errorf("relay forwarded %d downlink packets, %d arrived", st.Packets, len(arrivals))
	}
}

func TestUnlimitedRateLosesNothing(t *testing.T) {
	target, stopped := blaster(t, 4_000_000, 1000, 300*time.Millisecond)
	r := newRelay(t, target)
	c := dialRelay(t, r)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	var n int
	var stop time.Time
	giveUp := time.Now().Add(10 * time.Second)
	for (stop.IsZero() || time.Since(stop) < 200*time.Millisecond) && time.Now().Before(giveUp) {
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			n++
		}
		if stop.IsZero() {
			select {
			case stop = <-stopped:
			default:
			}
		}
	}
	st := r.Stats().Downlink
	if st.Overflow != 0 || st.Packets != uint64(n) || n < 100 {
		t.Fatalf("unlimited: %d arrived, stats %+v", n, st)
	}
}

func TestFlowsPerClientAddress(t *testing.T) {
	e := newEcho(t)
	r := newRelay(t, e.addr())
	a, b := dialRelay(t, r), dialRelay(t, r)
	for i, c := range []*net.UDPConn{a, b, a} {
		msg := []byte{byte(i)}
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("client %d: got %v %v", i, buf[:n], err)
		}
	}
	r.mu.Lock()
	flows := len(r.flows)
	r.mu.Unlock()
	if flows != 2 {
		t.Fatalf("%d flows for 2 client addresses", flows)
	}
}

func TestCloseEndsEveryGoroutine(t *testing.T) {
	e := newEcho(t)
	before := runtime.NumGoroutine()
	r, err := New(e.addr())
	if err != nil {
		t.Fatal(err)
	}
	r.SetRate(1_000_000)
	for range 3 {
		c, err := net.DialUDP("udp4", nil, r.Addr())
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			_, _ = c.Write(make([]byte, 1000))
		}
		defer c.Close()
	}
	// Wait until the relay has seen all three clients (traffic is still in flight, the queue not empty).
	flows := 0
	for deadline := time.Now().Add(10 * time.Second); flows != 3 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		r.mu.Lock()
		flows = len(r.flows)
		r.mu.Unlock()
	}
	if flows != 3 {
		t.Fatalf("%d flows for 3 clients", flows)
	}
	t0 := time.Now()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("settled in %v", time.Since(t0))
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", after, before, buf[:runtime.Stack(buf, true)])
	}
}

func BenchmarkRelayEcho(b *testing.B) {
	e := newEcho(b)
	r := newRelay(b, e.addr())
	c := dialRelay(b, r)
	pkt := rtpPacket(b, 1, 1, 1000)
	buf := make([]byte, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := c.Write(pkt); err != nil {
			b.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}
