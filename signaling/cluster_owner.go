package signaling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/cluster"
)

// Cluster mode, the owner's side: a session relayed from another node (the edge holding the client's
// WebSocket) runs here like any other, over a relayTransport instead of a WebSocket. acceptLoop (one
// goroutine, from New until Close) starts them.

// acceptLoop runs the relayed sessions other nodes open to this one.
func (s *Server) acceptLoop(ctx context.Context) {
	defer s.bg.Done()
	relay := s.cfg.Cluster.Relay
	for {
		conn, err := relay.Accept(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, cluster.ErrRelayClosed) {
				s.log.Error("relay accept ended", "err", err)
			}
			return
		}
		hello, err := readHello(ctx, conn)
		if err != nil {
			s.log.Warn("relayed session refused", "from", conn.PeerNode(), "err", err)
			_ = conn.Close()
			continue
		}
		t := newRelayTransport(conn)
		sess := newSession(s, t, hello.Remote+" via "+conn.PeerNode(), hello.DevTrusted)
		sess.relayedFor = hello.Room
		sess.linkBase = hello.LinkBase
		if !s.track(sess) {
			_ = conn.Close()
			continue
		}
		go func() {
			defer s.untrack(sess)
			sess.run()
		}()
	}
}

// readHello reads a relayed session's first frame.
func readHello(ctx context.Context, conn *cluster.RelayConn) (relayHelloData, error) {
	ctx, cancel := context.WithTimeout(ctx, placementTimeout)
	defer cancel()
	b, err := conn.Recv(ctx)
	if err != nil {
		return relayHelloData{}, fmt.Errorf("read hello: %w", err)
	}
	f, err := decodeRelayFrame(b)
	if err != nil {
		return relayHelloData{}, err
	}
	if f.kind != relayHello {
		return relayHelloData{}, fmt.Errorf("first frame is %q, not a hello", f.kind)
	}
	return f.hello, nil
}

// relayWriteTimeout bounds one relayed write, retries through a short Redis outage included.
const relayWriteTimeout = 10 * time.Second

// relayTransport is a session's transport on the owner node: frames travel through Redis to and from
// the edge node, which holds the client's WebSocket and its keepalive.
type relayTransport struct {
	conn      *cluster.RelayConn
	ctx       context.Context // cancelled by shutdown, which ends a blocked read
	cancel    context.CancelFunc
	closeOnce sync.Once
}

func newRelayTransport(conn *cluster.RelayConn) *relayTransport {
	ctx, cancel := context.WithCancel(context.Background())
	return &relayTransport{conn: conn, ctx: ctx, cancel: cancel}
}

func (t *relayTransport) read() ([]byte, error) {
	for {
		b, err := t.conn.Recv(t.ctx)
		if err != nil {
			if t.ctx.Err() != nil {
				return nil, io.EOF
			}
			return nil, err
		}
		f, err := decodeRelayFrame(b)
		if err != nil {
			return nil, err
		}
		if f.kind == relayMessage {
			return f.msg, nil
		}
		// an edge sends only messages after its hello; anything else is ignored
	}
}

func (t *relayTransport) write(msg []byte) error {
	return t.send(encodeRelayMessage(msg))
}

func (t *relayTransport) send(frame []byte) error {
	ctx, cancel := context.WithTimeout(t.ctx, relayWriteTimeout)
	defer cancel()
	return t.conn.Send(ctx, frame)
}

// keepalive has nothing to do: the edge pings the client, and the relay notices a dead edge node.
func (t *relayTransport) keepalive() error { return nil }

// release has nothing left to do: shutdown closed the relayed session.
func (t *relayTransport) release() {}

func (t *relayTransport) shutdown(code int, reason string) {
	t.closeOnce.Do(func() {
		if code != websocket.CloseAbnormalClosure {
			_ = t.send(encodeRelayClose(code, reason))
		}
		_ = t.conn.Close()
		t.cancel()
	})
}
