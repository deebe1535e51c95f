package signaling

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
	"github.com/huddlehq/huddle/signaling/recording"
)

// lastRecording is the recording in the last room_state a socket received (settled), and whether any
// came.
func lastRecording(t *testing.T, ts *testServer, conn *websocket.Conn) (protocol.Recording, bool) {
	t.Helper()
	ts.settle("consult")
	states := ofType[protocol.RoomState](t, untilPong(t, conn), protocol.TypeRoomState)
	if len(states) == 0 {
		return protocol.Recording{}, false
	}
	return states[len(states)-1].Recording, true
}

// TestRecordingConsent: in a consultation every patient present is asked before anything is recorded;
// one who leaves is no longer waited for; someone who comes in while it runs is asked too, and a no
// from them keeps the recording going without them. Refusals carry their codes.
func TestRecordingConsent(t *testing.T) {
	keys := testKeys(t)
	dir := t.TempDir()
	rec, err := recording.New(recording.Config{Dir: dir, CheckEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{Keys: keys, Recorder: rec})
	policy := &auth.Policy{Mode: auth.ModeConsultation, NoLobby: true}
	join := func(identity string, role auth.Role) (*websocket.Conn, string) {
		conn, env := ts.joinAs("consult", mintToken(t, keys, "consult", identity, role, policy))
		if env.Type != protocol.TypeJoined {
			t.Fatalf("%s: %s %s", identity, env.Type, env.Data)
		}
		return conn, decodeData[protocol.Joined](t, env).ParticipantID
	}
	doc, _ := join("doc", auth.RoleHost)
	pat, patID := join("pat", auth.RoleAttendee)
	partner, partnerID := join("partner", auth.RoleAttendee)

	if code := errorCode(t, request(t, pat, protocol.TypeStartRecording, "r0", nil)); code != protocol.CodeInsufficientGrant {
		t.Errorf("patient start: %q, want insufficient_grant", code)
	}
	if code := errorCode(t, request(t, doc, protocol.TypeStopRecording, "r1", nil)); code != protocol.CodeRecordingInactive {
		t.Errorf("stop with nothing running: %q, want recording_inactive", code)
	}
	if code := errorCode(t, request(t, pat, protocol.TypeRecordingConsent, "r2", protocol.RecordingConsent{Accept: ptr(true)})); code != protocol.CodeRecordingInactive {
		t.Errorf("consent nobody asked for: %q, want recording_inactive", code)
	}
	if env := request(t, doc, protocol.TypeStartRecording, "r3", nil); env.Type != protocol.TypeAck {
		t.Fatalf("start: %s %s", env.Type, env.Data)
	}
	if code := errorCode(t, request(t, doc, protocol.TypeStartRecording, "r4", nil)); code != protocol.CodeRecordingActive {
		t.Errorf("second start: %q, want recording_active", code)
	}
	r, _ := lastRecording(t, ts, pat)
	if r.State != protocol.RecordingAwaiting || len(r.WaitingFor) != 2 {
		t.Fatalf("after start: %+v, want waiting for both patients", r)
	}
	_ = partner.Close() // leaves without answering: no longer waited for
	request(t, pat, protocol.TypeRecordingConsent, "r5", protocol.RecordingConsent{Accept: ptr(true)})
	deadline := time.Now().Add(5 * time.Second)
	for r.State != protocol.RecordingOn && time.Now().Before(deadline) {
		r, _ = lastRecording(t, ts, doc)
	}
	if r.State != protocol.RecordingOn || len(r.WaitingFor) != 0 || len(r.Consented) != 1 || r.Consented[0] != patID {
		t.Fatalf("after the yes and the other's leaving: %+v (the partner was %s)", r, partnerID)
	}

	late, lateID := join("late", auth.RoleAttendee)
	r, _ = lastRecording(t, ts, late)
	if r.State != protocol.RecordingOn || len(r.WaitingFor) != 1 || r.WaitingFor[0] != lateID {
		t.Fatalf("a patient joining a running recording: %+v, want asked", r)
	}
	request(t, late, protocol.TypeRecordingConsent, "r6", protocol.RecordingConsent{Accept: ptr(false)})
	r, _ = lastRecording(t, ts, doc)
	if r.State != protocol.RecordingOn || len(r.WaitingFor) != 0 {
		t.Fatalf("after a late no: %+v, want still recording", r)
	}
	if env := request(t, doc, protocol.TypeStopRecording, "r7", nil); env.Type != protocol.TypeAck {
		t.Fatalf("stop: %s %s", env.Type, env.Data)
	}
	r, _ = lastRecording(t, ts, pat)
	if r.State != protocol.RecordingOff || r.Ended != protocol.RecordingEndedStopped {
		t.Fatalf("after stop: %+v", r)
	}
	var m recording.Manifest
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := recordingEntries(dir)
		if len(entries) == 1 {
			if m, err = recording.ReadManifest(entries[0]); err == nil {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || m.Ended != recording.EndedStopped || !m.ConsentAsked {
		t.Fatalf("manifest %+v: %v", m, err)
	}
	for _, p := range m.Participants {
		if p.ID == lateID {
			t.Errorf("the patient who said no is in the manifest: %+v", p)
		}
		if p.ID == patID && !p.Consented {
			t.Errorf("the patient who said yes has no consent in the manifest: %+v", p)
		}
	}
}

// TestRecordingDisabled: without a recording directory a start is refused with its code.
func TestRecordingDisabled(t *testing.T) {
	keys := testKeys(t)
	ts := startServer(t, Config{Keys: keys})
	doc := ts.mustJoin("consult", mintToken(t, keys, "consult", "doc", auth.RoleHost, nil), protocol.TypeJoined)
	if code := errorCode(t, request(t, doc, protocol.TypeStartRecording, "r", nil)); code != protocol.CodeRecordingDisabled {
		t.Errorf("start without a directory: %q, want recording_disabled", code)
	}
}

// recordingEntries lists the recordings' directories in dir.
func recordingEntries(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}
