package signaling

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// ICEIssuer hands each session the ICE servers it may use — TURN with credentials of its own — and
// takes them back when the session ends, so that relay rights last exactly as long as a live session.
// Both methods are called from sessions' goroutines concurrently and must not block.
type ICEIssuer interface {
	// Issue returns the ICE servers for the session known to TURN as user.
	Issue(user string) []protocol.ICEServer
	// Revoke withdraws user's relay rights: the embedded relay refuses its credentials and closes its
	// allocations.
	Revoke(user string)
}

// Connectivity checks: limits per session.
const (
	defaultCheckLifetime = 20 * time.Second
	maxChecksPerSession  = 12 // offers over a session's life: each path a few times
	maxLiveChecks        = 3  // one per path at a time
	checkAnswerTimeout   = 5 * time.Second
)

// sessionICE is a session's TURN identity and the ICE servers issued to it, made once on first use:
// by the session's reader (preflight, its own join) or by a moderator's reader (admitting it from the
// lobby), hence the Once.
type sessionICE struct {
	once   sync.Once
	user   string // the credential's user: random, unrelated to the participant id others see
	issued []protocol.ICEServer
	done   bool // issued through cfg.ICEIssuer (so Revoke is owed)
}

// iceServers returns what `joined` and `preflight_info` carry: the session's own credentials when the
// node issues them, else the configured list.
func (s *Session) iceServers() []protocol.ICEServer {
	s.ice.once.Do(func() {
		if s.srv.cfg.ICEIssuer != nil {
			s.ice.issued = s.srv.cfg.ICEIssuer.Issue(s.ice.user)
			s.ice.done = true
			return
		}
		s.ice.issued = s.srv.cfg.ICEServers
	})
	return nonNil(s.ice.issued)
}

// revokeICE takes the session's relay rights back; called once the session has ended (reader).
func (s *Session) revokeICE() {
	s.ice.once.Do(func() {}) // nothing is issued after this; waits for an issue in progress
	if s.ice.done {
		s.srv.cfg.ICEIssuer.Revoke(s.ice.user)
	}
}

// handlePreflight authorizes the room and token as a join would and answers with the ICE servers and
// the paths to test. It does not join: the session may still join, or check and close.
func (s *Session) handlePreflight(env protocol.Envelope) *protocol.Error {
	var req protocol.Preflight
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	if !s.checksAllowed {
		// The same checks as a join (token, room), with a placeholder name: a preflight has none.
		if _, perr := s.authorizeJoin(protocol.Join{Room: req.Room, Token: req.Token, Name: "preflight"}); perr != nil {
			return perr
		}
		s.checksAllowed = true
	}
	paths := []string{protocol.PathUDP, protocol.PathRelay}
	if s.srv.media.Offers(sfu.CheckTCP) {
		paths = []string{protocol.PathUDP, protocol.PathTCP, protocol.PathRelay}
	}
	s.reply(protocol.TypePreflightInfo, env.ID, protocol.PreflightInfo{
		ICEServers: s.iceServers(), Paths: paths, LifetimeMs: int(s.checkLifetime() / time.Millisecond),
	})
	return nil
}

// handleCheckOffer answers a connectivity check's offer with a PeerConnection offering only that
// path's candidates. It needs a preflight (or a join) first.
func (s *Session) handleCheckOffer(env protocol.Envelope) *protocol.Error {
	var req protocol.CheckOffer
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	if !s.checksAllowed && s.media == nil {
		return protocol.Errorf(protocol.CodeNotJoined, "check_offer before preflight or join")
	}
	path := sfu.CheckTransport(req.Path)
	if !s.srv.media.Offers(path) {
		return protocol.Errorf(protocol.CodeBadRequest, "this node does not offer %s", req.Path)
	}
	if s.checksStarted >= maxChecksPerSession {
		return protocol.Errorf(protocol.CodeRateLimited, "at most %d connectivity checks per session", maxChecksPerSession)
	}
	if old := s.checks[path]; old != nil { // a repeated check of one path replaces the last
		old.Close()
	}
	s.pruneChecks()
	if len(s.checks) >= maxLiveChecks {
		return protocol.Errorf(protocol.CodeRateLimited, "at most %d connectivity checks at a time", maxLiveChecks)
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkAnswerTimeout)
	defer cancel()
	answer, check, err := s.srv.media.StartCheck(ctx, path, req.SDP, s.checkLifetime())
	if err != nil {
		if errors.Is(err, sfu.ErrCheckUnavailable) {
			return protocol.Errorf(protocol.CodeBadRequest, "this node does not offer %s", req.Path)
		}
		return mediaError(err)
	}
	s.checksStarted++
	s.checks[path] = check
	s.reply(protocol.TypeCheckAnswer, env.ID, protocol.CheckAnswer{Path: req.Path, SDP: answer})
	return nil
}

// pruneChecks forgets checks whose lifetime has passed (they closed themselves).
func (s *Session) pruneChecks() {
	for path, c := range s.checks {
		if c.Ended() {
			delete(s.checks, path)
		}
	}
}

// closeChecks ends the session's checks (reader: at join and at the end of the session).
func (s *Session) closeChecks() {
	for path, c := range s.checks {
		c.Close()
		delete(s.checks, path)
	}
}

func (s *Session) checkLifetime() time.Duration {
	if s.srv.cfg.CheckLifetime > 0 {
		return s.srv.cfg.CheckLifetime
	}
	return defaultCheckLifetime
}
