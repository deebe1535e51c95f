package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// participant is one simulated user: a client of the signalling protocol that joins, maybe publishes,
// and meters everything it receives.
//
// Goroutines: join runs on a goroutine of the runner's join phase and sets the fields above mu before it
// returns (the runner reads them after waiting for it). events (started by join) owns the layout and
// ends when the socket or the run ends. Each received track has a reader goroutine (trackMeter.run),
// ended by Close. Each source runs on a goroutine ended by the run's media context.
type participant struct {
	r    *runner
	spec participantSpec

	// Written by join, read after the join phase.
	c           *client.Client
	id          string
	dialAt      time.Time
	joinedAt    time.Time
	publishTook time.Duration
	err         error
	published   []protocol.AssignedTrack
	eventsDone  chan struct{} // closed when events ends; nil if it never started

	mu        sync.Mutex
	meters    map[string]*trackMeter          // received tracks by server id
	tracks    map[string]protocol.Track       // what the server said about the room's tracks
	available map[string]time.Time            // when each track became available to this participant
	paused    map[string]bool                 // tracks the layout pauses
	states    map[string]protocol.StreamState // the last stream_state of each track
	errEvents []string                        // unsolicited errors, first few
}

func newParticipant(r *runner, spec participantSpec) *participant {
	return &participant{r: r, spec: spec,
		meters: make(map[string]*trackMeter), tracks: make(map[string]protocol.Track),
		available: make(map[string]time.Time), paused: make(map[string]bool), states: make(map[string]protocol.StreamState)}
}

// join dials, joins, and publishes what the spec says, within ctx. The event loop lives until runCtx
// ends (or the socket does); the sources until mediaCtx ends.
func (p *participant) join(ctx, runCtx, mediaCtx context.Context) {
	p.dialAt = time.Now()
	copts := client.Options{API: p.r.api, OnTrack: p.onTrack}
	applyTransport(&copts, p.r.opts.Transport)
	c, err := client.Dial(ctx, p.r.nodes[p.spec.Node], copts)
	if err != nil {
		p.err = fmt.Errorf("dial: %w", err)
		return
	}
	p.c = c
	joined, err := c.Join(ctx, p.spec.Room, p.spec.Name)
	if err != nil {
		p.err = fmt.Errorf("join: %w", err)
		return
	}
	p.joinedAt = time.Now()
	p.id = joined.ParticipantID
	p.mu.Lock()
	for _, t := range joined.Tracks {
		p.tracks[t.ID] = t
		p.available[t.ID] = p.joinedAt
	}
	p.mu.Unlock()
	p.eventsDone = make(chan struct{})
	go p.events(runCtx, joined.Tracks)

	if !p.spec.Mic && !p.spec.Camera {
		return
	}
	out, err := newOutgoing(p.r.opts, p.r.clips, p.spec)
	if err != nil {
		p.err = err
		return
	}
	start := time.Now()
	assigned, err := c.Publish(ctx, out.tracks...)
	if err != nil {
		p.err = fmt.Errorf("publish: %w", err)
		return
	}
	p.publishTook = time.Since(start)
	p.published = assigned
	for _, run := range out.runs {
		p.r.sources.Go(func() {
			select { // desynchronize the publishers' frame clocks
			case <-mediaCtx.Done():
				return
			case <-time.After(p.spec.StartOffset):
			}
			if err := run(mediaCtx); err != nil {
				p.r.log.Warn("source stopped", "participant", p.spec.Name, "room", p.spec.Room, "err", err)
			}
		})
	}
}

// onTrack runs on pion's goroutine for each received track: it starts the track's meter.
func (p *participant) onTrack(rt client.RemoteTrack) {
	m := newTrackMeter(rt.ID, rt.Track.Codec(), rt.Track.Kind(), p.spec.seed^uint64(len(rt.ID))<<32^uint64(rt.Track.SSRC()))
	p.mu.Lock()
	if rt.Info.ID != "" {
		p.tracks[rt.ID] = rt.Info
	}
	p.meters[rt.ID] = m
	p.mu.Unlock()
	p.r.addMeter(p, m)
	p.r.readers.Go(func() {
		m.run(func(b []byte) (int, error) {
			n, _, err := rt.Track.Read(b)
			return n, err
		})
	})
}

// events handles the room events of this participant in order until the socket or the run ends: it
// records when tracks appear and what the server forwards, and sends the layout's track settings.
func (p *participant) events(ctx context.Context, initial []protocol.Track) {
	defer close(p.eventsDone)
	lay := newLayoutState(p.r.opts.Layout, p.r.opts.Layer, p.id)
	p.apply(lay, lay.add(initial...))
	for {
		var env protocol.Envelope
		select {
		case <-ctx.Done():
			return
		case <-p.c.Done():
			return
		case env = <-p.c.Events():
		}
		switch env.Type {
		case protocol.TypeTrackPublished:
			var ev protocol.TrackEvent
			if json.Unmarshal(env.Data, &ev) != nil || ev.Track.ParticipantID == p.id {
				continue
			}
			now := time.Now()
			p.mu.Lock()
			p.tracks[ev.Track.ID] = ev.Track
			if _, ok := p.available[ev.Track.ID]; !ok {
				p.available[ev.Track.ID] = now
			}
			p.mu.Unlock()
			p.apply(lay, lay.add(ev.Track))
		case protocol.TypeTrackUnpublished:
			var ev protocol.TrackEvent
			if json.Unmarshal(env.Data, &ev) == nil {
				p.apply(lay, lay.remove(ev.Track.ID))
			}
		case protocol.TypeStreamState:
			var st protocol.StreamState
			if json.Unmarshal(env.Data, &st) == nil {
				p.mu.Lock()
				p.states[st.TrackID] = st
				p.mu.Unlock()
			}
		case protocol.TypeError:
			p.mu.Lock()
			if len(p.errEvents) < 5 {
				p.errEvents = append(p.errEvents, string(env.Data))
			}
			p.mu.Unlock()
			p.r.log.Warn("server error event", "participant", p.spec.Name, "room", p.spec.Room, "data", string(env.Data))
		}
	}
}

// apply sends changed track settings and remembers which tracks the layout pauses.
func (p *participant) apply(lay *layoutState, changed []protocol.TrackSettings) {
	for _, s := range changed {
		if err := p.c.SetTrackSettings(s); err != nil {
			p.r.log.Warn("track settings", "participant", p.spec.Name, "track", s.TrackID, "err", err)
		}
	}
	p.mu.Lock()
	for _, s := range changed {
		p.paused[s.TrackID] = lay.paused(s.TrackID)
	}
	p.mu.Unlock()
}

// snapshotMeters copies every meter's counters, keyed by track id.
func (p *participant) snapshotMeters(tail int64) map[string]meterSnapshot {
	p.mu.Lock()
	meters := make(map[string]*trackMeter, len(p.meters))
	for id, m := range p.meters {
		meters[id] = m
	}
	p.mu.Unlock()
	out := make(map[string]meterSnapshot, len(meters))
	for id, m := range meters {
		out[id] = m.snapshot(tail, nil)
	}
	return out
}

// close leaves: it closes the socket and both PeerConnections (which ends the track readers) and waits
// for the event loop.
func (p *participant) close() {
	if p.c == nil {
		return
	}
	if err := p.c.Close(); err != nil {
		p.r.log.Debug("close", "participant", p.spec.Name, "room", p.spec.Room, "err", err)
	}
	if p.eventsDone != nil {
		<-p.eventsDone
	}
}
