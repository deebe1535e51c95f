package signaling

import (
	"errors"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// handle processes one client message on the reader goroutine; false ends the session.
func (s *Session) handle(frame []byte) bool {
	env, perr := protocol.DecodeEnvelope(frame)
	if perr != nil {
		s.sendError(env.ID, perr)
		return true
	}
	if env.Type != protocol.TypeLeave { // leaving is never refused
		class, verdict := s.limits.charge(env.Type, time.Now())
		switch verdict {
		case refused:
			s.sendError(env.ID, s.limits.refusal(class, env.Type))
			return true
		case tooMany:
			s.log.Warn("closing a session that keeps exceeding its message budget", "type", env.Type, "class", classNames[class])
			s.sendError(env.ID, protocol.Errorf(protocol.CodeRateLimited, "too many messages refused for going too fast; the session is closed"))
			s.closeWith(websocket.ClosePolicyViolation, "rate limited")
			return false
		}
	}
	if (env.Type == protocol.TypeJoin || env.Type == protocol.TypePreflight) && !s.srv.allowJoin(s.remote) {
		s.sendError(env.ID, protocol.Errorf(protocol.CodeRateLimited, "%s: too many joins from your address; try again in a few seconds", env.Type))
		return true
	}
	if env.Type == protocol.TypePing {
		s.reply(protocol.TypePong, env.ID, nil)
		return true
	}
	// Connectivity checks work before a join (the pre-join screen), in the lobby and in the call.
	if env.Type == protocol.TypePreflight || env.Type == protocol.TypeCheckOffer {
		handler := (*Session).handlePreflight
		if env.Type == protocol.TypeCheckOffer {
			handler = (*Session).handleCheckOffer
		}
		if err := handler(s, env); err != nil {
			s.sendError(env.ID, err)
		}
		return true
	}
	if s.media == nil && s.room != nil && !s.settleLobby(false) {
		// Waiting in the lobby (or turned away and about to be disconnected).
		if env.Type == protocol.TypeLeave {
			return false
		}
		s.sendError(env.ID, protocol.Errorf(protocol.CodeInLobby, "%s: you are waiting in the lobby; only leave and ping work until the host lets you in", env.Type))
		return true
	}
	if env.Type == protocol.TypeJoin {
		if s.srv.cfg.Cluster != nil {
			return s.clusterJoin(env, frame)
		}
		return s.handleJoin(env)
	}
	handler := handlerFor(env.Type)
	if handler == nil {
		s.sendError(env.ID, protocol.Errorf(protocol.CodeUnknownType, "unknown message type %q", env.Type))
		return true
	}
	if s.media == nil {
		s.sendError(env.ID, protocol.Errorf(protocol.CodeNotJoined, "%s before join", env.Type))
		return true
	}
	if err := handler(s, env); err != nil {
		s.sendError(env.ID, err)
	}
	return env.Type != protocol.TypeLeave
}

// handlerFor returns the handler of a joined session's message type, or nil for an unknown type.
func handlerFor(typ string) func(*Session, protocol.Envelope) *protocol.Error {
	switch typ {
	case protocol.TypePublishOffer:
		return (*Session).handlePublishOffer
	case protocol.TypeSubscribeAnswer:
		return (*Session).handleSubscribeAnswer
	case protocol.TypeICECandidate:
		return (*Session).handleICECandidate
	case protocol.TypeMute:
		return (*Session).handleMute
	case protocol.TypeUnpublish:
		return (*Session).handleUnpublish
	case protocol.TypeTrackSettings:
		return (*Session).handleTrackSettings
	case protocol.TypeRemoveParticipant:
		return (*Session).handleRemoveParticipant
	case protocol.TypeMuteParticipant:
		return (*Session).handleMuteParticipant
	case protocol.TypeChat:
		return (*Session).handleChat
	case protocol.TypeRaiseHand:
		return (*Session).handleRaiseHand
	case protocol.TypeLowerHand:
		return (*Session).handleLowerHand
	case protocol.TypeSetGrants:
		return (*Session).handleSetGrants
	case protocol.TypeMuteAll:
		return (*Session).handleMuteAll
	case protocol.TypeSpotlight:
		return (*Session).handleSpotlight
	case protocol.TypeRoomSettings:
		return (*Session).handleRoomSettings
	case protocol.TypeAdmit:
		return (*Session).handleAdmit
	case protocol.TypeDecline:
		return (*Session).handleDecline
	case protocol.TypeEndRoom:
		return (*Session).handleEndRoom
	case protocol.TypeCreateInvite:
		return (*Session).handleCreateInvite
	case protocol.TypeStartRecording:
		return (*Session).handleStartRecording
	case protocol.TypeStopRecording:
		return (*Session).handleStopRecording
	case protocol.TypeRecordingConsent:
		return (*Session).handleRecordingConsent
	case protocol.TypeLeave:
		return func(*Session, protocol.Envelope) *protocol.Error { return nil } // run() then leaves
	default:
		return nil
	}
}

func (s *Session) handleJoin(env protocol.Envelope) bool {
	arrived := time.Now()
	if s.media != nil {
		s.sendError(env.ID, protocol.Errorf(protocol.CodeAlreadyJoined, "this socket already joined room %q", s.room.name))
		return true
	}
	var req protocol.Join
	if perr := protocol.DecodeData(env, &req); perr != nil {
		s.sendError(env.ID, perr)
		return true
	}
	if req.Version != 0 && req.Version != protocol.Version {
		s.sendError(env.ID, protocol.Errorf(protocol.CodeUnsupportedVersion, "protocol version %d is not supported; this server speaks %d", req.Version, protocol.Version))
		s.closeWith(websocket.CloseNormalClosure, "unsupported protocol version")
		return false
	}
	a, perr := s.authorizeJoin(req)
	if perr != nil {
		s.log.Info("join refused", "room", req.Room, "code", perr.Code, "reason", perr.Message)
		s.sendError(env.ID, perr)
		return true
	}
	s.closeChecks() // a check's PeerConnection must not compete with the call's
	s.participantID, s.name = newParticipantID(), a.Name
	s.identity, s.role, s.hidden, s.joinedAt, s.roomName = a.Identity, a.Role, a.Role.Hidden(), time.Now(), req.Room
	s.tokenGrants = a.Grants
	// Set before the media plane and the room can see the session: their goroutines log through it.
	s.log = s.baseLog.With("participant", s.participantID, "room", req.Room)
	for {
		r := s.srv.room(req.Room)
		waiting, err := r.admit(s, a, env.ID, func(v roomView) error {
			media, err := s.joinMedia(env.ID, v)
			if err == nil {
				s.media = media
			}
			return err
		})
		if errors.Is(err, errRoomGone) {
			continue
		}
		var refused *protocol.Error
		if errors.As(err, &refused) {
			s.log.Info("join refused", "identity", a.Identity, "code", refused.Code, "reason", refused.Message)
			s.sendError(env.ID, refused)
			return true
		}
		if err != nil {
			s.log.Error("join failed", "err", err)
			s.sendError(env.ID, protocol.Errorf(protocol.CodeInternal, "could not join the room: %v", err))
			return true
		}
		s.room = r
		// The join timeout ends here, also for a waiter: waiting for the host is not failing to join.
		s.joined.Store(true)
		if waiting { // the lobby reply went out under the room's lock, before any admission could
			s.log.Info("session waits in the lobby", "name", s.name, "identity", s.identity, "role", s.role)
			return true
		}
		s.log.Info("session joined", "name", s.name, "identity", s.identity, "role", s.role, "grants", s.grants().String(), "dev", a.Dev)
		s.srv.cfg.Observer.Joined(time.Since(arrived))
		return true
	}
}

// joinMedia registers the session with the media plane, which sends the client its `joined` (carrying
// joinID) with the room's tracks, and gives moderation the media handle. It runs under the room's lock
// (see room.enterLocked): on the session's reader for its own join, on a moderator's reader when the
// session is admitted from the lobby; the caller stores the handle where its goroutine may.
func (s *Session) joinMedia(joinID string, v roomView) (MediaParticipant, error) {
	grants := s.grants()
	media, err := s.srv.media.Join(s.roomName, s.participantID, s, func(tracks []sfu.TrackInfo) {
		s.reply(protocol.TypeJoined, joinID, protocol.Joined{
			Protocol: protocol.Version, ParticipantID: s.participantID, Room: s.roomName,
			Participants: v.others, Tracks: tracksOf(tracks), ICEServers: s.iceServers(),
			Identity: s.identity, Role: string(s.role), Grants: protocolGrants(grants), Policy: protocolPolicy(v.policy),
			RoomState: v.state,
		})
	})
	if err != nil {
		return nil, err
	}
	s.setSharedMedia(media)
	return media, nil
}

// leave takes the session out of its room: media first (others hear track_unpublished), then membership
// (participant_left).
func (s *Session) leave() {
	if s.media == nil && s.room != nil && !s.settleLobby(true) {
		s.log.Info("session left the lobby")
		return
	}
	if s.media == nil {
		return
	}
	s.setSharedMedia(nil)
	s.media.Close()
	s.flushOwnTracks()
	s.room.remove(s)
	s.log.Info("session left")
	s.media = nil
}

func (s *Session) handlePublishOffer(env protocol.Envelope) *protocol.Error {
	var req protocol.PublishOffer
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	lim := s.srv.cfg.Limits
	cands, perr := checkSDPBounds("publish offer", req.SDP, lim.MaxMLines, lim.MaxAttributeBytes)
	if perr == nil {
		perr = s.countCandidates(cands)
	}
	if perr != nil {
		s.log.Info("publish refused", "code", perr.Code, "reason", perr.Message)
		return perr
	}
	sources, sending, perr := s.publishSources(req, s.grants())
	if perr != nil {
		s.log.Info("publish refused", "code", perr.Code, "reason", perr.Message)
		return perr
	}
	answer, assigned, err := s.media.Publish(req.SDP, sources)
	if err != nil {
		return mediaError(err)
	}
	for mid, source := range sending {
		s.midSource[mid] = source
	}
	tracks := make([]protocol.AssignedTrack, len(assigned))
	for i, a := range assigned {
		tracks[i] = protocol.AssignedTrack{Mid: a.Mid, TrackID: a.TrackID}
	}
	s.reply(protocol.TypePublishAnswer, env.ID, protocol.PublishAnswer{SDP: answer, Tracks: tracks})
	return nil
}

func (s *Session) handleSubscribeAnswer(env protocol.Envelope) *protocol.Error {
	var req protocol.SDP
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	if !s.grants().Subscribe {
		return insufficient("you may not subscribe")
	}
	cands, perr := checkSDPBounds("subscribe answer", req.SDP, 0, s.srv.cfg.Limits.MaxAttributeBytes)
	if perr == nil {
		perr = s.countCandidates(cands)
	}
	if perr != nil {
		return perr
	}
	if err := s.media.AcceptSubscriberAnswer(req.SDP); err != nil {
		return mediaError(err)
	}
	return nil
}

func (s *Session) handleICECandidate(env protocol.Envelope) *protocol.Error {
	var req protocol.ICECandidate
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	if req.Target == string(sfu.TargetSubscribe) && !s.grants().Subscribe {
		return insufficient("you may not subscribe")
	}
	c := req.Candidate
	if c.Candidate != "" { // the end-of-candidates marker costs nothing
		if len(c.Candidate) > s.srv.cfg.Limits.MaxAttributeBytes {
			return protocol.Errorf(protocol.CodeInvalidSDP, "ice candidate: %d bytes, over the limit of %d", len(c.Candidate), s.srv.cfg.Limits.MaxAttributeBytes)
		}
		if perr := s.countCandidates(1); perr != nil {
			return perr
		}
	}
	init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	if err := s.media.AddICECandidate(sfu.Target(req.Target), init); err != nil {
		return protocol.Errorf(protocol.CodeBadRequest, "ice candidate not accepted: %v", err)
	}
	return nil
}

func (s *Session) handleMute(env protocol.Envelope) *protocol.Error {
	var req protocol.Mute
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	if !req.Muted && s.isBlocked(req.TrackID) {
		return insufficient("track %s was muted by a moderator; only a moderator can unmute it", req.TrackID)
	}
	if err := s.media.SetMuted(req.TrackID, req.Muted); err != nil {
		return mediaError(err)
	}
	return nil
}

func (s *Session) handleUnpublish(env protocol.Envelope) *protocol.Error {
	var req protocol.TrackRef
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	if err := s.media.Unpublish(req.TrackID); err != nil {
		return mediaError(err)
	}
	return nil
}

func (s *Session) handleTrackSettings(env protocol.Envelope) *protocol.Error {
	var req protocol.TrackSettings
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	priority := sfu.PriorityNormal
	switch req.Priority {
	case protocol.PriorityHigh:
		priority = sfu.PriorityHigh
	case protocol.PriorityLow:
		priority = sfu.PriorityLow
	}
	settings := sfu.SubscriptionSettings{Paused: req.Paused, MaxLayer: req.MaxLayer, Width: req.Width, Height: req.Height, Priority: priority}
	if err := s.media.SetSubscriptionSettings(req.TrackID, settings); err != nil {
		return mediaError(err)
	}
	return nil
}

func layerSpecs(layers []protocol.Layer) []sfu.LayerSpec {
	if len(layers) == 0 {
		return nil
	}
	out := make([]sfu.LayerSpec, len(layers))
	for i, l := range layers {
		out[i] = sfu.LayerSpec{RID: l.RID, Width: l.Width, Height: l.Height, MaxBitrate: l.MaxBitrate}
	}
	return out
}

// mediaError maps a media-plane error (which already says what failed) to the protocol error the client gets.
func mediaError(err error) *protocol.Error {
	code := protocol.CodeInternal
	switch {
	case errors.Is(err, sfu.ErrInvalidSDP):
		code = protocol.CodeInvalidSDP
	case errors.Is(err, sfu.ErrNegotiation):
		code = protocol.CodeNegotiationFailed
	case errors.Is(err, sfu.ErrUnknownTrack):
		code = protocol.CodeUnknownTrack
	}
	return &protocol.Error{Code: code, Message: err.Error()}
}

func tracksOf(infos []sfu.TrackInfo) []protocol.Track {
	out := make([]protocol.Track, len(infos))
	for i, t := range infos {
		out[i] = trackOf(t)
	}
	return out
}

func trackOf(t sfu.TrackInfo) protocol.Track {
	track := protocol.Track{ID: t.ID, ParticipantID: t.ParticipantID, Kind: t.Kind, Source: string(t.Source),
		Muted: t.Muted, Codec: t.Codec, Simulcast: t.Simulcast}
	for _, l := range t.Layers {
		track.Layers = append(track.Layers, protocol.Layer{RID: l.RID, Width: l.Width, Height: l.Height, MaxBitrate: l.MaxBitrate})
	}
	return track
}

func nonNil(s []protocol.ICEServer) []protocol.ICEServer {
	if s == nil {
		return []protocol.ICEServer{}
	}
	return s
}
