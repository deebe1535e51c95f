package signaling

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
	"github.com/huddlehq/huddle/signaling/recording"
	"github.com/huddlehq/huddle/signaling/webhook"
)

// Recording a call, the room's side (PROTOCOL.md "Recording"): who may start it, whose consent it
// waits for, whose tracks go into it. The state lives in the room under room.mu and is part of the
// room's shared state, so every member's indicator shows the same thing; the files are written by
// package recording on its own goroutine. In a consultation the members without the moderate grant
// (the patients) are asked first, and someone who comes in while it runs is asked too: nobody who
// was asked is recorded without having said yes.

// roomRecording is the room's recording state; room.mu guards it.
type roomRecording struct {
	state      string // protocol.RecordingOff, RecordingAwaiting or RecordingOn
	askConsent bool   // a consultation: patients are asked
	startedBy  string
	startedAt  time.Time
	waitingFor []string // participant ids asked, not yet answered
	consented  []string // participant ids who said yes
	ended      string   // why the last one ended or did not start
	declinedBy string
	active     *recording.Recording
}

// recordingViewLocked is the recording as members see it in the room's state.
func (r *room) recordingViewLocked() protocol.Recording {
	rec := r.rec
	v := protocol.Recording{State: rec.state, StartedBy: rec.startedBy, Ended: rec.ended, DeclinedBy: rec.declinedBy,
		WaitingFor: slices.Clone(rec.waitingFor), Consented: slices.Clone(rec.consented)}
	if rec.state == protocol.RecordingOn {
		v.StartedAt = rec.startedAt.UTC().Format(time.RFC3339)
	}
	return v
}

// needsConsentLocked reports whether member m must say yes before its tracks are recorded.
func (r *room) needsConsentLocked(m *Session) bool {
	return r.rec.askConsent && !m.hidden && !m.grants().Moderate
}

// recordedLocked reports whether m's tracks go into the running recording.
func (r *room) recordedLocked(m *Session) bool {
	return !r.needsConsentLocked(m) || slices.Contains(r.rec.consented, m.participantID)
}

func (s *Session) handleStartRecording(env protocol.Envelope) *protocol.Error {
	if !s.grants().Record {
		return insufficient("recording needs the record grant")
	}
	asking, perr := s.room.startRecording(s.name, func() { s.reply(protocol.TypeAck, env.ID, struct{}{}) })
	if perr != nil {
		return perr
	}
	s.log.Info("recording requested", "asking", asking)
	return nil
}

func (s *Session) handleStopRecording(env protocol.Envelope) *protocol.Error {
	if !s.grants().Record {
		return insufficient("stopping a recording needs the record grant")
	}
	return s.room.stopRecording(func() { s.reply(protocol.TypeAck, env.ID, struct{}{}) })
}

// startRecording starts recording, or asks the patients first; ack runs under the room's lock before
// the members hear of it. It returns how many are asked.
func (r *room) startRecording(by string, ack func()) (int, *protocol.Error) {
	recorder := r.srv.cfg.Recorder
	if recorder == nil {
		return 0, protocol.Errorf(protocol.CodeRecordingDisabled, "this server does not record calls (no recording directory is configured)")
	}
	if err := recorder.CheckSpace(); err != nil { // a disk look-up: before the room's lock
		r.srv.log.Warn("recording refused", "room", r.name, "err", err)
		if errors.Is(err, recording.ErrDiskFull) {
			return 0, protocol.Errorf(protocol.CodeDiskFull, "not enough free disk space to record")
		}
		return 0, protocol.Errorf(protocol.CodeInternal, "the recording directory cannot be used")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rec.state != protocol.RecordingOff {
		return 0, protocol.Errorf(protocol.CodeRecordingActive, "the call is already being recorded or waits for consent")
	}
	r.rec = roomRecording{state: protocol.RecordingAwaiting, askConsent: r.policy.Mode == auth.ModeConsultation, startedBy: by}
	for _, m := range r.membersLocked() {
		if r.needsConsentLocked(m) {
			r.rec.waitingFor = append(r.rec.waitingFor, m.participantID)
		}
	}
	ack()
	asking := len(r.rec.waitingFor)
	if asking == 0 {
		r.beginRecordingLocked()
	}
	r.broadcastStateLocked()
	return asking, nil
}

// stopRecording stops the recording or the wait for consent; ack as for startRecording.
func (r *room) stopRecording(ack func()) *protocol.Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rec.state == protocol.RecordingOff {
		return protocol.Errorf(protocol.CodeRecordingInactive, "the call is not being recorded")
	}
	ack()
	r.endRecordingLocked(protocol.RecordingEndedStopped)
	r.broadcastStateLocked()
	return nil
}

// SetRecording implements admin.Directory.
func (s *Server) SetRecording(ctx context.Context, name string, on bool, by string) (string, error) {
	if err := s.roomElsewhere(ctx, name); err != nil {
		return "", err
	}
	r := s.lookup(name)
	if r == nil {
		return "", fmt.Errorf("room %q: %w", name, admin.ErrRoomNotFound)
	}
	var perr *protocol.Error
	if on {
		_, perr = r.startRecording(by, func() {})
	} else {
		perr = r.stopRecording(func() {})
	}
	if perr != nil {
		return "", fmt.Errorf("%w: %s (%s)", admin.ErrInvalid, perr.Message, perr.Code)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec.state, nil
}

func (s *Session) handleRecordingConsent(env protocol.Envelope) *protocol.Error {
	var req protocol.RecordingConsent
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	r := s.room
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.Index(r.rec.waitingFor, s.participantID)
	if i < 0 {
		return protocol.Errorf(protocol.CodeRecordingInactive, "nobody asked for your consent to record")
	}
	r.rec.waitingFor = slices.Delete(r.rec.waitingFor, i, i+1)
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	s.log.Info("recording consent", "accept", *req.Accept)
	switch {
	case *req.Accept:
		r.rec.consented = append(r.rec.consented, s.participantID)
		if r.rec.active != nil {
			r.recordMemberLocked(s)
		} else if len(r.rec.waitingFor) == 0 {
			r.beginRecordingLocked()
		}
	case r.rec.state == protocol.RecordingAwaiting:
		// One patient's no is the answer: the call goes on unrecorded.
		r.rec = roomRecording{ended: protocol.RecordingEndedDeclined, declinedBy: s.name}
	}
	r.broadcastStateLocked()
	return nil
}

// beginRecordingLocked starts writing files: everyone asked has said yes.
func (r *room) beginRecordingLocked() {
	recorder := r.srv.cfg.Recorder
	if recorder == nil {
		return
	}
	rec := recorder.Start(recording.Info{Room: r.name, Mode: r.policy.Mode, StartedBy: r.rec.startedBy, ConsentAsked: r.rec.askConsent},
		func(m recording.Manifest) { r.recordingEnded(m) })
	r.rec.state, r.rec.startedAt, r.rec.active = protocol.RecordingOn, time.Now(), rec
	for _, m := range r.membersLocked() {
		if r.recordedLocked(m) {
			r.recordMemberLocked(m)
		}
	}
}

// recordMemberLocked adds a member and its published tracks to the running recording.
func (r *room) recordMemberLocked(m *Session) {
	rec := r.rec.active
	consented := slices.Contains(r.rec.consented, m.participantID)
	rec.AddParticipant(recording.Participant{ID: m.participantID, Name: m.name, Identity: m.identity, Role: string(m.role)})
	if consented {
		rec.Consent(m.participantID, time.Now())
	}
	media := m.sharedMedia()
	if media == nil {
		return
	}
	for _, t := range media.Published() {
		rec.AddTrack(media, t)
	}
}

// recordTrack adds a track published while the call is recorded, if its publisher is recorded. It
// runs on its own goroutine: the media plane announces tracks with its room locked, and room.mu
// comes before the media plane's locks.
func (r *room) recordTrack(publisher *Session, t sfu.TrackInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rec.active == nil || r.members[publisher.participantID] != publisher || !r.recordedLocked(publisher) {
		return
	}
	if media := publisher.sharedMedia(); media != nil {
		r.rec.active.AddTrack(media, t)
	}
}

// recordNewcomerLocked asks a member who joined a recorded (or about to be) consultation for consent.
func (r *room) recordNewcomerLocked(m *Session) bool {
	if r.rec.state == protocol.RecordingOff {
		return false
	}
	if r.needsConsentLocked(m) {
		r.rec.waitingFor = append(r.rec.waitingFor, m.participantID)
		return true
	}
	if r.rec.active != nil {
		r.recordMemberLocked(m)
	}
	return false
}

// recordLeaverLocked forgets a member who left; when the last one asked leaves, the recording starts
// with those who said yes. True when the state changed.
func (r *room) recordLeaverLocked(participantID string) bool {
	i := slices.Index(r.rec.waitingFor, participantID)
	if i < 0 {
		return false
	}
	r.rec.waitingFor = slices.Delete(r.rec.waitingFor, i, i+1)
	if r.rec.state == protocol.RecordingAwaiting && len(r.rec.waitingFor) == 0 {
		r.beginRecordingLocked()
	}
	return true
}

// endRecordingLocked stops the recording (or the wait for consent); the files close on the
// recording's goroutine.
func (r *room) endRecordingLocked(why string) {
	if r.rec.state == protocol.RecordingOff {
		return
	}
	if r.rec.active != nil {
		r.rec.active.Stop(why)
	}
	r.rec = roomRecording{ended: why}
}

// recordingEnded runs on the recording's goroutine once its files are closed: a recording that ended
// by itself (a full disk, a write error) turns the room's indicator off, and the webhooks hear of it.
func (r *room) recordingEnded(m recording.Manifest) {
	r.mu.Lock()
	rec := r.rec.active
	if rec != nil && rec.ID() == m.ID {
		r.rec = roomRecording{ended: m.Ended}
		r.broadcastStateLocked()
	}
	r.mu.Unlock()
	files := make([]string, 0, len(m.Tracks)+1)
	for _, t := range m.Tracks {
		files = append(files, t.File)
	}
	dir := r.srv.cfg.Recorder.DirOf(m.ID)
	files = append(files, recording.ManifestName)
	r.srv.notify(webhook.Event{Event: webhook.RecordingFinished, Room: webhook.Room{Name: r.name},
		Recording: &webhook.Recording{ID: m.ID, Dir: dir, Files: files, Ended: m.Ended}})
}
