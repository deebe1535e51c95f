package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node/testcert"
	"github.com/huddlehq/huddle/loadtest"
)

// benchTarget is the goal for forwarded packets per server CPU-second of a preset (issue: load tester).
// Targets are reported against the median run, not enforced: CPU-seconds on a shared machine vary by a
// fifth from run to run, which is what -runs is for.
func benchTarget(preset string) (float64, bool) {
	switch preset {
	case "livestream":
		return 92_000, true
	case "meeting":
		return 77_000, true
	}
	return 0, false
}

// Server start-up and shut-down bounds.
const (
	serverReadyTimeout = 15 * time.Second
	serverStopTimeout  = 10 * time.Second
)

// benchConfig is what the flags of bench say.
type benchConfig struct {
	server, profile, profilePreset, outDir string
	presets, transports                    []string
	serverProcs, runs                      int
	sf                                     *scenarioFlags
	stdout, stderr                         io.Writer
}

func parseBenchFlags(args []string, stderr io.Writer) (benchConfig, error) {
	var cfg benchConfig
	fs := flag.NewFlagSet("loadtest bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: loadtest bench [flags]\n\nStarts the server binary on free loopback ports (with -pprof), runs each preset against it, prints\n"+
			"each report and a summary (forwarded packets per server CPU-second against the targets), stops it.\n\nflags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.server, "server", "bin/server", "the server binary to start (make build)")
	presets := fs.String("presets", "livestream,meeting", "comma-separated presets to run, in order")
	fs.StringVar(&cfg.profile, "profile", "", "write a CPU profile of the server during the -profile-preset run here and print its top functions")
	fs.StringVar(&cfg.profilePreset, "profile-preset", "meeting", "the preset the profile covers")
	fs.StringVar(&cfg.outDir, "out", "", "also write <preset>.json and <preset>.html reports into this directory")
	transports := fs.String("transports", "", "comma-separated transports to run each preset over (udp, tcp, relay-udp, relay-tcp, relay-tls); the summary compares each with udp. Default: -transport's")
	fs.IntVar(&cfg.runs, "runs", 1, "run each preset this many times; the summary gives every run and the median (noisy machines)")
	fs.IntVar(&cfg.serverProcs, "server-procs", 0, "run the server with GOMAXPROCS set to this, which also turns its adaptive procs off (0: the server adapts)")
	cfg.sf = addScenarioFlags(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, p := range strings.Split(*presets, ",") {
		if p = strings.TrimSpace(p); p != "" {
			if _, err := loadtest.PresetOptions(p); err != nil {
				return cfg, err
			}
			cfg.presets = append(cfg.presets, p)
		}
	}
	if len(cfg.presets) == 0 {
		return cfg, errors.New("-presets: none given")
	}
	if *transports == "" {
		*transports = cfg.sf.transport
	}
	for _, t := range strings.Split(*transports, ",") {
		if t = strings.TrimSpace(t); t != "" {
			if !slices.Contains(loadtest.Transports(), t) {
				return cfg, fmt.Errorf("-transports: %q is not one of %s", t, strings.Join(loadtest.Transports(), ", "))
			}
			cfg.transports = append(cfg.transports, t)
		}
	}
	if cfg.runs < 1 {
		return cfg, fmt.Errorf("-runs %d: at least 1", cfg.runs)
	}
	return cfg, nil
}

// bench starts a server, runs the presets against it and prints their figures.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseBenchFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest bench:", err)
		return exitUsage
	}
	cfg.stdout, cfg.stderr = stdout, stderr
	tlsFiles, cleanup, err := benchCertificate(cfg.transports)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest bench:", err)
		return exitUsage
	}
	defer cleanup()
	srv, err := startServer(ctx, cfg.server, cfg.serverProcs, tlsFiles, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest bench:", err)
		return exitUsage
	}
	defer srv.stop(stderr)
	fmt.Fprintf(stderr, "bench: server %s at %s (media UDP %d)\n", cfg.server, srv.base, srv.udpPort)

	code := exitOK
	var reports []*loadtest.Report
	for _, name := range cfg.presets {
		for _, transport := range cfg.transports {
			for run := 1; run <= cfg.runs && ctx.Err() == nil; run++ {
				rep, failed, err := benchRun(ctx, cfg, srv, name, transport, run)
				if err != nil {
					fmt.Fprintln(stderr, "loadtest bench:", err)
					return exitUsage
				}
				if failed {
					code = exitFailed
				}
				reports = append(reports, rep)
			}
		}
	}
	printSummary(reports, cfg.runs, stdout)
	return code
}

// benchCertificate makes a throwaway certificate when a transport needs TLS (TURN over TLS), and has
// this process trust it (pion's TURN dialer uses the system roots); cleanup removes it.
func benchCertificate(transports []string) (files []string, cleanup func(), err error) {
	if !slices.Contains(transports, loadtest.TransportRelayTLS) {
		return nil, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "huddle-bench-tls-")
	if err != nil {
		return nil, nil, fmt.Errorf("certificate: %w", err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	cert, err := testcert.New(dir)
	if err == nil {
		err = cert.TrustInProcess()
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("certificate: %w", err)
	}
	return []string{cert.CertFile, cert.KeyFile}, cleanup, nil
}

// benchRun runs one preset once. The first run of each preset prints its whole report (and writes it
// to -out, and is the one profiled); the others only add their line to the summary. failed says the
// run broke a threshold.
func benchRun(ctx context.Context, cfg benchConfig, srv *server, name, transport string, run int) (rep *loadtest.Report, failed bool, err error) {
	stdout, stderr := cfg.stdout, cfg.stderr
	o, th, err := cfg.sf.apply(name, stderr)
	if err != nil {
		return nil, false, err
	}
	o.URL, o.Transport = srv.wsBase+"/ws", transport
	var prof *profiler
	if cfg.profile != "" && name == cfg.profilePreset && run == 1 {
		prof = &profiler{url: srv.base + "/debug/pprof/profile", path: cfg.profile}
		o.OnMeasure = func(d time.Duration) { prof.start(ctx, d) }
	}
	rep, err = loadtest.Run(ctx, o)
	if err != nil {
		return nil, false, err
	}
	failed = len(rep.Check(th)) > 0
	if run > 1 {
		return rep, failed, nil
	}
	if err := rep.WriteText(stdout); err != nil {
		return nil, false, err
	}
	fmt.Fprintln(stdout)
	if cfg.outDir != "" {
		if err := writeReports(rep, cfg.outDir, name); err != nil {
			fmt.Fprintln(stderr, "loadtest bench:", err)
		}
	}
	if prof != nil {
		prof.report(cfg.server, stdout, stderr)
	}
	return rep, failed, nil
}

// reportName is a report's line in the summary: the preset, and the transport when not UDP.
func reportName(r *loadtest.Report) string {
	if t := r.Options.Transport; t != "" && t != loadtest.TransportUDP {
		return r.Scenario + "/" + t
	}
	return r.Scenario
}

func writeReports(rep *loadtest.Report, dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, name+".json"))
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	werr := writeReport(rep, true, filepath.Join(dir, name+".html"), f)
	return errors.Join(werr, f.Close())
}

// printSummary is one line per run: the figures the benchmark is about. With several runs of a preset,
// a median line follows its runs, and the target is judged on it. With several transports, "vs udp"
// gives each one's packets per CPU-second (the median) as a share of the same preset's over UDP.
func printSummary(reports []*loadtest.Report, runs int, w io.Writer) {
	type group struct {
		reports []*loadtest.Report
		median  float64
	}
	var groups []group
	udp := map[string]float64{} // scenario → its UDP median
	for start := 0; start < len(reports); start += runs {
		g := group{reports: reports[start:min(start+runs, len(reports))]}
		rates := make([]float64, len(g.reports))
		for i, r := range g.reports {
			rates[i] = r.Server.PacketsPerCPUS
		}
		g.median = median(rates)
		if t := g.reports[0].Options.Transport; t == "" || t == loadtest.TransportUDP {
			udp[g.reports[0].Scenario] = g.median
		}
		groups = append(groups, g)
	}
	vsUDP := func(g group) string {
		base, ok := udp[g.reports[0].Scenario]
		if !ok || base == 0 || len(udp) == 0 || len(groups) == len(udp) {
			return "-"
		}
		return fmt.Sprintf("%.2f", g.median/base)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "preset\tjoined\tfailed\tloss %\tlatency p50 ms\tp99 ms\tfirst media p50 ms\tpackets out\tserver CPU-s\tpackets/CPU-s\tvs udp\ttarget\t")
	for _, g := range groups {
		for i, r := range g.reports {
			name := reportName(r)
			target, ratio := "-", "-"
			if runs > 1 {
				name = fmt.Sprintf("%s #%d", name, i+1)
			} else {
				target, ratio = verdict(r.Scenario, r.Server.PacketsPerCPUS), vsUDP(g)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.2f\t%.2f\t%.0f\t%.0f\t%.2f\t%.0f\t%s\t%s\t\n", name, r.Participants.Joined, r.Participants.Failed,
				100*r.Loss.Rate, r.LatencyMs.P50, r.LatencyMs.P99, r.FirstMediaMs.P50, r.Server.PacketsOut, r.Server.CPUSeconds, r.Server.PacketsPerCPUS, ratio, target)
		}
		if runs > 1 {
			lo, hi := g.reports[0].Server.PacketsPerCPUS, g.reports[0].Server.PacketsPerCPUS
			for _, r := range g.reports {
				lo, hi = min(lo, r.Server.PacketsPerCPUS), max(hi, r.Server.PacketsPerCPUS)
			}
			fmt.Fprintf(tw, "%s median of %d\t\t\t\t\t\t\t\t\t%.0f\t%s\t%s, runs %.0f–%.0f\t\n", reportName(g.reports[0]), len(g.reports),
				g.median, vsUDP(g), verdict(g.reports[0].Scenario, g.median), lo, hi)
		}
	}
	_ = tw.Flush()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}

// verdict compares a preset's forwarded packets per CPU-second with its target, if it has one.
func verdict(preset string, rate float64) string {
	t, ok := benchTarget(preset)
	if !ok {
		return "-"
	}
	v := "below"
	if rate >= t {
		v = "met"
	}
	return fmt.Sprintf("%.0f (%s)", t, v)
}

// server is a server process this command started.
type server struct {
	cmd     *exec.Cmd
	addr    string // host:port of HTTP
	base    string // http://host:port (https with a certificate)
	wsBase  string // ws://host:port (wss)
	udpPort int
	done    chan error
}

// startServer runs the binary on free loopback ports with the profiler on and waits until /healthz
// answers. The process ends with ctx or stop.
func startServer(ctx context.Context, binary string, procs int, tlsFiles []string, stderr io.Writer) (*server, error) {
	httpPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	udpPort, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
	args := []string{"-http", addr, "-bind-ip", "127.0.0.1", "-udp-port", strconv.Itoa(udpPort),
		"-tcp-port", "0", "-turn-port", "0", "-turn-tls-port", "0", "-relay-ports", "0-0", "-pprof", "-log-level", "warn"}
	scheme := "http"
	if len(tlsFiles) == 2 {
		args, scheme = append(args, "-tls-cert", tlsFiles[0], "-tls-key", tlsFiles[1]), "https"
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if procs > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(procs))
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // a graceful stop
	cmd.WaitDelay = serverStopTimeout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	s := &server{cmd: cmd, addr: addr, base: scheme + "://" + addr, wsBase: strings.Replace(scheme, "http", "ws", 1) + "://" + addr,
		udpPort: udpPort, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	if err := s.waitReady(ctx); err != nil {
		s.stop(stderr)
		return nil, err
	}
	return s, nil
}

func (s *server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, serverReadyTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/healthz", nil)
		if err != nil {
			return fmt.Errorf("server health: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-s.done:
			s.done <- err // for stop
			return fmt.Errorf("server exited before it served: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("server not ready at %s within %v: %w", s.base, serverReadyTimeout, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop interrupts the server (it shuts down gracefully) and waits for it; a server that does not end
// within serverStopTimeout is killed.
func (s *server) stop(stderr io.Writer) {
	_ = s.cmd.Process.Signal(os.Interrupt) // fails harmlessly if it has already exited
	select {
	case err := <-s.done:
		if err != nil {
			fmt.Fprintln(stderr, "bench: server:", err)
		}
	case <-time.After(serverStopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
		fmt.Fprintln(stderr, "bench: server killed: it did not stop within", serverStopTimeout)
	}
}

// freePort asks the kernel for a free loopback port of the network ("tcp" or "udp"). Another process
// could take it before the server does; on loopback in a benchmark that is a risk worth taking, since
// the server cannot report a port it picked itself.
func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("free udp port: %w", err)
		}
		defer func() { _ = c.Close() }()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free tcp port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// profiler fetches a CPU profile of the server over the measurement window. start runs on the load
// test's goroutine and only launches the fetch; report waits for it.
type profiler struct {
	url, path string
	wg        sync.WaitGroup
	err       error
}

func (p *profiler) start(ctx context.Context, d time.Duration) {
	secs := max(int(d.Seconds()), 1)
	p.wg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
		defer cancel()
		p.err = fetchTo(ctx, fmt.Sprintf("%s?seconds=%d", p.url, secs), p.path)
	})
}

// report waits for the profile and prints `go tool pprof -top` of it.
func (p *profiler) report(binary string, stdout, stderr io.Writer) {
	p.wg.Wait()
	if p.err != nil {
		fmt.Fprintln(stderr, "bench: cpu profile:", p.err)
		return
	}
	fmt.Fprintf(stdout, "CPU profile of the server over the window: %s\n", p.path)
	cmd := exec.Command("go", "tool", "pprof", "-top", "-nodecount=30", binary, p.path)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(stderr, "bench: go tool pprof:", err)
	}
	fmt.Fprintln(stdout)
}

func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("profile %s: %w", path, err)
	}
	return f.Close()
}
