package turnserver

import (
	"net"
	"sync"
)

// drainingListener is a TCP or TLS listener handed to pion that, once its Accept fails (the listener
// was closed), closes every connection it accepted and waits until pion has finished with each before
// it reports the failure. pion answers that failure by closing all the listener's allocations at once
// (allocation.Manager.Close); without the wait, that runs while a connection's own goroutine may still
// be adding a permission to one of them, a data race inside pion/turn v5.1.0 (allocation.go Close
// reads a permission's timer that permission.go start writes).
//
// Locking: Accept runs on pion's one accept goroutine; Close of a connection on pion's goroutine for
// that connection or on Accept's; mu guards conns and is never held across I/O.
type drainingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*drainingConn]struct{}
	open  sync.WaitGroup // one per accepted connection not yet closed
}

func newDrainingListener(ln net.Listener) *drainingListener {
	return &drainingListener{Listener: ln, conns: make(map[*drainingConn]struct{})}
}

func (l *drainingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		l.mu.Lock()
		conns := make([]*drainingConn, 0, len(l.conns))
		for dc := range l.conns {
			conns = append(conns, dc)
		}
		l.mu.Unlock()
		// Closing the socket ends the connection's read loop; pion then deletes its allocation and
		// closes the connection, which is what open waits for.
		for _, dc := range conns {
			_ = dc.Conn.Close()
		}
		l.open.Wait()
		return nil, err
	}
	dc := &drainingConn{Conn: c, ln: l}
	l.open.Add(1)
	l.mu.Lock()
	l.conns[dc] = struct{}{}
	l.mu.Unlock()
	return dc, nil
}

// drainingConn is an accepted connection that tells its listener when pion closes it.
type drainingConn struct {
	net.Conn
	ln   *drainingListener
	once sync.Once
}

func (c *drainingConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.ln.mu.Lock()
		delete(c.ln.conns, c)
		c.ln.mu.Unlock()
		c.ln.open.Done()
	})
	return err
}
