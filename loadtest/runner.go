package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Phases after the measurement: drain lets the last packets and their retransmissions arrive before the
// final reading (so the receivers' counts and the server's agree); closers bounds concurrent leaves.
const (
	drainTime     = 500 * time.Millisecond
	drainQuiet    = 100 * time.Millisecond // ...then until the receivers' counts hold still this long
	drainMax      = 5 * time.Second        // ...but no longer than this in all
	scrapeTimeout = 5 * time.Second
	closers       = 16
	// closeWait bounds the wait for track readers after every client closed.
	closeWait = 15 * time.Second
	// settleTimeout bounds the wait for every expected track's first packet before the window opens.
	settleTimeout = 5 * time.Second
	settleGrace   = 300 * time.Millisecond
)

// runner is one run. Its fields are set by newRunner; meters (under mu) grows as tracks arrive.
type runner struct {
	opts    Options
	log     *slog.Logger
	api     *webrtc.API
	clips   clips
	nodes   []string   // WebSocket URL of each node
	metrics []*scraper // one per node; none when off
	people  []*participant

	sources sync.WaitGroup // the publishers' source loops
	readers sync.WaitGroup // the track meters' readers

	// joined and failed count finished joins for the progress line (the participants' own fields are
	// only read after the join phase).
	joined, failed atomic.Int64

	mu     sync.Mutex
	meters []meterEntry
}

type meterEntry struct {
	p *participant
	m *trackMeter
}

// Run joins the participants the options describe at the join rate, measures their media for the
// duration and returns the report. It stops early, still reporting, when ctx ends. Only bad options or
// files are errors: participants that fail to join are counted in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	r, err := newRunner(opts)
	if err != nil {
		return nil, err
	}
	return r.run(ctx), nil
}

func newRunner(opts Options) (*runner, error) {
	api, err := clientAPI(opts.Transport)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	c, err := loadClips(opts)
	if err != nil {
		return nil, err
	}
	r := &runner{opts: opts, log: opts.Logger, api: api, clips: c, nodes: opts.nodeURLs()}
	urls, _ := opts.metricsURLs() // Validate checked them
	for _, u := range urls {
		r.metrics = append(r.metrics, newScraper(u))
	}
	for _, spec := range plan(opts) {
		r.people = append(r.people, newParticipant(r, spec))
	}
	return r, nil
}

func (r *runner) addMeter(p *participant, m *trackMeter) {
	r.mu.Lock()
	r.meters = append(r.meters, meterEntry{p: p, m: m})
	r.mu.Unlock()
}

func (r *runner) allMeters() []meterEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]meterEntry(nil), r.meters...)
}

// budget bounds the whole run: the join phase at the join rate plus a join's timeout, the measurement,
// and the wind-down.
func (r *runner) budget() time.Duration {
	joins := time.Duration(float64(len(r.people)) / r.opts.JoinRate * float64(time.Second))
	return joins + joinTimeout + settleTimeout + r.opts.Duration + drainMax + 2*scrapeTimeout
}

// phases records when each phase of the run began and what the server's counters read then.
type phases struct {
	start, joinEnd, settled, measureStart, measureEnd time.Time
	windowOpening                                     time.Duration // reading the server, then the receivers, at measureStart
	interrupted                                       bool
	server                                            [3]serverReading // at start, at measureStart, after drain
	recv                                              [2]map[*trackMeter]meterSnapshot
	loadCPU                                           [2]float64
}

// serverReading is one scrape of every node: their sum, and each node's own counters.
type serverReading struct {
	c     ServerCounters
	nodes []ServerCounters
	err   error
}

func (r *runner) run(ctx context.Context) *Report {
	var ph phases
	ph.start = time.Now()
	ph.loadCPU[0] = selfCPUSeconds()
	ph.server[0] = r.scrape(ctx)

	runCtx, cancelRun := context.WithTimeout(ctx, r.budget())
	defer cancelRun()
	mediaCtx, stopMedia := context.WithCancel(runCtx)
	defer stopMedia()
	smp := newSampler(r, ph.start)
	samplerCtx, stopSampler := context.WithCancel(runCtx)
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		smp.loop(samplerCtx)
	}()

	r.joinAll(runCtx, mediaCtx)
	ph.joinEnd = time.Now()
	smp.setPhase(phaseSettling)
	r.settle(runCtx)
	ph.settled = time.Now()

	// The measurement window: everyone who could join has, and media flows to them.
	opening := time.Now()
	ph.server[1] = r.scrape(runCtx)
	ph.recv[0] = r.snapshotAll()
	ph.windowOpening = time.Since(opening)
	for m := range ph.recv[0] {
		m.resetLatency()
	}
	ph.measureStart = time.Now()
	smp.setPhase(phaseMeasuring)
	if r.opts.OnMeasure != nil {
		r.opts.OnMeasure(r.opts.Duration)
	}
	timer := time.NewTimer(r.opts.Duration)
	select {
	case <-timer.C:
	case <-runCtx.Done():
		ph.interrupted = true
	}
	timer.Stop()
	ph.measureEnd = time.Now()
	smp.setPhase(phaseStopping)

	// Stop sending, let the last packets (and the retransmissions they need) land, then read both ends.
	stopMedia()
	r.sources.Wait()
	r.drain()
	ph.server[2] = r.scrape(context.Background()) //nolint:contextcheck // read the end even when ctx ended
	ph.recv[1] = r.snapshotAll()
	ph.loadCPU[1] = selfCPUSeconds()
	stopSampler()
	<-samplerDone

	r.closeAll()
	return r.report(&ph, smp.timeline())
}

// metricsURLs lists the nodes' /metrics addresses in node order.
func (r *runner) metricsURLs() []string {
	urls := make([]string, len(r.metrics))
	for i, m := range r.metrics {
		urls[i] = m.url
	}
	return urls
}

// scrape reads every node's counters, if they are scraped at all, and sums them: the cluster's cost.
func (r *runner) scrape(ctx context.Context) serverReading {
	if len(r.metrics) == 0 {
		return serverReading{err: errors.New("metrics off")}
	}
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	rd := serverReading{nodes: make([]ServerCounters, len(r.metrics))}
	var wg sync.WaitGroup
	errs := make([]error, len(r.metrics))
	for i, m := range r.metrics {
		wg.Go(func() { rd.nodes[i], errs[i] = m.scrape(ctx) })
	}
	wg.Wait()
	if rd.err = errors.Join(errs...); rd.err != nil {
		r.log.Warn("metrics", "err", rd.err)
		return rd
	}
	rd.c = sumCounters(rd.nodes)
	return rd
}

// joinAll starts one participant per tick of the join rate and waits for every join to finish. When
// ctx ends, the participants not yet started are left out (counted as skipped).
func (r *runner) joinAll(ctx, mediaCtx context.Context) {
	interval := time.Duration(float64(time.Second) / r.opts.JoinRate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var wg sync.WaitGroup
	for i, p := range r.people {
		if i > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return
			case <-tick.C:
			}
		}
		wg.Go(func() {
			jctx, cancel := context.WithTimeout(ctx, joinTimeout)
			defer cancel()
			p.join(jctx, ctx, mediaCtx)
			if p.err == nil {
				r.joined.Add(1)
				return
			}
			r.failed.Add(1)
			r.log.Warn("participant failed", "participant", p.spec.Name, "room", p.spec.Room, "err", p.err)
		})
	}
	wg.Wait()
}

// expected lists, for each joined participant, the tracks it should receive: every track the others in
// its room published that its layout does not pause. Call it after the join phase.
func (r *runner) expected() map[*participant][]string {
	byRoom := map[string][]*participant{}
	for _, p := range r.people {
		byRoom[p.spec.Room] = append(byRoom[p.spec.Room], p)
	}
	out := make(map[*participant][]string)
	for _, p := range r.people {
		if p.joinedAt.IsZero() {
			continue
		}
		p.mu.Lock()
		for _, other := range byRoom[p.spec.Room] {
			if other == p {
				continue
			}
			for _, a := range other.published {
				if !p.paused[a.TrackID] {
					out[p] = append(out[p], a.TrackID)
				}
			}
		}
		p.mu.Unlock()
	}
	return out
}

// settle waits, up to settleTimeout, until every expected track has delivered its first packet, so
// that the window opens on steady state: a new subscription starts with the server's stored keyframe,
// a burst the window should not count.
func (r *runner) settle(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	want := r.expected()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		pending := 0
		for p, ids := range want {
			p.mu.Lock()
			for _, id := range ids {
				if m := p.meters[id]; m == nil || m.snapshot(0, nil).packets == 0 {
					pending++
				}
			}
			p.mu.Unlock()
		}
		if pending == 0 {
			// First packets include bursts (the stored keyframe a subscription starts from) that a
			// receiver may have to NACK; let those retransmissions land before the window opens.
			select {
			case <-ctx.Done():
			case <-time.After(settleGrace):
			}
			return
		}
		select {
		case <-ctx.Done():
			r.log.Warn("tracks without media when the window opens", "tracks", pending)
			return
		case <-tick.C:
		}
	}
}

// drain waits for the last packets to be read: drainTime, then until the receivers' counts stop
// moving (on a busy machine the readers run late, and a packet the server counted but no receiver has
// read yet would show as lost), at most drainMax.
func (r *runner) drain() {
	time.Sleep(drainTime)
	last := r.packetsRead()
	for deadline := time.Now().Add(drainMax - drainTime); time.Now().Before(deadline); {
		time.Sleep(drainQuiet)
		n := r.packetsRead()
		if n == last {
			return
		}
		last = n
	}
}

// packetsRead is the media packets every receiver has read so far (not padding: the server's
// bandwidth probes go on after the media stopped).
func (r *runner) packetsRead() int64 {
	var n int64
	for _, e := range r.allMeters() {
		n += e.m.snapshot(0, nil).packets
	}
	return n
}

// snapshotAll copies every meter's counters at once (as nearly as one pass allows).
func (r *runner) snapshotAll() map[*trackMeter]meterSnapshot {
	entries := r.allMeters()
	out := make(map[*trackMeter]meterSnapshot, len(entries))
	for _, e := range entries {
		out[e.m] = e.m.snapshot(0, nil)
	}
	return out
}

// closeAll makes every participant leave, a few at a time, and waits for the track readers.
func (r *runner) closeAll() {
	sem := make(chan struct{}, closers)
	var wg sync.WaitGroup
	for _, p := range r.people {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			p.close()
		})
	}
	wg.Wait()
	done := make(chan struct{})
	go func() {
		r.readers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
		r.log.Warn("track readers still running after every client closed")
	}
}
