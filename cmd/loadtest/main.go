// Package main is the load tester: it drives a Huddle server on this host with simulated participants
// (package loadtest) and reports what they received and what the server spent.
//
//	loadtest [flags]          run one scenario against a running server
//	loadtest bench [flags]    start a server binary on free loopback ports, run presets, stop it
//
// It prints a progress line a second to stderr and the report to stdout (a table, or JSON with -json),
// optionally a self-contained HTML page (-html), and exits 1 when the run fails its thresholds
// (-max-loss, -max-failures, -max-missing-tracks), 2 on bad usage.
//
// Locking: main runs one goroutine of its own; loadtest.Run owns everything it starts and returns after
// all of it has ended. Ctrl-C ends the run early, still reporting.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/huddlehq/huddle/loadtest"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the run failed its thresholds
	exitUsage  = 2 // bad flags, options or files
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// The progress line, the logs and a bench's server process all write to stderr from their own
	// goroutines.
	stderr = &syncWriter{w: stderr}
	if len(args) > 0 && args[0] == "bench" {
		return bench(ctx, args[1:], stdout, stderr)
	}
	cfg, err := parseRunFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitUsage
	}
	rep, err := loadtest.Run(ctx, cfg.opts)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitUsage
	}
	rep.Check(cfg.th)
	if err := writeReport(rep, cfg.json, cfg.html, stdout); err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return exitUsage
	}
	if len(rep.Failures) > 0 {
		fmt.Fprintln(stderr, "loadtest: FAILED:", strings.Join(rep.Failures, "; "))
		return exitFailed
	}
	return exitOK
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// runConfig is what the flags of a run say.
type runConfig struct {
	opts loadtest.Options
	th   loadtest.Thresholds
	json bool
	html string
}

// scenarioFlags are the flags shared by a run and bench that shape the scenario and its thresholds.
type scenarioFlags struct {
	fs                                                 *flag.FlagSet
	scale                                              float64
	rooms, publishers, screens, audioPubs, subscribers int
	simulcast, unpaced, quiet                          bool
	layer, layout, videoFile, audioFile, logLevel      string
	transport                                          string
	joinRate                                           float64
	duration, keyframeInterval                         time.Duration
	seed                                               int64
	maxLoss                                            float64
	maxFailures, maxMissing                            int
}

func addScenarioFlags(fs *flag.FlagSet) *scenarioFlags {
	f := &scenarioFlags{fs: fs}
	fs.Float64Var(&f.scale, "scale", 1, "multiply the preset's rooms or participants by this (0.1: a tenth)")
	fs.IntVar(&f.rooms, "rooms", 0, "rooms (overrides the preset)")
	fs.IntVar(&f.publishers, "publishers", 0, "camera+microphone publishers per room (overrides the preset)")
	fs.IntVar(&f.screens, "screen-shares", 0, "publishers per room that also share a screen (overrides the preset)")
	fs.IntVar(&f.audioPubs, "audio-publishers", 0, "microphone-only publishers per room (overrides the preset)")
	fs.IntVar(&f.subscribers, "subscribers", 0, "receive-only subscribers per room (overrides the preset)")
	fs.BoolVar(&f.simulcast, "simulcast", true, "cameras send q/h/f simulcast (150/600/2000 kbps); false: one 2 Mbps layer")
	fs.StringVar(&f.layer, "layer", "", "highest layer every receiver asks for: q, h or f (track_settings maxLayer)")
	fs.StringVar(&f.layout, "layout", "", "receivers' layout: none, speaker or 3x3 (decides width/height/priority per track)")
	fs.Float64Var(&f.joinRate, "join-rate", 0, "participants joining per second (preset: 10)")
	fs.DurationVar(&f.duration, "duration", 0, "how long media is measured once everyone joined (preset: 20s)")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the join order and the sources' phases")
	fs.DurationVar(&f.keyframeInterval, "keyframe-interval", 3*time.Second, "synthetic cameras' keyframe interval")
	fs.BoolVar(&f.unpaced, "unpaced", false, "send each video frame in one burst instead of pacing it like a browser")
	fs.StringVar(&f.videoFile, "video-file", "", "replay this IVF (VP8) file as every camera instead of synthetic video")
	fs.StringVar(&f.audioFile, "audio-file", "", "replay this Ogg Opus file as every microphone instead of synthetic audio")
	fs.Float64Var(&f.maxLoss, "max-loss", 0.01, "fail when the loss after retransmission exceeds this fraction (negative: never)")
	fs.IntVar(&f.maxFailures, "max-failures", 0, "fail when more participants than this fail to join (negative: never)")
	fs.IntVar(&f.maxMissing, "max-missing-tracks", 0, "fail when more expected tracks than this never arrive (negative: never)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress line on stderr")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	fs.StringVar(&f.transport, "transport", "udp", "how every participant's media reaches the server: udp, tcp (ICE/TCP), relay-udp, relay-tcp or relay-tls (TURN; relay-tls needs a certificate this process trusts: SSL_CERT_FILE)")
	return f
}

// apply builds the options of preset with the flags given explicitly on top.
func (f *scenarioFlags) apply(preset string, stderr io.Writer) (loadtest.Options, loadtest.Thresholds, error) {
	o, err := loadtest.PresetOptions(preset)
	if err != nil {
		return o, loadtest.Thresholds{}, err
	}
	if f.scale <= 0 {
		return o, loadtest.Thresholds{}, fmt.Errorf("-scale %v: must be positive", f.scale)
	}
	o = o.Scaled(f.scale)
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	override := func(name string, apply func()) {
		if set[name] {
			apply()
		}
	}
	override("rooms", func() { o.Rooms = f.rooms })
	override("publishers", func() { o.Publishers = f.publishers })
	override("screen-shares", func() { o.ScreenShares = f.screens })
	override("audio-publishers", func() { o.AudioPublishers = f.audioPubs })
	override("subscribers", func() { o.Subscribers = f.subscribers })
	override("simulcast", func() { o.Simulcast = f.simulcast })
	override("layer", func() { o.Layer = f.layer })
	override("layout", func() { o.Layout = loadtest.Layout(f.layout) })
	override("join-rate", func() { o.JoinRate = f.joinRate })
	override("duration", func() { o.Duration = f.duration })
	o.Seed, o.KeyframeInterval, o.Unpaced = f.seed, f.keyframeInterval, f.unpaced
	o.VideoFile, o.AudioFile, o.Transport = f.videoFile, f.audioFile, f.transport
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return o, loadtest.Thresholds{}, fmt.Errorf("-log-level %q: %w", f.logLevel, err)
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if !f.quiet {
		o.Progress = stderr
	}
	return o, loadtest.Thresholds{MaxLoss: f.maxLoss, MaxFailures: f.maxFailures, MaxMissingTracks: f.maxMissing}, nil
}

func parseRunFlags(args []string, stderr io.Writer) (runConfig, error) {
	var cfg runConfig
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: loadtest [flags]          run a scenario against a server on this host\n"+
			"       loadtest bench [flags]    start a server binary, run presets, stop it (loadtest bench -h)\n\npresets:\n")
		for _, p := range loadtest.Presets() {
			fmt.Fprintf(stderr, "  %-13s %s\n", p.Name, p.Description)
		}
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	url := fs.String("url", "ws://127.0.0.1:7880/ws", "the server's WebSocket endpoint (loopback only); the nodes of a cluster separated by commas")
	metrics := fs.String("metrics", "", `the server's /metrics, one per node ("" derives them from -url; "off" skips the server's cost)`)
	preset := fs.String("preset", "livestream", "scenario: livestream, meeting, classroom or consultation")
	sf := addScenarioFlags(fs)
	fs.BoolVar(&cfg.json, "json", false, "write the report as JSON to stdout instead of tables")
	fs.StringVar(&cfg.html, "html", "", "also write a self-contained HTML report (charts of bitrate, loss, latency) here")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (sub-commands: bench)", fs.Arg(0))
	}
	o, th, err := sf.apply(*preset, stderr)
	if err != nil {
		return cfg, err
	}
	o.URL, o.MetricsURL = *url, *metrics
	cfg.opts, cfg.th = o, th
	return cfg, o.Validate()
}

// writeReport writes the table or JSON to stdout and the HTML page, if asked for.
func writeReport(rep *loadtest.Report, asJSON bool, htmlPath string, stdout io.Writer) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("json report: %w", err)
		}
	} else if err := rep.WriteText(stdout); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if htmlPath == "" {
		return nil
	}
	f, err := os.Create(htmlPath)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err := rep.WriteHTML(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("html report %s: %w", htmlPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("html report %s: %w", htmlPath, err)
	}
	return nil
}
