package node

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// sharedTLSPort lets HTTPS and TURN over TLS share one port (turn.tls_port equal to http.addr's port):
// a hospital firewall that lets out only 443 then reaches both. After the TLS handshake a connection is
// told apart by its ALPN protocol (browsers offer http/1.1, RFC 7443 TURN clients stun.turn) or, when
// it offers none, by its first byte: a STUN message starts with two zero bits, an HTTP request with a
// letter.
//
// Goroutines: one accept loop (run), and one per accepted connection until it is classified (within
// classifyTimeout); Close ends the loop and both listeners and waits for them.
type sharedTLSPort struct {
	raw  net.Listener
	cfg  *tls.Config
	log  *slog.Logger
	http *chanListener
	turn *chanListener
	wg   sync.WaitGroup
}

// classifyTimeout bounds a connection's handshake and first byte.
const classifyTimeout = 10 * time.Second

// alpnTURN is the ALPN id of TURN over TLS (RFC 7443).
const alpnTURN = "stun.turn"

func newSharedTLSPort(raw net.Listener, cfg *tls.Config, log *slog.Logger) *sharedTLSPort {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"http/1.1", alpnTURN}
	p := &sharedTLSPort{raw: raw, cfg: cfg, log: log, http: newChanListener(raw.Addr()), turn: newChanListener(raw.Addr())}
	p.wg.Add(1)
	go p.run()
	return p
}

func (p *sharedTLSPort) run() {
	defer p.wg.Done()
	for {
		conn, err := p.raw.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.classify(conn)
		}()
	}
}

func (p *sharedTLSPort) classify(raw net.Conn) {
	tc := tls.Server(raw, p.cfg)
	_ = tc.SetDeadline(time.Now().Add(classifyTimeout))
	if err := tc.Handshake(); err != nil {
		p.log.Debug("tls: handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
		_ = tc.Close()
		return
	}
	switch tc.ConnectionState().NegotiatedProtocol {
	case "http/1.1":
		_ = tc.SetDeadline(time.Time{})
		p.http.deliver(tc)
		return
	case alpnTURN:
		_ = tc.SetDeadline(time.Time{})
		p.turn.deliver(tc)
		return
	}
	var first [1]byte
	if _, err := tc.Read(first[:]); err != nil {
		_ = tc.Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})
	conn := &prefixConn{Conn: tc, prefix: first[:]}
	if first[0] < 0x40 { // STUN and ChannelData headers; no HTTP method starts below 'A'
		p.turn.deliver(conn)
	} else {
		p.http.deliver(conn)
	}
}

// Close stops accepting, closes both listeners and waits for the goroutines.
func (p *sharedTLSPort) Close() error {
	err := p.raw.Close()
	p.http.Close()
	p.turn.Close()
	p.wg.Wait()
	return err
}

// prefixConn is a TLS connection whose first byte was read to classify it: Read returns it first.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// chanListener is a net.Listener fed by sharedTLSPort.
type chanListener struct {
	addr   net.Addr
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// deliver hands a connection to Accept, or closes it when the listener has closed.
func (l *chanListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// tlsConnKey marks a request's context when its connection is TLS that net/http cannot see (a
// prefixConn): r.TLS is then nil.
type tlsConnKey struct{}

// markTLSConn is http.Server.ConnContext.
func markTLSConn(ctx context.Context, c net.Conn) context.Context {
	if _, ok := c.(*prefixConn); ok {
		return context.WithValue(ctx, tlsConnKey{}, true)
	}
	return ctx
}

// servedOverTLS reports whether a request came over TLS.
func servedOverTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	v, _ := r.Context().Value(tlsConnKey{}).(bool)
	return v
}
