package signaling

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// Invitations from the pre-join page (POST /invite): a clinician or teacher who opened their own link
// can invite before anyone joined, with no session yet. The request carries the host's join token as a
// bearer token (dev mode: none, from this machine) and a create_invite body plus the room; the answer is
// the create_invite reply, or {code, message} with an HTTP status. Any node may answer: it signs, and
// takes the room's policy when the room lives here, else the token's. Stateless; safe for concurrent use.

// InvitePath is where ServeInvite is mounted.
const InvitePath = "/invite"

// maxInviteBody bounds the request body: a room name, a role, a ttl and a name.
const maxInviteBody = 4 << 10

// inviteRequest is the body of POST /invite.
type inviteRequest struct {
	Room string `json:"room"`
	protocol.CreateInvite
}

// ServeInvite answers POST /invite.
func (s *Server) ServeInvite(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		writeInviteError(w, http.StatusForbidden, protocol.Errorf(CodeOriginNotAllowed, "a page at %s may not ask this server for invitations", r.Header.Get("Origin")))
		return
	}
	var req inviteRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxInviteBody))
	if err := dec.Decode(&req); err != nil {
		writeInviteError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeBadRequest, "invite: the body is not a JSON invitation request: %v", err))
		return
	}
	if err := protocol.ValidateRoomName(req.Room); err != nil {
		writeInviteError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeBadRequest, "invite: %v", err))
		return
	}
	if err := req.CreateInvite.Validate(); err != nil {
		writeInviteError(w, http.StatusBadRequest, protocol.Errorf(protocol.CodeBadRequest, "invite: %v", err))
		return
	}
	policy, perr := s.inviterPolicy(r, req.Room)
	if perr != nil {
		status := http.StatusUnauthorized
		if perr.Code == protocol.CodeInsufficientGrant {
			status = http.StatusForbidden
		}
		writeInviteError(w, status, perr)
		return
	}
	inv, perr := s.mintInvite(s.linkBase(r), req.Room, policy, req.CreateInvite)
	if perr != nil {
		status := http.StatusInternalServerError
		if perr.Code == protocol.CodeNoKeys {
			status = http.StatusServiceUnavailable
		}
		writeInviteError(w, status, perr)
		return
	}
	// Never the token or the link: either lets its holder in.
	s.log.Info("invite created before joining", "room", req.Room, "role", inv.Role, "ttl_seconds", *req.TTLSeconds)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(inv)
}

// inviterPolicy checks that the request's bearer token lets its holder moderate room (dev mode: a
// tokenless request from this machine is a host) and returns the policy an invitation carries.
func (s *Server) inviterPolicy(r *http.Request, room string) (*auth.Policy, *protocol.Error) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var a auth.Admit
	switch {
	case token == "" && s.cfg.DevTrustLoopback && auth.LoopbackRequest(r):
		a = auth.DevAdmit("dev")
	case token == "":
		return nil, protocol.Errorf(protocol.CodeTokenMissing, "invite: send your join link's token as Authorization: Bearer")
	case s.cfg.Keys == nil:
		return nil, protocol.Errorf(protocol.CodeTokenInvalid, "this server has no API keys and cannot verify tokens")
	default:
		claims, err := s.cfg.Keys.Verify(token)
		if err != nil {
			return nil, accessError(err)
		}
		if a, err = auth.AdmitFor(claims, room); err != nil {
			return nil, accessError(err)
		}
	}
	var policy *auth.Policy
	if rm := s.lookup(room); rm != nil {
		policy = rm.invitePolicy()
	}
	if policy == nil && a.Policy != nil {
		p := *a.Policy
		p.Locked = false // as invitePolicy: the lock is how a room is now, not what it is
		policy = &p
	}
	mode := ""
	if policy != nil {
		mode = policy.Mode
	}
	if !auth.Effective(a.Role, a.Grants, mode).Moderate {
		return nil, insufficient("inviting others needs the moderate grant (a host's link)")
	}
	return policy, nil
}

func writeInviteError(w http.ResponseWriter, status int, perr *protocol.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(perr)
}
