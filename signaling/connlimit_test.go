package signaling

import (
	"fmt"
	"testing"
	"time"
)

// TestConnLimitAddressKey: the port is not part of an address, an IPv4-mapped IPv6 address is its IPv4
// address, and what does not parse is its own key.
func TestConnLimitAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:51234":          "192.0.2.7",
		"192.0.2.7":                "192.0.2.7",
		"[::ffff:192.0.2.7]:443":   "192.0.2.7",
		"[2001:db8::1]:9000":       "2001:db8::1",
		"[2001:DB8:0::1]:9001":     "2001:db8::1",
		"[fe80::1%eth0]:9000":      "fe80::1",
		"relay:node-b":             "relay",
		"not an address at all":    "not an address at all",
		"@":                        "@",
		"[2001:db8::1]:9000:extra": "[2001:db8::1]:9000:extra",
	} {
		if got := addressKey(in); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConnLimitPerAddress: the socket table refuses the (n+1)th socket of an address with
// refuseAddress and the (max+1)th of the node with refuseNode, gives places back on release, and holds
// no address without an open socket.
func TestConnLimitPerAddress(t *testing.T) {
	type step struct {
		op   string // "acquire" or "release"
		addr string
		want refusal // for acquire
	}
	const a, b, c = "192.0.2.1", "192.0.2.2", "192.0.2.3"
	cases := []struct {
		name              string
		perAddress, total int
		steps             []step
		wantOpen          map[string]int // open sockets per address at the end
	}{
		{name: "per address", perAddress: 2, total: 10, steps: []step{
			{"acquire", a, refuseNone}, {"acquire", a, refuseNone}, {"acquire", a, refuseAddress},
			{"acquire", b, refuseNone}, // another address is not affected
			{"release", a, 0}, {"acquire", a, refuseNone}, {"acquire", a, refuseAddress},
		}, wantOpen: map[string]int{a: 2, b: 1}},
		{name: "per node", perAddress: 5, total: 3, steps: []step{
			{"acquire", a, refuseNone}, {"acquire", b, refuseNone}, {"acquire", c, refuseNone},
			{"acquire", c, refuseNode}, {"acquire", "192.0.2.9", refuseNode},
			{"release", b, 0}, {"acquire", "192.0.2.9", refuseNone}, {"acquire", a, refuseNode},
		}, wantOpen: map[string]int{a: 1, c: 1, "192.0.2.9": 1}},
		{name: "the address's limit is said first", perAddress: 1, total: 1, steps: []step{
			{"acquire", a, refuseNone}, {"acquire", a, refuseAddress}, {"acquire", b, refuseNode},
		}, wantOpen: map[string]int{a: 1}},
		{name: "all released", perAddress: 3, total: 3, steps: []step{
			{"acquire", a, refuseNone}, {"acquire", a, refuseNone}, {"acquire", b, refuseNone},
			{"release", a, 0}, {"release", b, 0}, {"release", a, 0},
		}, wantOpen: map[string]int{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cl connLimiter
			for i, s := range tc.steps {
				switch s.op {
				case "acquire":
					if got := cl.acquire(s.addr, tc.perAddress, tc.total); got != s.want {
						t.Fatalf("step %d: acquire(%s) = %d, want %d", i, s.addr, got, s.want)
					}
				case "release":
					cl.release(s.addr)
				}
			}
			total := 0
			for addr, want := range tc.wantOpen {
				if got, _ := cl.counts(addr); got != want {
					t.Errorf("%s has %d open, want %d", addr, got, want)
				}
				total += want
			}
			if _, got := cl.counts(""); got != total {
				t.Errorf("node has %d open, want %d", got, total)
			}
			if len(cl.byAddr) != len(tc.wantOpen) {
				t.Errorf("the table holds %d addresses (%v), want %d", len(cl.byAddr), cl.byAddr, len(tc.wantOpen))
			}
		})
	}
}

// TestJoinLimitBucket: an address gets Burst joins at once, then PerSecond; another address has a bucket
// of its own; a bucket refills with (injected) time.
func TestJoinLimitBucket(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	r := Rate{PerSecond: 2, Burst: 3}
	cases := []struct {
		name  string
		calls []struct {
			addr string
			at   time.Duration
		}
		want []bool
	}{
		{name: "burst then refused",
			calls: []struct {
				addr string
				at   time.Duration
			}{{"a", 0}, {"a", 0}, {"a", 0}, {"a", 0}, {"a", 100 * time.Millisecond}},
			want: []bool{true, true, true, false, false}},
		{name: "refill at the rate",
			calls: []struct {
				addr string
				at   time.Duration
			}{{"a", 0}, {"a", 0}, {"a", 0}, {"a", 500 * time.Millisecond}, {"a", 600 * time.Millisecond}, {"a", time.Second}},
			want: []bool{true, true, true, true, false, true}},
		{name: "addresses apart",
			calls: []struct {
				addr string
				at   time.Duration
			}{{"a", 0}, {"a", 0}, {"a", 0}, {"a", 0}, {"b", 0}, {"b", 0}, {"b", 0}, {"b", 0}},
			want: []bool{true, true, true, false, true, true, true, false}},
		{name: "full again after burst/rate",
			calls: []struct {
				addr string
				at   time.Duration
			}{{"a", 0}, {"a", 0}, {"a", 0}, {"a", 10 * time.Second}, {"a", 10 * time.Second}, {"a", 10 * time.Second}, {"a", 10 * time.Second}},
			want: []bool{true, true, true, true, true, true, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var j joinLimiter
			for i, c := range tc.calls {
				if got := j.allow(c.addr, r, t0.Add(c.at)); got != tc.want[i] {
					t.Errorf("call %d (%s at %s): allowed %v, want %v", i, c.addr, c.at, got, tc.want[i])
				}
			}
		})
	}
}

// TestJoinLimitSweep: buckets that are full again are dropped by the periodic sweep, those still
// draining are kept (dropping one would hand its address a fresh burst); the table never holds more
// than its bound (maxJoinBuckets in the server): when every bucket is draining, a new address is refused, and once they have
// filled it is served again.
func TestJoinLimitSweep(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	r := Rate{PerSecond: 1, Burst: 2} // full again 2 s after the last join

	t.Run("periodic", func(t *testing.T) {
		var j joinLimiter
		for i := range joinSweepEvery - 3 {
			j.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256), r, t0)
		}
		// A minute on, one address empties its bucket: it is draining, every other one is full again.
		j.allow("192.0.2.1", r, t0.Add(time.Minute))
		j.allow("192.0.2.1", r, t0.Add(time.Minute))
		if got := j.size(); got != joinSweepEvery-2 {
			t.Fatalf("%d buckets before the sweep, want %d", got, joinSweepEvery-2)
		}
		// The call that sweeps.
		if !j.allow("192.0.2.2", r, t0.Add(time.Minute)) {
			t.Fatal("a new address was refused")
		}
		if got := j.size(); got != 2 {
			t.Errorf("%d buckets after the sweep, want 2 (the draining one and the new one)", got)
		}
		if j.allow("192.0.2.1", r, t0.Add(time.Minute)) {
			t.Error("the draining address got a fresh burst from the sweep")
		}
	})

	t.Run("bounded", func(t *testing.T) {
		const bound = 3000 // more than joinSweepEvery: periodic sweeps run while the table fills
		j := joinLimiter{max: bound}
		at := t0
		for i := range bound {
			key := fmt.Sprintf("2001:db8::%x", i)
			// Each address empties its bucket; time goes by slower than buckets refill, so sweeps keep them.
			j.allow(key, r, at)
			j.allow(key, r, at)
			if i%256 == 0 {
				at = at.Add(10 * time.Millisecond)
			}
		}
		if got := j.size(); got != bound {
			t.Fatalf("%d buckets, want %d", got, bound)
		}
		if j.allow("2001:db8:1::1", r, at) {
			t.Error("a new address was allowed with the table full of draining buckets")
		}
		if got := j.size(); got > bound {
			t.Errorf("the table grew to %d buckets, bound %d", got, bound)
		}
		// Time passes: the buckets are full again, the next new address sweeps them away.
		later := at.Add(time.Minute)
		if !j.allow("2001:db8:1::1", r, later) {
			t.Error("a new address was refused once the buckets had filled")
		}
		if got := j.size(); got != 1 {
			t.Errorf("%d buckets after the sweep, want 1", got)
		}
	})
}
