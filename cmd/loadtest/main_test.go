package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/loadtest"
)

func TestParseRunFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(*testing.T, runConfig)
	}{
		{"defaults: livestream", nil, "", func(t *testing.T, c runConfig) {
			o := c.opts
			if o.Name != "livestream" || o.Publishers != 1 || o.Subscribers != 30 || o.URL != "ws://127.0.0.1:7880/ws" ||
				o.Duration != 20*time.Second || !o.Simulcast || c.th.MaxLoss != 0.01 || c.th.MaxFailures != 0 || o.Progress == nil {
				t.Errorf("%+v %+v", o, c.th)
			}
		}},
		{"preset, scale and overrides", []string{"-preset", "meeting", "-scale", "0.5", "-subscribers", "0", "-layer", "q",
			"-layout", "speaker", "-simulcast=false", "-duration", "3s", "-join-rate", "5", "-seed", "9", "-json", "-html", "x.html",
			"-max-loss", "0.05", "-max-failures", "2", "-quiet", "-unpaced"}, "", func(t *testing.T, c runConfig) {
			o := c.opts
			if o.Name != "meeting" || o.Publishers != 3 || o.Subscribers != 0 || o.Layer != "q" || o.Layout != loadtest.LayoutSpeaker ||
				o.Simulcast || o.Duration != 3*time.Second || o.JoinRate != 5 || o.Seed != 9 || !c.json || c.html != "x.html" ||
				c.th.MaxLoss != 0.05 || c.th.MaxFailures != 2 || o.Progress != nil || !o.Unpaced {
				t.Errorf("%+v %+v", o, c)
			}
		}},
		{"consultation keeps its layer", []string{"-preset", "consultation", "-metrics", "off"}, "", func(t *testing.T, c runConfig) {
			if c.opts.Layer != "f" || c.opts.Rooms != 20 || c.opts.MetricsURL != "off" {
				t.Errorf("%+v", c.opts)
			}
		}},
		{"unknown preset", []string{"-preset", "party"}, "no preset", nil},
		{"bad layer", []string{"-layer", "x"}, "layer", nil},
		{"remote server", []string{"-url", "ws://192.0.2.1:7880/ws"}, "loopback", nil},
		{"bad scale", []string{"-scale", "0"}, "scale", nil},
		{"bad log level", []string{"-log-level", "loud"}, "log-level", nil},
		{"stray argument", []string{"now"}, "unexpected argument", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseRunFlags(tt.args, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one about %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestParseBenchFlags(t *testing.T) {
	cfg, err := parseBenchFlags([]string{"-server", "s", "-presets", "meeting, livestream", "-profile", "p.pprof", "-duration", "5s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.server != "s" || len(cfg.presets) != 2 || cfg.presets[0] != "meeting" || cfg.profile != "p.pprof" || cfg.sf.duration != 5*time.Second {
		t.Errorf("%+v", cfg)
	}
	for _, bad := range [][]string{{"-presets", "party"}, {"-presets", ","}, {"extra"}} {
		if _, err := parseBenchFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func startNode(t *testing.T) *node.Node { return nodetest.Start(t, nil) }

// TestRun: a short meeting against an in-process server passes, with JSON on stdout and an HTML page.
func TestRun(t *testing.T) {
	n := startNode(t)
	html := filepath.Join(t.TempDir(), "out.html")
	url := strings.Replace(n.URL(), "http://", "ws://", 1) + "/ws"
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", url, "-preset", "meeting", "-publishers", "2", "-subscribers", "1",
		"-duration", "2s", "-join-rate", "20", "-json", "-html", html}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	var rep loadtest.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v", err)
	}
	if rep.Participants.Joined != 3 || rep.Tracks.Received != rep.Tracks.Expected || !rep.Server.Scraped {
		t.Errorf("participants %+v tracks %+v server %+v", rep.Participants, rep.Tracks, rep.Server)
	}
	if !strings.Contains(stderr.String(), "measuring") {
		t.Errorf("no progress line on stderr:\n%s", stderr.String())
	}
	page, err := os.ReadFile(html)
	if err != nil || !bytes.Contains(page, []byte("<svg")) {
		t.Errorf("html report: %v", err)
	}
}

// TestRunFails: a run that nobody can join exits 1 and says why.
func TestRunFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", "ws://" + addr + "/ws", "-scale", "0.1", "-duration", "1s", "-join-rate", "50", "-quiet"}, &stdout, &stderr)
	if code != exitFailed || !strings.Contains(stderr.String(), "FAILED") || !strings.Contains(stdout.String(), "failed 4") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if code := run(context.Background(), []string{"-preset", "party"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("bad preset: exit %d", code)
	}
}

// TestBench builds the server, benchmarks a tiny livestream with a CPU profile, and stops the server.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	build := exec.Command("go", "build", "-o", bin, "github.com/huddlehq/huddle/cmd/server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	prof := filepath.Join(dir, "cpu.pprof")
	code := run(context.Background(), []string{"bench", "-server", bin, "-presets", "livestream", "-scale", "0.1", "-duration", "2s",
		"-join-rate", "20", "-profile", prof, "-profile-preset", "livestream", "-out", dir, "-quiet", "-runs", "2"}, &stdout, &stderr)
	out := stdout.String()
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, want := range []string{"packets/CPU-s", "livestream #1", "livestream #2", "livestream median of 2", "92000 (", "CPU profile of the server", "flat%"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s\nstderr:\n%s", want, out, stderr.String())
		}
	}
	for _, f := range []string{prof, filepath.Join(dir, "livestream.json"), filepath.Join(dir, "livestream.html")} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if n := strings.Count(out, "CPU profile of the server"); n != 1 {
		t.Errorf("%d profiles printed, want 1 (the first run)", n)
	}
	if code := run(context.Background(), []string{"bench", "-server", filepath.Join(dir, "missing")}, &stdout, &stderr); code != exitUsage {
		t.Errorf("missing server binary: exit %d", code)
	}
	if code := run(context.Background(), []string{"bench", "-runs", "0"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("-runs 0: exit %d", code)
	}
}

func TestBenchSummaryMedian(t *testing.T) {
	report := func(preset string, rate float64) *loadtest.Report {
		r := &loadtest.Report{Scenario: preset}
		r.Server.PacketsPerCPUS = rate
		return r
	}
	tests := []struct {
		name  string
		rates []float64
		runs  int
		want  []string
	}{
		{"one run judges that run", []float64{93_000}, 1, []string{"92000 (met)"}},
		{"odd runs: the middle one", []float64{80_000, 120_000, 95_000}, 3, []string{"livestream median of 3", "95000", "92000 (met), runs 80000–120000"}},
		{"even runs: the mean of the middle two", []float64{90_000, 80_000, 93_000, 100_000}, 4, []string{"91500", "92000 (below), runs 80000–100000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var reps []*loadtest.Report
			for _, r := range tc.rates {
				reps = append(reps, report("livestream", r))
			}
			var out bytes.Buffer
			printSummary(reps, tc.runs, &out)
			for _, want := range tc.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("no %q in\n%s", want, out.String())
				}
			}
		})
	}
}
