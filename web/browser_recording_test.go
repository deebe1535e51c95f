package web_test

// Recording a consultation with consent (issue 17): the clinician presses
// Record; the patient (on a phone) is asked; a "no" keeps the call going and
// writes nothing; a "yes" shows the recording mark on both sides; Stop ends
// the files, which ffprobe reads.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/recording"

	"github.com/huddlehq/huddle/sfu/record/ffmpegtest"
)

// withRecording makes the node record into dir.
func withRecording(dir string) nodeOption {
	return func(c *node.Config) {
		c.Recording = node.RecordingConfig{Dir: dir, MinFreeMB: 1, CheckInterval: 200 * time.Millisecond}
	}
}

// recordingView is window.huddle.recording().
type recordingView struct {
	State            string `json:"state"`
	IndicatorVisible bool   `json:"indicatorVisible"`
	IndicatorText    string `json:"indicatorText"`
	ConsentOpen      bool   `json:"consentOpen"`
	ButtonText       string `json:"buttonText"`
	ButtonDisabled   bool   `json:"buttonDisabled"`
	ButtonVisible    bool   `json:"buttonVisible"`
}

func waitRecording(tb *tab, cond func(recordingView) bool) (recordingView, error) {
	return waitJS(tb.Ctx, 15*time.Second, 100*time.Millisecond, `window.huddle.recording()`, cond)
}

// TestBrowserRecordingConsent: the consent prompt, a decline, an accept, the
// mark on both sides, and the files after Stop. About 30 s.
func TestBrowserRecordingConsent(t *testing.T) {
	_, ffprobe := ffmpegtest.Tools(t)
	browser := startBrowser(t)
	recDir := t.TempDir()
	n := startNode(t, "", withAPIKey, withRecording(recDir))
	dir := artifactsDir(t)
	const room = "consult-rec"
	consult := &auth.Policy{Mode: auth.ModeConsultation, NoLobby: true}
	clinician := openTab(t, browser, "clinician")
	patient := openTab(t, browser, "patient")

	joinThroughLink(t, clinician, joinLinkURL(n.URL(), room, n.mint(room, "dr-ada", "Dr Ada", auth.RoleHost, consult)), "Dr Ada")
	cv, err := waitRoom(clinician, 15*time.Second, func(v roomView) bool { return v.Room.Moderator })
	if err != nil {
		t.Fatalf("clinician: %v", err)
	}
	joinThroughLink(t, patient, joinLinkURL(n.URL(), room, n.mint(room, "patient-7", "Pat", auth.RoleAttendee, consult)), "Pat")
	pv, err := waitRoom(patient, 15*time.Second, func(v roomView) bool { return v.ParticipantID != "" })
	if err != nil {
		t.Fatalf("patient: %v", err)
	}
	emulatePhone(t, patient, 390, 844)
	for tb, other := range map[*tab]string{clinician: pv.ParticipantID, patient: cv.ParticipantID} {
		if _, err := waitVideoFrom(tb, other, 20*time.Second); err != nil {
			t.Fatalf("tab %s before recording: %v", tb.Name, err)
		}
	}
	if r, err := evalJS[recordingView](patient.Ctx, `window.huddle.recording()`); err != nil || r.ButtonVisible {
		t.Errorf("patient: a Record button (%+v, %v); only the record grant has one", r, err)
	}
	if r, err := waitRecording(clinician, func(r recordingView) bool { return r.ButtonVisible && !r.ButtonDisabled }); err != nil {
		t.Fatalf("clinician: no Record button: %v (%+v)", err, r)
	}

	// Asked, the patient says no: nothing is recorded and the call goes on.
	clickByID(t, clinician, "toggle-recording")
	if r, err := waitRecording(patient, func(r recordingView) bool { return r.ConsentOpen && r.State == "consent" }); err != nil {
		t.Fatalf("patient: no consent prompt: %v (%+v)", err, r)
	}
	if path, err := saveScreenshot(patient.Ctx, dir, "recording-consent-patient-phone"); err == nil {
		t.Logf("the patient's consent prompt: %s", path)
	}
	if _, err := evalJS[bool](patient.Ctx, `(document.querySelector('#recording-consent [data-consent="decline"]').click(), true)`); err != nil {
		t.Fatal(err)
	}
	for _, tb := range []*tab{clinician, patient} {
		if r, err := waitRecording(tb, func(r recordingView) bool { return r.State == "" && !r.ConsentOpen && !r.IndicatorVisible }); err != nil {
			t.Fatalf("tab %s after the patient declined: %v (%+v)", tb.Name, err, r)
		}
	}
	if entries, _ := os.ReadDir(recDir); len(entries) != 0 {
		t.Fatalf("a declined recording wrote %d entries", len(entries))
	}
	for tb, other := range map[*tab]string{clinician: pv.ParticipantID, patient: cv.ParticipantID} {
		if _, err := waitVideoFrom(tb, other, 10*time.Second); err != nil {
			t.Fatalf("tab %s: the call stopped after the decline: %v", tb.Name, err)
		}
	}

	// Asked again, the patient says yes: both see the mark.
	clickByID(t, clinician, "toggle-recording")
	if r, err := waitRecording(patient, func(r recordingView) bool { return r.ConsentOpen }); err != nil {
		t.Fatalf("patient: no consent prompt the second time: %v (%+v)", err, r)
	}
	if _, err := evalJS[bool](patient.Ctx, `(document.querySelector('#recording-consent [data-consent="accept"]').click(), true)`); err != nil {
		t.Fatal(err)
	}
	for _, tb := range []*tab{clinician, patient} {
		r, err := waitRecording(tb, func(r recordingView) bool { return r.State == "recording" && r.IndicatorVisible })
		if err != nil {
			t.Fatalf("tab %s: no recording mark: %v (%+v)", tb.Name, err, r)
		}
		if !strings.Contains(r.IndicatorText, "Recording") {
			t.Errorf("tab %s: the mark says %q", tb.Name, r.IndicatorText)
		}
		if path, err := saveScreenshot(tb.Ctx, dir, "recording-mark-"+tb.Name); err == nil {
			t.Logf("tab %s while recording: %s", tb.Name, path)
		}
	}
	time.Sleep(4 * time.Second)
	clickByID(t, clinician, "toggle-recording") // Stop
	for _, tb := range []*tab{clinician, patient} {
		if r, err := waitRecording(tb, func(r recordingView) bool { return r.State == "" && !r.IndicatorVisible }); err != nil {
			t.Fatalf("tab %s after Stop: %v (%+v)", tb.Name, err, r)
		}
	}

	// The files: one per track, readable, and the manifest with the patient's consent.
	var m recording.Manifest
	var recPath string
	if _, err := waitFor(15*time.Second, func() bool {
		entries, _ := os.ReadDir(recDir)
		if len(entries) != 1 {
			return false
		}
		recPath = filepath.Join(recDir, entries[0].Name())
		m, err = recording.ReadManifest(recPath)
		return err == nil
	}); err != nil {
		t.Fatalf("no manifest after Stop: %v", err)
	}
	kinds := map[string]int{}
	for _, tr := range m.Tracks {
		kinds[tr.Kind]++
		out, err := exec.Command(ffprobe, "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "json",
			filepath.Join(recPath, tr.File)).Output()
		var probe struct {
			Streams []struct {
				Codec string `json:"codec_name"`
			} `json:"streams"`
		}
		if err != nil || json.Unmarshal(out, &probe) != nil || len(probe.Streams) != 1 {
			t.Errorf("%s: ffprobe: %v %s", tr.File, err, out)
			continue
		}
		if want := map[string]string{"audio": "opus", "video": "vp8"}[tr.Kind]; probe.Streams[0].Codec != want {
			t.Errorf("%s: codec %s, want %s", tr.File, probe.Streams[0].Codec, want)
		}
		if tr.Duration < 2 {
			t.Errorf("%s: %.2f s recorded of about 4", tr.File, tr.Duration)
		}
	}
	if kinds["audio"] != 2 || kinds["video"] != 2 {
		t.Errorf("recorded tracks %v, want each person's microphone and camera", kinds)
	}
	consented := false
	for _, p := range m.Participants {
		if p.ID == pv.ParticipantID {
			consented = p.Consented
		}
	}
	if !consented {
		t.Errorf("the manifest does not record the patient's consent: %+v", m.Participants)
	}
	var buf bytes.Buffer
	_ = json.Indent(&buf, mustJSON(t, m.Tracks), "", " ")
	t.Logf("recorded: %s", buf.String())
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
