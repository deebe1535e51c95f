package signaling

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
	"github.com/huddlehq/huddle/signaling/webhook"
)

// sessionState is the part of a Session that goroutines other than its reader touch: the admin API and
// moderators' sessions (grants, moderator mutes, the media handle) and the media plane's event callbacks
// (own tracks, the held subscribe offer). mu is a leaf: nothing is locked, enqueued or called while it
// is held.
type sessionState struct {
	mu        sync.Mutex
	grants    auth.Grants
	media     MediaParticipant         // set while joined; moderation's handle on the media plane
	own       map[string]sfu.TrackInfo // tracks this participant publishes, from TrackPublished
	blocked   map[string]bool          // own tracks muted by a moderator
	heldOffer *protocol.SubscribeOffer // a subscribe offer kept back while subscribe is not granted
}

func (s *Session) setGrants(g auth.Grants) {
	s.state.mu.Lock()
	s.state.grants = g
	s.state.mu.Unlock()
}

func (s *Session) grants() auth.Grants {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	return s.state.grants
}

func (s *Session) setSharedMedia(m MediaParticipant) {
	s.state.mu.Lock()
	s.state.media = m
	s.state.mu.Unlock()
}

// sharedMedia is the session's media for goroutines other than the reader; nil when not joined.
func (s *Session) sharedMedia() MediaParticipant {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	return s.state.media
}

// ownTracks returns the tracks the participant publishes.
func (s *Session) ownTracks() []sfu.TrackInfo {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	return slices.Collect(maps.Values(s.state.own))
}

func (s *Session) ownsTrack(id string) bool {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	_, ok := s.state.own[id]
	return ok
}

func (s *Session) isBlocked(trackID string) bool {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	return s.state.blocked[trackID]
}

// authorizeJoin decides who a join is: from its token, or, in dev mode from this machine without one, a
// host named as it asks. The error is what the client gets.
func (s *Session) authorizeJoin(req protocol.Join) (auth.Admit, *protocol.Error) {
	if req.Token == "" {
		if s.devTrusted {
			return auth.DevAdmit(req.Name), nil
		}
		if s.srv.cfg.DevTrustLoopback {
			return auth.Admit{}, protocol.Errorf(protocol.CodeTokenMissing, "dev mode trusts joins without a token only from this machine; send data.token")
		}
		return auth.Admit{}, protocol.Errorf(protocol.CodeTokenMissing, "this server needs a join token in data.token")
	}
	if s.srv.cfg.Keys == nil {
		return auth.Admit{}, protocol.Errorf(protocol.CodeTokenInvalid, "this server has no API keys and cannot verify tokens")
	}
	claims, err := s.srv.cfg.Keys.Verify(req.Token)
	if err != nil {
		return auth.Admit{}, accessError(err)
	}
	a, err := auth.AdmitFor(claims, req.Room)
	if err != nil {
		return auth.Admit{}, accessError(err)
	}
	if a.Name == "" {
		a.Name = req.Name
	}
	if a.Name == "" {
		return auth.Admit{}, protocol.Errorf(protocol.CodeBadRequest, "join: neither the token nor data.name gives a name")
	}
	return a, nil
}

// accessError turns an *auth.Error (whose codes are the protocol's) into the protocol error.
func accessError(err error) *protocol.Error {
	var aerr *auth.Error
	if errors.As(err, &aerr) {
		return &protocol.Error{Code: aerr.Code, Message: aerr.Err.Error()}
	}
	return &protocol.Error{Code: protocol.CodeTokenInvalid, Message: err.Error()}
}

func insufficient(format string, args ...any) *protocol.Error {
	return protocol.Errorf(protocol.CodeInsufficientGrant, format, args...)
}

func protocolGrants(g auth.Grants) protocol.Grants {
	return protocol.Grants{Publish: nonNilStrings(g.Publish), Subscribe: g.Subscribe, Chat: g.Chat, Moderate: g.Moderate, Admin: g.Admin, Record: g.Record}
}

func protocolPolicy(p auth.Policy) protocol.RoomPolicy {
	// Lobby says whether joiners wait, whichever way the policy asks for it (a consultation has one).
	return protocol.RoomPolicy{Mode: p.Mode, Lobby: p.LobbyOn(), MaxParticipants: p.MaxParticipants, Locked: p.Locked}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// hookParticipant describes the session in webhooks.
func (s *Session) hookParticipant() *webhook.Participant {
	return &webhook.Participant{ID: s.participantID, Identity: s.identity, Name: s.name, Role: string(s.role)}
}

// info describes the session for the admin API.
func (s *Session) info() admin.ParticipantInfo {
	s.state.mu.Lock()
	grants, m := s.state.grants, s.state.media
	blocked := maps.Clone(s.state.blocked)
	s.state.mu.Unlock()
	p := admin.ParticipantInfo{ID: s.participantID, Identity: s.identity, Name: s.name, Role: s.role,
		Grants: grants, Hidden: s.hidden, JoinedAt: s.joinedAt.UTC(), Tracks: []admin.TrackInfo{}}
	if m != nil {
		tracks, rates := m.Published(), m.Rates()
		slices.SortFunc(tracks, func(a, b sfu.TrackInfo) int { return strings.Compare(a.ID, b.ID) })
		for _, t := range tracks {
			info := admin.TrackInfo{ID: t.ID, Kind: t.Kind, Source: string(t.Source),
				Muted: t.Muted, Blocked: blocked[t.ID], Simulcast: t.Simulcast, Codec: t.Codec}
			for _, l := range rates[t.ID] {
				info.BitrateBps += l.Bps
				info.Layers = append(info.Layers, admin.LayerRate{RID: l.RID, BitrateBps: l.Bps})
			}
			p.Tracks = append(p.Tracks, info)
		}
	}
	return p
}
