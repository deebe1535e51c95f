package signaling

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// Invitations from inside a call (create_invite): a host asks for a join link to its own room and the
// server signs it with its key, as the admin API's links are signed (admin.MintJoin, admin.JoinURL), so
// that inviting someone needs neither a shell nor an admin token. It runs on the host's reader and reads
// the room's policy under room.mu; nothing else is shared.

// handleCreateInvite mints a link for one invitee of the sender's room: a fresh identity (so that bans
// and grant changes reach that invitee alone), the role and name asked for, and the room's policy, so
// that an invitee arriving first makes the room what it is now (a consultation's lobby, say).
func (s *Session) handleCreateInvite(env protocol.Envelope) *protocol.Error {
	req, perr := moderatorRequest[protocol.CreateInvite](s, env, "creating invitations")
	if perr != nil {
		return perr
	}
	base := s.linkBase
	if base == "" { // a relayed session from an edge that does not pass its base
		base = s.srv.cfg.PublicURL
	}
	inv, perr := s.srv.mintInvite(base, s.roomName, s.room.invitePolicy(), req)
	if perr != nil {
		return perr
	}
	// baseLog: s.log already carries the room and the participant under other keys. Never the token or
	// the link: either lets its holder in.
	s.baseLog.Info("invite created", "room", s.roomName, "by", s.participantID, "role", inv.Role, "ttl_seconds", *req.TTLSeconds)
	s.reply(protocol.TypeInvite, env.ID, inv)
	return nil
}

// mintInvite signs a link to room for one invitee of req: a fresh identity (so that bans and grant
// changes reach that invitee alone), the role and name asked for, and policy. req is validated.
func (s *Server) mintInvite(base, room string, policy *auth.Policy, req protocol.CreateInvite) (protocol.Invite, *protocol.Error) {
	keys := s.cfg.Keys
	if keys == nil {
		return protocol.Invite{}, protocol.Errorf(protocol.CodeNoKeys, "this server has no API key to sign invitations with; configure auth.keys")
	}
	if base == "" {
		return protocol.Invite{}, protocol.Errorf(protocol.CodeInternal, "this server does not know its public address; set http.public_url")
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil { // Validate allows only invitable roles; this guards their spelling in auth
		return protocol.Invite{}, protocol.Errorf(protocol.CodeBadRequest, "create_invite: %v", err)
	}
	identity, err := newGuestIdentity()
	if err != nil {
		return protocol.Invite{}, protocol.Errorf(protocol.CodeInternal, "create an invitation: %v", err)
	}
	ttl := time.Duration(*req.TTLSeconds) * time.Second
	claims := auth.Claims{Room: room, Name: req.Name, Role: role, Policy: policy, RegisteredClaims: jwt.RegisteredClaims{Subject: identity}}
	token, expires, err := admin.MintJoin(keys, claims, ttl)
	if err != nil {
		return protocol.Invite{}, protocol.Errorf(protocol.CodeInternal, "sign the invitation: %v", err)
	}
	return protocol.Invite{URL: admin.JoinURL(base, room, token), Role: string(role), ExpiresAt: expires.Format(time.RFC3339)}, nil
}

// invitePolicy is the policy an invitation carries: the room's, or none while the room has none. The
// lock is left out: it is how the room is now, and an invitee whose link arrived first in a new life of
// the room would otherwise be refused from a room locked by nobody.
func (r *room) invitePolicy() *auth.Policy {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.hasPolicy {
		return nil
	}
	p := r.policy
	p.Locked = false
	return &p
}

// newGuestIdentity returns "guest-" and 16 random base32 characters (80 bits): an invitee's identity.
func newGuestIdentity() (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random identity: %w", err)
	}
	return "guest-" + strings.ToLower(idEncoding.EncodeToString(b[:])), nil
}

// linkBase is the base of the links a session opened by r creates: the configured public URL, else the
// scheme and Host r came with.
func (s *Server) linkBase(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	overTLS := r.TLS != nil
	if s.cfg.RequestTLS != nil {
		overTLS = s.cfg.RequestTLS(r)
	}
	scheme := "http"
	if overTLS {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
