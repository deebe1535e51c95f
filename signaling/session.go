package signaling

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/cluster"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// Session is one WebSocket: its reader (run) handles messages in order, its writer (writeLoop) drains
// the outgoing queue. See the package doc for who may call what.
type Session struct {
	srv     *Server
	conn    transport
	log     *slog.Logger // with the participant once joining; written only before others can see the session
	baseLog *slog.Logger // with the remote address only
	remote  string       // the client's address

	send chan []byte   // outgoing messages; never closed
	done chan struct{} // closed when the session is ending

	closeMu     sync.Mutex
	closeCode   int
	closeReason string
	closeOnce   sync.Once

	joined     atomic.Bool // set by the reader once joined; read by the join timer
	devTrusted bool        // dev mode and a loopback peer: a join without a token is a host's

	// Owned by the reader goroutine. The identity fields are written before the session becomes a room
	// member and never change after, so other goroutines that found it through the room may read them.
	room          *room
	roomName      string
	participantID string
	name          string
	identity      string
	role          auth.Role
	hidden        bool         // an observer: not announced to the others
	tokenGrants   *auth.Grants // the token's explicit grants; nil: the role's defaults (policy.go)
	joinedAt      time.Time
	media         MediaParticipant
	midSource     map[string]string            // source of each publish m-line offered so far
	limits        *sessionLimits               // message budgets (ratelimit.go); the reader's
	candidates    int                          // ICE candidates received (sdplimits.go); the reader's
	checksAllowed bool                         // a preflight was authorized (connectivity.go)
	linkBase      string                       // the base of the links it may create (invite.go)
	checks        map[sfu.CheckTransport]Check // running connectivity checks, one per path
	checksStarted int                          // connectivity checks over the session's life

	// Cluster mode (cluster_edge.go, cluster_owner.go), owned by the reader like the join state.
	upstream   *cluster.RelayConn // edge: the room lives on another node; frames go there
	downDone   chan struct{}      // edge: closed when the pump from upstream has ended
	relayedFor string             // owner: the room a relayed session was opened for ("" for a WebSocket)
	unhold     func()             // owner: gives back this session's hold on its room's claim

	// state is what other goroutines (admin API, moderators' sessions, the media plane's events) read
	// and change; see access.go.
	state sessionState
	// ice is the session's TURN credentials, issued once (connectivity.go).
	ice sessionICE
}

func newSession(srv *Server, conn transport, remote string, devTrusted bool) *Session {
	log := srv.log.With("remote", remote)
	return &Session{
		srv: srv, conn: conn, log: log, baseLog: log, remote: remote, devTrusted: devTrusted,
		send: make(chan []byte, srv.cfg.QueueLength), done: make(chan struct{}),
		closeCode: websocket.CloseNormalClosure, midSource: make(map[string]string),
		state:  sessionState{own: make(map[string]sfu.TrackInfo), blocked: make(map[string]bool)},
		checks: make(map[sfu.CheckTransport]Check),
		ice:    sessionICE{user: newSessionID()},
		limits: newSessionLimits(srv.cfg.Limits),
	}
}

func (s *Session) participant() protocol.Participant {
	return protocol.Participant{ID: s.participantID, Name: s.name, Identity: s.identity, Role: string(s.role)}
}

// run is the reader: it handles messages until the socket ends, then leaves the room. It returns when
// the writer has finished too.
func (s *Session) run() {
	writerDone := make(chan struct{})
	go func() { s.writeLoop(); close(writerDone) }()
	defer func() {
		s.closeChecks()
		s.leave()
		s.revokeICE()       // after leave: no media left to relay
		s.endClusterRoles() // after leave: the room's claim is held until its member has gone
		s.closeWith(websocket.CloseNormalClosure, "")
		<-writerDone
		s.conn.release()
	}()

	joinTimer := time.AfterFunc(s.srv.cfg.JoinTimeout, func() {
		if s.joined.Load() {
			return
		}
		s.sendError("", protocol.Errorf(protocol.CodeNotJoined, "no join within %s", s.srv.cfg.JoinTimeout))
		s.closeWith(websocket.ClosePolicyViolation, "join timeout")
	})
	defer joinTimer.Stop()

	for {
		frame, err := s.conn.read()
		if errors.Is(err, errMessageTooLarge) {
			s.sendError("", protocol.Errorf(protocol.CodeMessageTooLarge, "message is over %d bytes", protocol.MaxMessageSize))
			continue
		}
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				s.log.Debug("socket read ended", "err", err)
			}
			return
		}
		if s.upstream != nil {
			if !s.forwardUp(frame) {
				return
			}
			continue
		}
		if !s.handle(frame) {
			return
		}
	}
}

// enqueue queues one encoded message. It never blocks: a session that cannot keep up is closed.
func (s *Session) enqueue(msg []byte) {
	if msg == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	select {
	case s.send <- msg:
	default:
		s.log.Warn("outgoing queue full; closing slow session", "queued", cap(s.send))
		s.closeWith(websocket.ClosePolicyViolation, "too slow to receive")
	}
}

// closeWith ends the session: the writer flushes what is queued, sends a close frame and closes the socket,
// which ends the reader. Safe from any goroutine, any number of times; the first reason wins.
func (s *Session) closeWith(code int, reason string) {
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closeCode, s.closeReason = code, reason
		s.closeMu.Unlock()
		close(s.done)
	})
}

// writeLoop is the only goroutine that writes to the transport.
func (s *Session) writeLoop() {
	ping := time.NewTicker(s.srv.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case msg := <-s.send:
			if !s.write(msg) {
				s.closeWith(websocket.CloseAbnormalClosure, "")
				s.conn.shutdown(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-ping.C:
			if err := s.conn.keepalive(); err != nil {
				s.closeWith(websocket.CloseAbnormalClosure, "")
				s.conn.shutdown(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-s.done:
			s.flush()
			s.closeMu.Lock()
			code, reason := s.closeCode, s.closeReason
			s.closeMu.Unlock()
			s.conn.shutdown(code, reason)
			return
		}
	}
}

// flush writes what is already queued, so a final error reaches the client before the close frame.
func (s *Session) flush() {
	for {
		select {
		case msg := <-s.send:
			if !s.write(msg) {
				return
			}
		default:
			return
		}
	}
}

func (s *Session) write(msg []byte) bool {
	if err := s.conn.write(msg); err != nil {
		s.log.Debug("transport write failed", "err", err)
		return false
	}
	return true
}

// reply queues a message of the given type carrying data.
func (s *Session) reply(typ, id string, data any) {
	s.enqueue(encodeOrLog(s.log, typ, id, data))
}

func (s *Session) sendError(id string, e *protocol.Error) {
	s.log.Debug("error sent to client", "code", e.Code, "message", e.Message, "participant", s.participantID)
	s.srv.cfg.Observer.ErrorSent(e.Code)
	s.reply(protocol.TypeError, id, e)
}

func encodeOrLog(log *slog.Logger, typ, id string, data any) []byte {
	msg, err := protocol.Encode(typ, id, data)
	if err != nil {
		log.Error("encode message", "type", typ, "err", err)
		return nil
	}
	return msg
}
