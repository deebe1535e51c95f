package signaling

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/cluster"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// Cluster mode, the edge's side: a client whose room lives on another node keeps its WebSocket here and
// its session runs on the owner. This session then only forwards: the reader sends each client frame
// up the relay (forwardUp), and one pump goroutine (pumpDown, owned by the reader, ended by closing the
// relay in endClusterRoles) queues each frame from the owner for the writer. Media goes straight to the
// owner: the ICE candidates in the owner's answers are its own.

// placementTimeout bounds the Redis work of placing a join (claim, dial).
const placementTimeout = 5 * time.Second

// clusterJoin handles a join in cluster mode; the result is handle's.
func (s *Session) clusterJoin(env protocol.Envelope, frame []byte) bool {
	var req protocol.Join
	if perr := protocol.DecodeData(env, &req); perr != nil || s.media != nil {
		return s.handleJoin(env) // the usual errors
	}
	if s.relayedFor != "" && req.Room != s.relayedFor {
		s.sendError(env.ID, protocol.Errorf(protocol.CodeBadRequest, "this connection was opened for room %q; reconnect to join another room", s.relayedFor))
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), placementTimeout)
	defer cancel()
	owner, local, err := s.srv.holdRoom(ctx, req.Room, req.Region)
	if err != nil {
		s.log.Warn("join refused: room cannot be placed", "room", req.Room, "err", err)
		s.sendError(env.ID, clusterError(err))
		return true
	}
	if !local {
		if s.relayedFor != "" { // the edge believed we own it; we no longer do
			s.moveAway("the room is on another server now; reconnect to continue")
			return false
		}
		return s.relayTo(ctx, owner, req.Room, env, frame)
	}
	keep := s.handleJoin(env)
	if s.room == nil { // refused; a lobby waiter (no media yet) keeps its hold like a member
		s.srv.unholdRoom(req.Room)
	} else {
		room := req.Room
		s.unhold = func() { s.srv.unholdRoom(room) }
	}
	return keep
}

// relayTo opens a relayed session to the room's owner, hands it the join and turns this session into a
// forwarder.
func (s *Session) relayTo(ctx context.Context, owner cluster.NodeInfo, room string, env protocol.Envelope, frame []byte) bool {
	relay := s.srv.cfg.Cluster.Relay
	hello := encodeRelayHello(relayHelloData{Room: room, Remote: s.remote, DevTrusted: s.devTrusted, LinkBase: s.linkBase})
	conn, err := relay.Dial(ctx, owner.ID, newSessionID(), hello)
	if err == nil {
		err = conn.Send(ctx, encodeRelayMessage(frame))
		if err != nil {
			_ = conn.Close()
		}
	}
	if err != nil {
		s.log.Warn("join refused: relay to the room's node failed", "room", room, "owner", owner.ID, "err", err)
		s.sendError(env.ID, protocol.Errorf(protocol.CodeClusterUnavailable, "the server holding room %q cannot be reached now; try again shortly", room))
		return true
	}
	s.log = s.baseLog.With("room", room, "owner", owner.ID, "relay", conn.SessionID())
	s.log.Info("session relayed to the room's node")
	s.upstream = conn
	s.joined.Store(true) // the owner runs the join timeout from here on
	s.downDone = make(chan struct{})
	go s.pumpDown(conn)
	return true
}

// forwardUp sends one client frame to the owner; false ends the session.
func (s *Session) forwardUp(frame []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.cfg.WriteTimeout)
	defer cancel()
	if err := s.upstream.Send(ctx, encodeRelayMessage(frame)); err != nil {
		if errors.Is(err, cluster.ErrRelayClosed) {
			return true // the owner closed: pumpDown delivers its last frames and the close
		}
		s.log.Warn("relay to the room's node failed", "err", err)
		s.moveAway("lost the connection to the room's server; reconnect to continue")
		return false
	}
	return true
}

// pumpDown queues the owner's frames for the client until the relayed session ends.
func (s *Session) pumpDown(conn *cluster.RelayConn) {
	defer close(s.downDone)
	for {
		b, err := conn.Recv(context.Background())
		if err != nil {
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, cluster.ErrRelayClosed):
				s.closeWith(websocket.CloseNormalClosure, "")
			default: // the owner node died or Redis lost the session
				s.log.Warn("relayed session lost", "err", err)
				s.moveAway("the room's server stopped; reconnect to continue")
			}
			return
		}
		f, err := decodeRelayFrame(b)
		if err != nil {
			s.log.Error("bad frame from the room's node", "err", err)
			s.moveAway("the room's server sent a bad frame; reconnect to continue")
			return
		}
		switch f.kind {
		case relayMessage:
			s.enqueue(f.msg)
		case relayClose:
			s.closeWith(f.code, f.reason)
			return
		}
	}
}

// moveAway tells the client its room is elsewhere now (a non-final error: it reconnects) and ends the
// session with "service restart".
func (s *Session) moveAway(why string) {
	s.sendError("", protocol.Errorf(protocol.CodeRoomMoved, "%s", why))
	s.closeWith(websocket.CloseServiceRestart, "room moved")
}

// endClusterRoles runs when the session ends: an edge closes its relayed session (the owner's session
// ends too) and waits for the pump; an owner gives back its hold on the room's claim.
func (s *Session) endClusterRoles() {
	if s.upstream != nil {
		_ = s.upstream.Close()
		<-s.downDone
	}
	if s.unhold != nil {
		s.unhold()
		s.unhold = nil
	}
}
