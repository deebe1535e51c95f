package netem

import (
	"net"
	"strings"
	"testing"
)

func TestRewriteCandidate(t *testing.T) {
	via := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	tests := []struct {
		name, in, want string
	}{
		{"host udp", "candidate:1 1 udp 2130706431 127.0.0.1 7881 typ host", "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"},
		{"upper-case UDP, extensions kept", "candidate:2 1 UDP 2130706431 10.0.0.5 50000 typ host generation 0 ufrag abc",
			"candidate:2 1 UDP 2130706431 127.0.0.1 40000 typ host generation 0 ufrag abc"},
		{"sdp attribute form", "a=candidate:1 1 udp 1 127.0.0.1 7881 typ host", "a=candidate:1 1 udp 1 127.0.0.1 40000 typ host"},
		{"tcp untouched", "candidate:3 1 tcp 1 127.0.0.1 7881 typ host tcptype passive", "candidate:3 1 tcp 1 127.0.0.1 7881 typ host tcptype passive"},
		{"srflx untouched", "candidate:4 1 udp 1 1.2.3.4 7881 typ srflx raddr 127.0.0.1 rport 7881", "candidate:4 1 udp 1 1.2.3.4 7881 typ srflx raddr 127.0.0.1 rport 7881"},
		{"mdns name untouched", "candidate:5 1 udp 1 abcd.local 7881 typ host", "candidate:5 1 udp 1 abcd.local 7881 typ host"},
		{"bad port untouched", "candidate:6 1 udp 1 127.0.0.1 70000 typ host", "candidate:6 1 udp 1 127.0.0.1 70000 typ host"},
		{"truncated untouched", "candidate:7 1 udp 1 127.0.0.1", "candidate:7 1 udp 1 127.0.0.1"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RewriteCandidate(tc.in, via); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRelayRewriteCandidateOnlyTarget(t *testing.T) {
	e := newEcho(t)
	r := newRelay(t, e.addr())
	port := e.addr().Port
	relayPort := r.Addr().Port
	same := "candidate:1 1 udp 2130706431 127.0.0.1 " + itoa(port) + " typ host"
	if got := r.RewriteCandidate(same); !strings.Contains(got, " "+itoa(relayPort)+" typ host") {
		t.Errorf("target candidate not rewritten: %q", got)
	}
	other := "candidate:1 1 udp 2130706431 127.0.0.1 " + itoa(port+1) + " typ host"
	if got := r.RewriteCandidate(other); got != other {
		t.Errorf("a candidate of another port was rewritten: %q", got)
	}
	otherIP := "candidate:1 1 udp 2130706431 127.0.0.2 " + itoa(port) + " typ host"
	if got := r.RewriteCandidate(otherIP); got != otherIP {
		t.Errorf("a candidate of another address was rewritten: %q", got)
	}
}

func itoa(n int) string { return (&net.UDPAddr{Port: n}).String()[1:] }

func TestIsRTP(t *testing.T) {
	rtp := make([]byte, 12)
	tests := []struct {
		name         string
		pkt          []byte
		isRTP, isRTC bool
	}{
		{"rtp pt 96", append([]byte{0x80, 96}, rtp[2:]...), true, false},
		{"rtp pt 111 with marker", append([]byte{0x80, 0x80 | 111}, rtp[2:]...), true, false},
		{"rtp pt 0", append([]byte{0x80, 0}, rtp[2:]...), true, false},
		{"rtcp sender report", []byte{0x80, 200, 0, 6, 0, 0, 0, 1}, false, true},
		{"rtcp psfb (pli)", []byte{0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2}, false, true},
		{"rtcp xr", []byte{0x80, 207, 0, 1, 0, 0, 0, 1}, false, true},
		{"stun binding request", []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0}, false, false},
		{"dtls handshake", []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, false},
		{"turn channel data", []byte{0x40, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0}, false, false},
		{"short rtp", []byte{0x80, 96, 0, 1}, false, false},
		{"empty", nil, false, false},
	}
	for _, tc := range tests {
		if got := IsRTP(tc.pkt); got != tc.isRTP {
			t.Errorf("%s: IsRTP = %v", tc.name, got)
		}
		if got := IsRTCP(tc.pkt); got != tc.isRTC {
			t.Errorf("%s: IsRTCP = %v", tc.name, got)
		}
	}
}

func FuzzRewriteCandidate(f *testing.F) {
	f.Add("candidate:1 1 udp 2130706431 127.0.0.1 7881 typ host")
	f.Add("a=candidate:2 1 UDP 1 ::1 9 typ host generation 0")
	f.Add("candidate:3 1 tcp 1 127.0.0.1 7881 typ host")
	f.Add("")
	via := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	f.Fuzz(func(t *testing.T, in string) {
		out := RewriteCandidate(in, via)
		if out == in {
			return
		}
		_, addr, ok := hostUDP(out)
		if !ok || addr.String() != via.String() {
			t.Fatalf("rewrote %q into %q, which does not point at %v", in, out, via)
		}
		if again := RewriteCandidate(out, via); again != out {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
	})
}
