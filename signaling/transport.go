package signaling

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// transport is what a Session reads client frames from and writes server frames to: a WebSocket, or (on
// the room's owner node, for a client connected to another node) a relayed session. read belongs to the
// session's reader goroutine; write, keepalive and shutdown to its writer goroutine.
type transport interface {
	// read returns the next client frame, errMessageTooLarge for one that was too large (and was
	// skipped), or an error that ends the session.
	read() ([]byte, error)
	// write sends one frame.
	write(msg []byte) error
	// keepalive is called every ping interval; an error ends the session.
	keepalive() error
	// shutdown says goodbye with a close code and reason (the writer's last act). A blocked read returns
	// soon after: when the peer answers, or within a second.
	shutdown(code int, reason string)
	// release frees the transport once the reader and the writer are both done.
	release()
}

var errMessageTooLarge = errors.New("message too large")

// closeDrain is how long a closing socket waits for the client's answering close frame.
const closeDrain = 500 * time.Millisecond

// wsTransport is a client's WebSocket.
type wsTransport struct {
	conn         *websocket.Conn
	idle         time.Duration // a socket silent this long is closed
	writeTimeout time.Duration
	closing      atomic.Bool // our close frame went out: the reader only drains
}

func newWSTransport(conn *websocket.Conn, cfg Config) *wsTransport {
	t := &wsTransport{conn: conn, idle: 3 * cfg.PingInterval, writeTimeout: cfg.WriteTimeout}
	conn.SetReadLimit(protocol.MaxFrameSize)
	_ = conn.SetReadDeadline(time.Now().Add(t.idle))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(t.idle)) })
	return t
}

// read reads one text message. A message over MaxMessageSize is read to its end and discarded (the
// socket's read limit still caps a frame at MaxFrameSize), so one bad message does not end the session.
func (t *wsTransport) read() ([]byte, error) {
	typ, r, err := t.conn.NextReader()
	for err == nil && t.closing.Load() { // after our close frame: drained, not handled
		if _, err = io.Copy(io.Discard, r); err == nil {
			typ, r, err = t.conn.NextReader()
		}
	}
	if err != nil {
		return nil, err
	}
	_ = t.conn.SetReadDeadline(time.Now().Add(t.idle))
	buf, err := io.ReadAll(io.LimitReader(r, protocol.MaxMessageSize+1))
	if err != nil {
		return nil, err
	}
	if len(buf) > protocol.MaxMessageSize {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, err
		}
		return nil, errMessageTooLarge
	}
	if typ != websocket.TextMessage {
		return []byte("binary"), nil // not JSON: answered with bad_json
	}
	return buf, nil
}

func (t *wsTransport) write(msg []byte) error {
	_ = t.conn.SetWriteDeadline(time.Now().Add(t.writeTimeout))
	return t.conn.WriteMessage(websocket.TextMessage, msg)
}

func (t *wsTransport) keepalive() error {
	return t.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(t.writeTimeout))
}

// shutdown sends the close frame and then only half-closes the connection: closing it outright while
// the client's last messages sit unread makes the kernel reset it, and the client may lose what was sent
// just before (the error saying why it was removed) and see 1006 instead of our close code. The reader
// gets the client's answering close frame, or its read deadline (closeDrain), and release closes the
// socket.
func (t *wsTransport) shutdown(code int, reason string) {
	if code == websocket.CloseAbnormalClosure { // a write failed: the connection is gone
		_ = t.conn.Close()
		return
	}
	t.closing.Store(true)
	_ = t.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	if tc, ok := t.conn.UnderlyingConn().(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = t.conn.SetReadDeadline(time.Now().Add(closeDrain))
}

func (t *wsTransport) release() { _ = t.conn.Close() }
