package turnserver

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestMintCredentialsMatchesCoturn: the REST scheme's password is base64(HMAC-SHA1(secret, username)),
// checked against a value computed independently (openssl dgst -sha1 -hmac ... | base64).
func TestMintCredentialsMatchesCoturn(t *testing.T) {
	username, password := MintCredentials("north", "P1", time.Unix(1767225600, 0))
	if username != "1767225600:P1" {
		t.Errorf("username %q", username)
	}
	// printf '1767225600:P1' | openssl dgst -sha1 -hmac north -binary | base64
	if want := "BVfXQV9SQK9u/Y4RGp4qc4A3TK4="; password != want {
		t.Errorf("password %q, want %q", password, want)
	}
}

func TestParseUsername(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		user string
	}{
		{"1767225600:P1", true, "P1"},
		{"1767225600:a:b", true, "a:b"},
		{"1767225600", false, ""},
		{"1767225600:", false, ""},
		{":P1", false, ""},
		{"-5:P1", false, ""},
		{"x:P1", false, ""},
		{"", false, ""},
	} {
		expiry, user, ok := parseUsername(tc.in)
		if ok != tc.ok || user != tc.user {
			t.Errorf("parseUsername(%q) = %v, %q, %v; want %q, %v", tc.in, expiry, user, ok, tc.user, tc.ok)
		}
	}
}

func FuzzParseUsername(f *testing.F) {
	for _, s := range []string{"1767225600:P1", "1:x", "", ":", "99999999999999999999:a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		expiry, user, ok := parseUsername(s)
		if !ok {
			return
		}
		if user == "" || expiry.Unix() <= 0 {
			t.Fatalf("accepted %q as %v, %q", s, expiry, user)
		}
		// What parses is what MintCredentials makes of it.
		if again, _ := MintCredentials("k", user, expiry); again != s {
			t.Fatalf("%q parses to %v, %q, which mints %q", s, expiry, user, again)
		}
	})
}

// TestRelayConnTalksOnlyToMedia: a relay socket sends only to the media port (an advertised public
// address goes to where the media socket listens), drops datagrams from anyone else, and reports the
// media's replies as coming from the address the client wrote to.
func TestRelayConnTalksOnlyToMedia(t *testing.T) {
	media := listenUDP(t)
	other := listenUDP(t)
	mediaAP := media.LocalAddr().(*net.UDPAddr).AddrPort()
	public := netip.AddrPortFrom(netip.MustParseAddr("203.0.113.10"), mediaAP.Port())
	peer := func(ap netip.AddrPort) (netip.AddrPort, bool) {
		switch {
		case ap == mediaAP:
			return ap, true
		case ap == public:
			return mediaAP, true
		}
		return netip.AddrPort{}, false
	}
	rc := &relayConn{PacketConn: listenUDP(t), srv: &Server{users: map[string]map[*relayConn]struct{}{}}, peer: peer, user: "u"}
	relayAddr := rc.LocalAddr()

	if _, err := rc.WriteTo([]byte("x"), other.LocalAddr()); !errors.Is(err, errNotMedia) {
		t.Errorf("write to another port: %v, want errNotMedia", err)
	}
	if _, err := rc.WriteTo([]byte("to-public"), net.UDPAddrFromAddrPort(public)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = media.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := media.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "to-public" {
		t.Fatalf("media read %q from %v: %v", buf[:n], from, err)
	}

	// A stranger's datagram is dropped; the media's reply that follows it is delivered, as from public.
	if _, err := other.WriteTo([]byte("intruder"), relayAddr); err != nil {
		t.Fatal(err)
	}
	if _, err := media.WriteTo([]byte("reply"), relayAddr); err != nil {
		t.Fatal(err)
	}
	_ = rc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err = rc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "reply" || from.String() != public.String() {
		t.Errorf("relay read %q from %v, want reply from %v", buf[:n], from, public)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("second close: %v (pion closes too; that must not be an error)", err)
	}
}

func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRevokedRelayRelaysNothing: once its user's session ends, a relay refuses writes and drops the
// media's datagrams at once, though its socket stays open for revokeGrace.
func TestRevokedRelayRelaysNothing(t *testing.T) {
	media := listenUDP(t)
	mediaAP := media.LocalAddr().(*net.UDPAddr).AddrPort()
	peer := func(ap netip.AddrPort) (netip.AddrPort, bool) { return ap, ap == mediaAP }
	rc := &relayConn{PacketConn: listenUDP(t), srv: &Server{users: map[string]map[*relayConn]struct{}{}}, peer: peer, user: "u"}
	rc.revoke()
	rc.revoke() // Revoke and a second Revoke of the same user: one timer
	if _, err := rc.WriteTo([]byte("x"), media.LocalAddr()); !errors.Is(err, errRevoked) {
		t.Errorf("write after revoke: %v, want errRevoked", err)
	}
	if _, err := media.WriteTo([]byte("reply"), rc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	_ = rc.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 64)
	if n, _, err := rc.ReadFrom(buf); err == nil {
		t.Errorf("revoked relay delivered %q", buf[:n])
	}
}

// TestDrainingListenerWaitsForConnections: a failed Accept (the listener closed) closes the accepted
// connections and returns only once each has been closed by its user, as pion does after its read
// loop and allocation cleanup end.
func TestDrainingListenerWaitsForConnections(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newDrainingListener(inner)
	client, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	userDone := make(chan struct{})
	var closedByUser time.Time
	go func() { // pion's connection goroutine: read until the socket fails, clean up, then Close
		defer close(userDone)
		_, _ = conn.Read(make([]byte, 16))
		closedByUser = time.Now()
		_ = conn.Close()
	}()
	_ = inner.Close()
	if _, err := ln.Accept(); err == nil {
		t.Fatal("Accept on a closed listener succeeded")
	}
	returned := time.Now()
	<-userDone
	if returned.Before(closedByUser) {
		t.Error("Accept returned before the accepted connection was closed")
	}
}
