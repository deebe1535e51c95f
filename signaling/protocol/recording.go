package protocol

import "fmt"

// Recording a call (PROTOCOL.md, "Recording"). A participant with the record grant starts and stops
// it; the room's state (RoomState.Recording) tells every member whether it is on, so every client
// shows the same indicator. In a consultation the patients (admitted members without the moderate
// grant) are asked first: the recording starts once each has accepted, and does not start if one
// declines. Someone who joins while it runs is asked too, and only recorded after accepting.
const (
	TypeStartRecording   = "start_recording"   // client → server (record grant); reply TypeAck
	TypeStopRecording    = "stop_recording"    // client → server (record grant); reply TypeAck
	TypeRecordingConsent = "recording_consent" // client → server, from a member asked; reply TypeAck
)

// Recording states (Recording.State).
const (
	RecordingOff      = ""          // not recording
	RecordingAwaiting = "consent"   // asked the patients; not recording yet
	RecordingOn       = "recording" // files are being written
)

// Why a recording ended or did not start (Recording.Ended).
const (
	RecordingEndedStopped  = "stopped"   // someone with the record grant (or the admin API) stopped it
	RecordingEndedDeclined = "declined"  // a patient declined; the call goes on unrecorded
	RecordingEndedDiskFull = "disk_full" // the recording directory ran low on space (or over its quota)
	RecordingEndedFailed   = "failed"    // the node could not write the files
	RecordingEndedRoom     = "room_ended"
)

// Codes of refused recording requests.
const (
	CodeRecordingDisabled = "recording_disabled" // the node has no recording directory configured
	CodeRecordingActive   = "recording_active"   // start while one is running or awaiting consent
	CodeRecordingInactive = "recording_inactive" // stop with nothing running; consent with nothing asked
	CodeDiskFull          = "disk_full"          // too little free space to start
)

// Recording is the room's recording as every member sees it, in RoomState.
type Recording struct {
	State string `json:"state"` // RecordingOff, RecordingAwaiting or RecordingOn
	// StartedAt is when files started being written (RFC 3339, UTC); "" unless State is RecordingOn.
	StartedAt string `json:"startedAt,omitempty"`
	// StartedBy is the name of who asked for the recording.
	StartedBy string `json:"startedBy,omitempty"`
	// WaitingFor lists the participants asked for consent who have not answered yet (participant ids).
	WaitingFor []string `json:"waitingFor,omitempty"`
	// Consented lists the participants whose consent was asked and given (participant ids).
	Consented []string `json:"consented,omitempty"`
	// Ended says why the last recording ended or did not start (RecordingEnded…), "" before any; with
	// DeclinedBy, the name of the patient who declined.
	Ended      string `json:"ended,omitempty"`
	DeclinedBy string `json:"declinedBy,omitempty"`
}

// RecordingConsent is the data of TypeRecordingConsent.
type RecordingConsent struct {
	Accept *bool `json:"accept"`
}

// Validate checks that accept is given.
func (c *RecordingConsent) Validate() error {
	if c.Accept == nil {
		return fmt.Errorf("accept is missing (true or false)")
	}
	return nil
}
