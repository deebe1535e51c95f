package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/protocol"
	"github.com/huddlehq/huddle/signaling/recording"

	"github.com/huddlehq/huddle/sfu/record/ffmpegtest"
)

// makeClips encodes real VP8 (in IVF) and Opus (in Ogg) clips of secs seconds with ffmpeg.
func makeClips(t *testing.T, ffmpeg string, secs int, videoBitrate string) (video, audio *media.Clip) {
	t.Helper()
	dir := t.TempDir()
	ivf, ogg := filepath.Join(dir, "v.ivf"), filepath.Join(dir, "a.ogg")
	for _, args := range [][]string{
		// Noise keeps the encoder at its bitrate (a test pattern alone compresses to a trickle).
		{"-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=15", "-vf", "noise=alls=40:allf=t", "-t", strconv.Itoa(secs),
			"-c:v", "libvpx", "-g", "30", "-b:v", videoBitrate, "-deadline", "realtime", "-cpu-used", "8", ivf},
		{"-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", strconv.Itoa(secs), "-c:a", "libopus", "-b:a", "32k", ogg},
	} {
		if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	var err error
	if video, err = media.LoadClip(ivf); err != nil {
		t.Fatal(err)
	}
	if audio, err = media.LoadClip(ogg); err != nil {
		t.Fatal(err)
	}
	return video, audio
}

// publishClips publishes the clips, looping, as p's camera and microphone until the test ends, and
// returns the server's track ids.
func (p *peer) publishClips(video, audio *media.Clip) []string {
	p.t.Helper()
	v, err := media.NewReplay(video, "video", p.name)
	if err != nil {
		p.t.Fatal(err)
	}
	a, err := media.NewReplay(audio, "audio", p.name)
	if err != nil {
		p.t.Fatal(err)
	}
	assigned, err := p.c.Publish(ctx5(p.t), client.LocalTrack{Track: a.Track(), Source: "microphone"},
		client.LocalTrack{Track: v.Track(), Source: "camera", OnKeyframeRequest: v.RequestKeyframe})
	if err != nil {
		p.t.Fatalf("%s publish: %v", p.name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.t.Cleanup(cancel)
	go func() { _ = v.Run(ctx) }()
	go func() { _ = a.Run(ctx) }()
	ids := make([]string, len(assigned))
	for i, as := range assigned {
		ids[i] = as.TrackID
	}
	return ids
}

func startRecordingNode(t *testing.T, edit func(*node.RecordingConfig)) (*node.Node, string) {
	dir := t.TempDir()
	n := startKeyedNode(t, func(c *node.Config) {
		c.Recording = node.RecordingConfig{Dir: dir, MinFreeMB: 1, CheckInterval: 200 * time.Millisecond}
		if edit != nil {
			edit(&c.Recording)
		}
	})
	return n, dir
}

// recordingDirs lists the recordings made in dir.
func recordingDirs(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// TestRecordConsultation: a clinician records a 10 s consultation with a patient. The patient is asked
// first; a no keeps the call unrecorded and writes nothing; after a yes each track is written as a file
// ffprobe reads with the right codec and a duration within 0.5 s of the time it was recorded, that
// ffmpeg decodes without an error, and the manifest lists both participants with the patient's
// consent. A patient cannot start a recording.
func TestRecordConsultation(t *testing.T) {
	ffmpeg, ffprobe := ffmpegtest.Tools(t)
	yes, no := true, false
	video, audio := makeClips(t, ffmpeg, 4, "300k")
	n, dir := startRecordingNode(t, nil)
	consult := roomPolicy(auth.Policy{Mode: auth.ModeConsultation, NoLobby: true})
	named := func(name string) func(*auth.Claims) {
		return func(c *auth.Claims) { consult(c); c.Name = name }
	}
	doc, dj := mustJoinToken(t, n, "consult-9", "Dr Ada", mint(t, n, "consult-9", "dr-ada", auth.RoleHost, named("Dr Ada")))
	pat, pj := mustJoinToken(t, n, "consult-9", "Pat", mint(t, n, "consult-9", "pat", auth.RoleAttendee, named("Pat")))
	if !dj.Grants.Record || pj.Grants.Record {
		t.Fatalf("record grant: host %v, patient %v; want the host's only", dj.Grants.Record, pj.Grants.Record)
	}
	doc.publishClips(video, audio)
	pat.publishClips(video, audio)

	if _, err := pat.c.Request(ctx5(t), protocol.TypeStartRecording, struct{}{}); errorCode(err) != protocol.CodeInsufficientGrant {
		t.Fatalf("patient starts a recording: %v, want insufficient_grant", err)
	}
	// A no: nothing is written and the call goes on.
	if _, err := doc.c.Request(ctx5(t), protocol.TypeStartRecording, struct{}{}); err != nil {
		t.Fatal(err)
	}
	patID := pat.c.ParticipantID()
	pat.waitRoomState(func(s protocol.RoomState) bool {
		return s.Recording.State == protocol.RecordingAwaiting && len(s.Recording.WaitingFor) == 1 && s.Recording.WaitingFor[0] == patID
	})
	if _, err := pat.c.Request(ctx5(t), protocol.TypeRecordingConsent, protocol.RecordingConsent{Accept: &no}); err != nil {
		t.Fatal(err)
	}
	doc.waitRoomState(func(s protocol.RoomState) bool {
		return s.Recording.State == protocol.RecordingOff && s.Recording.Ended == protocol.RecordingEndedDeclined && s.Recording.DeclinedBy == "Pat"
	})
	if dirs := recordingDirs(t, dir); len(dirs) != 0 {
		t.Fatalf("a declined recording wrote %v", dirs)
	}

	// A yes: recording.
	if _, err := doc.c.Request(ctx5(t), protocol.TypeStartRecording, struct{}{}); err != nil {
		t.Fatal(err)
	}
	pat.waitRoomState(func(s protocol.RoomState) bool { return len(s.Recording.WaitingFor) == 1 })
	if _, err := pat.c.Request(ctx5(t), protocol.TypeRecordingConsent, protocol.RecordingConsent{Accept: &yes}); err != nil {
		t.Fatal(err)
	}
	pat.waitRoomState(func(s protocol.RoomState) bool { return s.Recording.State == protocol.RecordingOn })
	started := time.Now()
	time.Sleep(10 * time.Second)
	if _, err := doc.c.Request(ctx5(t), protocol.TypeStopRecording, struct{}{}); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	doc.waitRoomState(func(s protocol.RoomState) bool { return s.Recording.State == protocol.RecordingOff })

	var m recording.Manifest
	eventually(t, 10*time.Second, "the manifest", func() bool {
		dirs := recordingDirs(t, dir)
		if len(dirs) != 1 {
			return false
		}
		var err error
		m, err = recording.ReadManifest(dirs[0])
		return err == nil
	})
	recDir := recordingDirs(t, dir)[0]
	if len(m.Tracks) != 4 || m.Ended != "stopped" || !m.ConsentAsked || m.StartedBy != "Dr Ada" {
		t.Fatalf("manifest: %d tracks, ended %q, consent asked %v, started by %q; want 4, stopped, true, Dr Ada",
			len(m.Tracks), m.Ended, m.ConsentAsked, m.StartedBy)
	}
	people := map[string]recording.Participant{}
	for _, p := range m.Participants {
		people[p.ID] = p
	}
	if p := people[patID]; !p.Consented || p.ConsentedAt == nil || p.Name != "Pat" {
		t.Errorf("manifest: patient %+v, want consented", p)
	}
	if p, ok := people[doc.c.ParticipantID()]; !ok || p.Name != "Dr Ada" {
		t.Errorf("manifest: clinician %+v missing", p)
	}
	span := stopped.Sub(started).Seconds()
	for _, tr := range m.Tracks {
		path := filepath.Join(recDir, tr.File)
		codec, dur := probe(t, ffprobe, path)
		want := map[string]string{"audio": "opus", "video": "vp8"}[tr.Kind]
		if codec != want {
			t.Errorf("%s: codec %q, want %q", tr.File, codec, want)
		}
		// What the file can hold: from its first frame, at most the recorded span after its start.
		if wantDur := span - tr.StartOffset; dur < wantDur-0.5 || dur > wantDur+0.5 {
			t.Errorf("%s: %.2f s long, want %.2f ± 0.5 s (recorded %.2f s, the track from %.2f s)", tr.File, dur, wantDur, span, tr.StartOffset)
		}
		var stderr bytes.Buffer
		cmd := exec.Command(ffmpeg, "-v", "error", "-i", path, "-f", "null", "-")
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("%s: decoding: %v %s", tr.File, err, stderr.String())
		}
	}
	t.Logf("recorded %.2f s; tracks: %+v", span, m.Tracks)
}

// probe returns the first stream's codec and the file's duration in seconds, as ffprobe reads them.
func probe(t *testing.T, ffprobe, path string) (string, float64) {
	t.Helper()
	out, err := exec.Command(ffprobe, "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var res struct {
		Streams []struct {
			Codec string `json:"codec_name"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Streams) == 0 {
		t.Fatalf("ffprobe %s: %v %s", path, err, out)
	}
	d, _ := strconv.ParseFloat(res.Format.Duration, 64)
	return res.Streams[0].Codec, d
}

// TestRecordingStopsWhenTheDiskFills: a recording (started through the admin API) that reaches its cap (a quota the test sets), or a
// disk that runs low (a tiny tmpfs, where the test may mount one), stops with disk_full, which the host
// sees; the call goes on and the files written so far are readable.
func TestRecordingStopsWhenTheDiskFills(t *testing.T) {
	ffmpeg, _ := ffmpegtest.Tools(t)
	video, audio := makeClips(t, ffmpeg, 4, "2M")
	cases := map[string]func(t *testing.T) func(*node.RecordingConfig){
		"quota": func(*testing.T) func(*node.RecordingConfig) {
			return func(c *node.RecordingConfig) { c.MaxMB = 1 }
		},
		"tmpfs": func(t *testing.T) func(*node.RecordingConfig) {
			small := t.TempDir()
			if err := syscall.Mount("tmpfs", small, "tmpfs", 0, "size=3m"); err != nil {
				t.Skipf("cannot mount a tmpfs here (%v); the quota case covers the stop", err)
			}
			t.Cleanup(func() { _ = syscall.Unmount(small, 0) })
			return func(c *node.RecordingConfig) { c.Dir, c.MinFreeMB = small, 2 }
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			edit := setup(t)
			n, _ := startRecordingNode(t, edit)
			host, _ := mustJoinToken(t, n, "lecture", "Teacher", mint(t, n, "lecture", "teacher", auth.RoleHost, nil))
			student, _ := mustJoinToken(t, n, "lecture", "Student", mint(t, n, "lecture", "student", auth.RoleAttendee, nil))
			ids := host.publishClips(video, audio)
			// Started through the admin API: a lecture hall's operator, not the teacher.
			if state, err := adminClient(t, n).SetRecording(ctx5(t), "lecture", true); err != nil || state != protocol.RecordingOn {
				t.Fatalf("admin starts the recording: %q, %v", state, err)
			}
			var st protocol.RoomState
			host.waitEvent(60*time.Second, protocol.TypeRoomState, func(env protocol.Envelope) bool {
				st = protocol.RoomState{}
				return json.Unmarshal(env.Data, &st) == nil && st.Recording.Ended == protocol.RecordingEndedDiskFull
			})
			if st.Recording.State != protocol.RecordingOff {
				t.Fatalf("after a full disk the recording is %q", st.Recording.State)
			}
			got := map[string]int64{}
			for _, id := range ids {
				got[id] = student.packets(id)
			}
			eventually(t, 10*time.Second, "the call going on after the disk filled", func() bool {
				for _, id := range ids {
					if student.packets(id) <= got[id]+10 {
						return false
					}
				}
				return true
			})
			if strings.Contains(name, "tmpfs") {
				t.Logf("stopped with %v", st.Recording)
			}
		})
	}
}
