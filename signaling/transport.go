package signaling

import (
	"errors"
	"io"
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
	// shutdown says goodbye with a close code and reason and releases the transport. It makes a blocked
	// read return.
	shutdown(code int, reason string)
}

var errMessageTooLarge = errors.New("message too large")

// wsTransport is a client's WebSocket.
type wsTransport struct {
	conn         *websocket.Conn
	idle         time.Duration // a socket silent this long is closed
	writeTimeout time.Duration
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

func (t *wsTransport) shutdown(code int, reason string) {
	_ = t.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	_ = t.conn.Close()
}
