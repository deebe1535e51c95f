package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/signaling/recording"

	"github.com/huddlehq/huddle/sfu/record/ffmpegtest"
)

// runTool runs a tool to make or check media, failing the test with its output on error.
func runTool(t *testing.T, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String()
}

// writeTestManifest writes m as dir's manifest.json.
func writeTestManifest(t *testing.T, dir string, m recording.Manifest) {
	t.Helper()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, recording.ManifestName), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// testManifest is a recording of Alice's camera and, from 0.5 s on, her microphone.
func testManifest(videoFile, audioFile string) recording.Manifest {
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	return recording.Manifest{
		ID: "RC_test", Room: "standup", StartedAt: start, EndedAt: start.Add(3 * time.Second), Ended: "stopped",
		StartedBy:    "Alice",
		Participants: []recording.Participant{{ID: "PA_alice", Name: "Alice", Identity: "alice", Role: "host"}},
		Tracks: []recording.Track{
			{File: videoFile, ParticipantID: "PA_alice", TrackID: "TR_v", Kind: "video", Source: "camera",
				Codec: "video/VP8", StartOffset: 0, Duration: 2, Width: 320, Height: 240},
			{File: audioFile, ParticipantID: "PA_alice", TrackID: "TR_a", Kind: "audio", Source: "microphone",
				Codec: "audio/opus", StartOffset: 0.5, Duration: 2},
		},
	}
}

// TestRecordingMux: a recording of a 2 s VP8 camera and a 2 s Opus microphone starting 0.5 s later, made
// with ffmpeg, is muxed into DIR/recording.mkv with both streams (copied, titled, the audio delayed), which
// ffprobe reads and ffmpeg decodes without a word; a second mux refuses to overwrite it, and -f does.
func TestRecordingMux(t *testing.T) {
	ffmpeg, ffprobe := ffmpegtest.Tools(t)
	dir := t.TempDir()
	runTool(t, ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
		"-t", "2", "-c:v", "libvpx", filepath.Join(dir, "alice-camera.webm"))
	runTool(t, ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine", "-t", "2", "-c:a", "libopus",
		filepath.Join(dir, "alice-microphone.webm"))
	writeTestManifest(t, dir, testManifest("alice-camera.webm", "alice-microphone.webm"))

	var stdout, stderr bytes.Buffer
	if err := run([]string{"recording", "mux", dir}, &stdout, &stderr); err != nil {
		t.Fatalf("mux: %v\nstderr:\n%s", err, stderr.String())
	}
	out := filepath.Join(dir, defaultMuxName)
	for _, want := range []string{"wrote " + out + ": 2 tracks", "Alice (camera)", "Alice (microphone)", "+0.5s"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.part")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	probe, _ := runTool(t, ffprobe, "-v", "error", "-show_entries", "stream=codec_name,codec_type,start_time:stream_tags=title",
		"-of", "json", out)
	var got struct {
		Streams []struct {
			CodecName string            `json:"codec_name"`
			StartTime string            `json:"start_time"`
			Tags      map[string]string `json:"tags"`
		} `json:"streams"`
	}
	if err := json.Unmarshal([]byte(probe), &got); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, probe)
	}
	var codecs []string
	for _, s := range got.Streams {
		codecs = append(codecs, s.CodecName)
		var title string
		for k, v := range s.Tags { // Matroska's tag is TITLE or title, depending on the ffmpeg
			if strings.EqualFold(k, "title") {
				title = v
			}
		}
		var wantTitle string
		var wantStart float64
		switch s.CodecName {
		case "vp8":
			wantTitle, wantStart = "Alice (camera)", 0
		case "opus":
			wantTitle, wantStart = "Alice (microphone)", 0.5
		}
		if title != wantTitle {
			t.Errorf("%s stream titled %q, want %q", s.CodecName, title, wantTitle)
		}
		var start float64
		if err := json.Unmarshal([]byte(s.StartTime), &start); err != nil {
			t.Errorf("%s stream start_time %q: %v", s.CodecName, s.StartTime, err)
		} else if math.Abs(start-wantStart) > 0.05 {
			t.Errorf("%s stream starts at %gs, want %gs", s.CodecName, start, wantStart)
		}
	}
	slices.Sort(codecs)
	if !slices.Equal(codecs, []string{"opus", "vp8"}) {
		t.Errorf("streams %v, want one opus and one vp8\n%s", codecs, probe)
	}
	if o, e := runTool(t, ffmpeg, "-nostdin", "-v", "error", "-i", out, "-f", "null", "-"); o != "" || e != "" {
		t.Errorf("decoding %s: ffmpeg says:\n%s%s", out, o, e)
	}

	// Again: OUT exists. Without -f it is refused and left alone; with -f it is replaced.
	before, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	err = run([]string{"recording", "mux", dir}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "exists") || !strings.Contains(err.Error(), "-f") {
		t.Errorf("mux over an existing OUT: err %v, want one saying it exists and naming -f", err)
	}
	if after, err := os.Stat(out); err != nil || !os.SameFile(before, after) || after.ModTime() != before.ModTime() {
		t.Errorf("the refused mux touched %s: %v", out, err)
	}
	// -o elsewhere, flags after DIR, -ffmpeg given: a second, same file.
	other := filepath.Join(t.TempDir(), "-odd name.mkv")
	if err := run([]string{"recording", "mux", dir, "-ffmpeg", ffmpeg, "-o", other}, &stdout, &stderr); err != nil {
		t.Fatalf("mux -o %s: %v\nstderr:\n%s", other, err, stderr.String())
	}
	if _, err := os.Stat(other); err != nil {
		t.Error(err)
	}
	if err := run([]string{"recording", "mux", "-f", dir}, &stdout, &stderr); err != nil {
		t.Fatalf("mux -f: %v\nstderr:\n%s", err, stderr.String())
	}
	if o, e := runTool(t, ffmpeg, "-nostdin", "-v", "error", "-i", out, "-f", "null", "-"); o != "" || e != "" {
		t.Errorf("decoding the overwritten %s: ffmpeg says:\n%s%s", out, o, e)
	}
}

// fakeFFmpeg writes a script standing in for ffmpeg: it leaves a mark when run, prints what it is given to
// say on stderr, and exits with code.
func fakeFFmpeg(t *testing.T, say string, code string) (path, mark string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake ffmpeg is a shell script")
	}
	dir := t.TempDir()
	path, mark = filepath.Join(dir, "ffmpeg"), filepath.Join(dir, "ran")
	script := "#!/bin/sh\n: > '" + mark + "'\nprintf '%s' '" + say + "' >&2\nexit " + code + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, mark
}

// TestRecordingMuxRefusals: a manifest is input. A file name that leaves the directory or reads as an
// option, a missing file, an existing OUT without -f, no manifest: each is refused with an error naming it,
// before ffmpeg runs.
func TestRecordingMuxRefusals(t *testing.T) {
	cases := []struct {
		name     string
		files    []string // created in DIR
		manifest *recording.Manifest
		args     []string // after mux; DIR is appended
		wantErr  []string
	}{
		{name: "parent dir", files: []string{"a.webm"}, manifest: ptr(testManifest("a.webm", "../x.webm")),
			wantErr: []string{`"../x.webm"`, "path separator"}},
		{name: "dot dot", files: []string{"a.webm"}, manifest: ptr(testManifest("a.webm", "..")),
			wantErr: []string{`".."`}},
		{name: "option", files: []string{"a.webm", "-i.webm"}, manifest: ptr(testManifest("a.webm", "-i.webm")),
			wantErr: []string{`"-i.webm"`, "starts with '-'"}},
		{name: "absolute", files: []string{"a.webm"}, manifest: ptr(testManifest("a.webm", "/etc/passwd")),
			wantErr: []string{`"/etc/passwd"`}},
		{name: "backslash", files: []string{"a.webm"}, manifest: ptr(testManifest("a.webm", `..\x.webm`)),
			wantErr: []string{`"..\\x.webm"`}},
		{name: "empty name", files: []string{"a.webm"}, manifest: ptr(testManifest("a.webm", "")),
			wantErr: []string{"no file name"}},
		{name: "missing file", files: []string{"a.webm"}, manifest: ptr(testManifest("a.webm", "b.webm")),
			wantErr: []string{`"b.webm"`, "missing"}},
		{name: "listed twice", files: []string{"a.webm"}, manifest: ptr(testManifest("a.webm", "a.webm")),
			wantErr: []string{`"a.webm"`, "twice"}},
		{name: "the manifest", files: []string{"a.webm"}, manifest: ptr(testManifest("a.webm", recording.ManifestName)),
			wantErr: []string{recording.ManifestName}},
		{name: "output is an input", files: []string{"a.webm", "b.webm"}, manifest: ptr(testManifest("a.webm", "b.webm")),
			args: []string{"-f", "-o", "b.webm"}, wantErr: []string{`"b.webm"`, "output"}},
		{name: "no tracks", manifest: &recording.Manifest{ID: "RC_empty"}, wantErr: []string{"no tracks"}},
		{name: "existing OUT", files: []string{"a.webm", "b.webm", defaultMuxName}, manifest: ptr(testManifest("a.webm", "b.webm")),
			wantErr: []string{defaultMuxName, "exists", "-f"}},
		{name: "no manifest", files: []string{"a.webm"}, wantErr: []string{"manifest.json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("not really media"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.manifest != nil {
				writeTestManifest(t, dir, *tc.manifest)
			}
			ffmpeg, mark := fakeFFmpeg(t, "", "0")
			args := append([]string{"mux", "-ffmpeg", ffmpeg}, tc.args...)
			if slices.Contains(tc.args, "-o") { // -o relative to DIR
				t.Chdir(dir)
			}
			var stdout, stderr bytes.Buffer
			err := cmdRecording(append(args, dir), &stdout, &stderr)
			if err == nil {
				t.Fatalf("no error; stdout:\n%s", stdout.String())
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if _, err := os.Stat(mark); err == nil {
				t.Error("ffmpeg ran")
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestRecordingMuxFFmpeg: without ffmpeg the error says what to install; when ffmpeg fails, the error holds
// the end of its stderr and no output (nor temporary file) is left.
func TestRecordingMuxFFmpeg(t *testing.T) {
	newDir := func(t *testing.T) string {
		dir := t.TempDir()
		for _, f := range []string{"a.webm", "b.webm"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		writeTestManifest(t, dir, testManifest("a.webm", "b.webm"))
		return dir
	}
	t.Run("not on the PATH", func(t *testing.T) {
		dir := newDir(t)
		t.Setenv("PATH", t.TempDir())
		err := cmdRecording([]string{"mux", dir}, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "install ffmpeg (Debian: apt-get install ffmpeg)") {
			t.Errorf("err %v, want one saying to install ffmpeg", err)
		}
	})
	t.Run("no such -ffmpeg", func(t *testing.T) {
		dir := newDir(t)
		err := cmdRecording([]string{"mux", "-ffmpeg", filepath.Join(t.TempDir(), "ffmpeg"), dir}, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
			t.Errorf("err %v, want one saying to install ffmpeg", err)
		}
	})
	t.Run("fails", func(t *testing.T) {
		dir := newDir(t)
		var say strings.Builder
		for i := range 50 {
			say.WriteString("line " + string(rune('A'+i%26)) + "\n")
		}
		say.WriteString("b.webm: Invalid data found when processing input\n")
		ffmpeg, mark := fakeFFmpeg(t, say.String(), "1")
		var stdout bytes.Buffer
		err := cmdRecording([]string{"mux", "-ffmpeg", ffmpeg, dir}, &stdout, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "Invalid data found when processing input") {
			t.Fatalf("err %v, want ffmpeg's stderr in it", err)
		}
		if n := strings.Count(err.Error(), "\n"); n > ffmpegTailLines {
			t.Errorf("error has %d lines, want the last %d of ffmpeg's:\n%s", n, ffmpegTailLines, err)
		}
		if _, err := os.Stat(mark); err != nil {
			t.Error("ffmpeg did not run")
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if name := e.Name(); name != "a.webm" && name != "b.webm" && name != recording.ManifestName {
				t.Errorf("left in DIR: %s", name)
			}
		}
		if stdout.Len() > 0 {
			t.Errorf("stdout: %s", stdout.String())
		}
	})
}

// TestRecordingMuxArgs: the ffmpeg command line: every input delayed by its start offset, mapped, copied and
// titled with its participant's name (its id without one) and source, into Matroska, paths as file: URLs.
func TestRecordingMuxArgs(t *testing.T) {
	m := testManifest("cam.webm", "mic.webm")
	m.Tracks = append(m.Tracks, recording.Track{File: "screen.mkv", ParticipantID: "PA_bob", Kind: "video", Source: "screen", StartOffset: 12.25})
	args, titles := ffmpegMuxArgs(m, "/rec/RC_test", "/out/x.mkv")
	want := []string{"-hide_banner", "-nostdin", "-loglevel", "warning", "-y",
		"-itsoffset", "0", "-i", "file:/rec/RC_test/cam.webm",
		"-itsoffset", "0.5", "-i", "file:/rec/RC_test/mic.webm",
		"-itsoffset", "12.25", "-i", "file:/rec/RC_test/screen.mkv",
		"-map", "0", "-map", "1", "-map", "2", "-c", "copy",
		"-metadata", "title=Huddle recording of standup",
		"-metadata:s:0", "title=Alice (camera)", "-metadata:s:1", "title=Alice (microphone)", "-metadata:s:2", "title=PA_bob (screen)",
		"-f", "matroska", "file:/out/x.mkv"}
	if runtime.GOOS == "windows" {
		t.Skip("paths are Unix ones")
	}
	if !slices.Equal(args, want) {
		t.Errorf("args\n%q\nwant\n%q", args, want)
	}
	if !slices.Equal(titles, []string{"Alice (camera)", "Alice (microphone)", "PA_bob (screen)"}) {
		t.Errorf("titles %q", titles)
	}
}

// TestRecordingUsage: no verb, an unknown one, or mux without DIR print the usage and fail; -h prints it
// and succeeds.
func TestRecordingUsage(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr bool
	}{
		{args: []string{"recording"}, wantErr: true},
		{args: []string{"recording", "play", "x"}, wantErr: true},
		{args: []string{"recording", "mux"}, wantErr: true},
		{args: []string{"recording", "mux", "a", "b"}, wantErr: true},
		{args: []string{"recording", "-h"}},
		{args: []string{"recording", "mux", "-h"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tc.args, &stdout, &stderr)
			if (err != nil) != tc.wantErr {
				t.Errorf("err %v, want error %v", err, tc.wantErr)
			}
			if !strings.Contains(stderr.String(), "usage: server recording mux [-o OUT] [-f] [-ffmpeg PATH] DIR") {
				t.Errorf("stderr lacks the usage:\n%s", stderr.String())
			}
		})
	}
	if err := cmdRecording([]string{"help"}, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("help: err %v, want flag.ErrHelp", err)
	}
}
