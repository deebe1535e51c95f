//go:build linux && !386

package sfu

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pion/ice/v4"
)

// listenMedia opens a loopback socket as the SFU's media socket, skipping where the family is missing.
func listenMedia(t testing.TB, network, ip string) (*rawUDPConn, *net.UDPConn) {
	t.Helper()
	conn, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Skipf("no %s loopback here: %v", network, err)
	}
	raw, ok := newMediaConn(conn).(*rawUDPConn)
	if !ok {
		t.Fatalf("newMediaConn returned %T, want *rawUDPConn", newMediaConn(conn))
	}
	t.Cleanup(func() { _ = raw.Close() })
	return raw, conn
}

func TestRawUDPConnExchangesDatagrams(t *testing.T) {
	tests := []struct {
		name, network, ip string
		peerNetwork       string // a plain socket on the other end
		peerIP            string
	}{
		{"IPv4", "udp4", "127.0.0.1", "udp4", "127.0.0.1"},
		{"IPv6", "udp6", "::1", "udp6", "::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			media, _ := listenMedia(t, tc.network, tc.ip)
			peer, err := net.ListenUDP(tc.peerNetwork, &net.UDPAddr{IP: net.ParseIP(tc.peerIP)})
			if err != nil {
				t.Skipf("no %s loopback here: %v", tc.peerNetwork, err)
			}
			defer peer.Close()
			mediaPort := media.LocalAddr().(*net.UDPAddr).Port
			peerAddr := peer.LocalAddr().(*net.UDPAddr).AddrPort()

			// peer → media: the source address is the peer's, as pion's mux keys its connections by it.
			for _, size := range []int{0, 1, 1200, 1500} {
				sent := bytes.Repeat([]byte{byte(size)}, size)
				if _, err := peer.WriteToUDP(sent, &net.UDPAddr{IP: net.ParseIP(tc.peerIP), Port: mediaPort}); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 2048)
				_ = media.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, from, err := media.ReadFromAddrPort(buf)
				if err != nil {
					t.Fatalf("read %d bytes: %v", size, err)
				}
				if !bytes.Equal(buf[:n], sent) {
					t.Fatalf("read %d bytes, want %d", n, size)
				}
				if from.Addr().Unmap() != peerAddr.Addr().Unmap() || from.Port() != peerAddr.Port() {
					t.Fatalf("from %v, want %v", from, peerAddr)
				}

				// media → peer, to the address it reported.
				if n, err := media.WriteToAddrPort(sent, from); err != nil || n != size {
					t.Fatalf("write %d bytes: n=%d err=%v", size, n, err)
				}
				_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, back, err := peer.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("peer read: %v", err)
				}
				if !bytes.Equal(buf[:n], sent) || back.Port() != uint16(mediaPort) {
					t.Fatalf("peer got %d bytes from %v, want %d from port %d", n, back, size, mediaPort)
				}
			}
		})
	}
}

func TestRawUDPConnErrors(t *testing.T) {
	media, _ := listenMedia(t, "udp4", "127.0.0.1")
	buf := make([]byte, 1500)

	// A read deadline is a timeout, which pion's mux read loop retries.
	_ = media.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := media.ReadFromAddrPort(buf); !os.IsTimeout(err) {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	_ = media.SetReadDeadline(time.Time{})

	// An IPv6 destination on an IPv4 socket is refused with the library's error, not sent anywhere.
	if _, err := media.WriteToAddrPort([]byte("x"), netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Fatal("IPv6 destination on an IPv4 socket: no error")
	}
	// WriteTo takes only UDP addresses.
	if _, err := media.WriteTo([]byte("x"), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); err == nil {
		t.Fatal("TCP address: no error")
	}

	// A read blocked when the socket closes returns, with net.ErrClosed.
	done := make(chan error, 1)
	go func() {
		_, _, err := media.ReadFromAddrPort(buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	_ = media.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on a closed socket: %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("read still blocked after Close")
	}
	if _, err := media.WriteToAddrPort([]byte("x"), netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write on a closed socket: %v, want net.ErrClosed", err)
	}
}

// The multi-interface mux opens its sockets through mediaNet; pion must see them as AddrPort-capable.
func TestMediaNetOpensRawSockets(t *testing.T) {
	n, err := newMediaNet()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc, ok := conn.(ice.AddrPortReaderWriter)
	if !ok {
		t.Fatalf("mediaNet socket is %T, not an ice.AddrPortReaderWriter", conn)
	}
	if _, isRaw := conn.(*rawTransportConn); !isRaw {
		t.Fatalf("mediaNet socket is %T, want *rawTransportConn", conn)
	}
	self := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	if _, err := rc.WriteToAddrPort([]byte("ping"), self); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64)
	n2, from, err := rc.ReadFromAddrPort(buf)
	if err != nil || string(buf[:n2]) != "ping" || from != self {
		t.Fatalf("read %q from %v (%v), want ping from %v", buf[:n2], from, err, self)
	}
}

func TestRawUDPConnAllocatesNothing(t *testing.T) {
	media, _ := listenMedia(t, "udp4", "127.0.0.1")
	self := media.LocalAddr().(*net.UDPAddr).AddrPort()
	pkt := make([]byte, 1200)
	buf := make([]byte, 1500)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := media.WriteToAddrPort(pkt, self); err != nil {
			t.Fatal(err)
		}
		if _, _, err := media.ReadFromAddrPort(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per datagram sent and received, want 0", allocs)
	}
}

// BenchmarkMediaSocket compares a datagram's round through the raw socket with the standard library's.
func BenchmarkMediaSocket(b *testing.B) {
	for _, raw := range []bool{false, true} {
		name := "stdlib"
		if raw {
			name = "raw"
		}
		b.Run(name, func(b *testing.B) {
			media, conn := listenMedia(b, "udp4", "127.0.0.1")
			var rw ice.AddrPortReaderWriter = media
			if !raw {
				rw = stdlibAddrPort{conn}
			}
			self := conn.LocalAddr().(*net.UDPAddr).AddrPort()
			pkt := make([]byte, 1200)
			buf := make([]byte, 1500)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if _, err := rw.WriteToAddrPort(pkt, self); err != nil {
					b.Fatal(err)
				}
				if _, _, err := rw.ReadFromAddrPort(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type stdlibAddrPort struct{ *net.UDPConn }

func (s stdlibAddrPort) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return s.ReadFromUDPAddrPort(b)
}

func (s stdlibAddrPort) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return s.WriteToUDPAddrPort(b, addr)
}
