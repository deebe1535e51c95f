package loadtest

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// Report is what one run measured. Durations are in milliseconds, bitrates in kbit/s unless a field's
// name says otherwise. Receiver figures over "the window" cover the measurement (Duration, after
// everyone joined); loss, jitter, latency and first-packet times cover each track's whole life.
type Report struct {
	Scenario string         `json:"scenario"`
	Options  OptionsSummary `json:"options"`
	Started  time.Time      `json:"started"`
	// JoinSeconds is the join phase; MeasuredSeconds the window (shorter than asked when interrupted).
	JoinSeconds     float64 `json:"joinSeconds"`
	SettleSeconds   float64 `json:"settleSeconds"` // from the last join to every track's first packet
	MeasuredSeconds float64 `json:"measuredSeconds"`
	Interrupted     bool    `json:"interrupted,omitempty"`

	Participants ParticipantCounts `json:"participants"`
	// JoinMs is socket open (dial start) to `joined`; PublishMs publish_offer to applied answer.
	JoinMs    Dist `json:"joinMs"`
	PublishMs Dist `json:"publishMs"`
	// FirstMediaMs and FirstKeyframeMs run per received track from when the receiver could first have
	// it (its join, or the track_published it got) to its first packet and first keyframe packet.
	FirstMediaMs    Dist `json:"firstMediaMs"`
	FirstKeyframeMs Dist `json:"firstKeyframeMs"`

	Tracks TrackCounts `json:"tracks"`
	// ReceiverKbps is the bitrate over the window of each receiver that expects tracks.
	ReceiverKbps Dist        `json:"receiverKbps"`
	Loss         LossSummary `json:"loss"`
	// JitterMs is each received track's RFC 3550 interarrival jitter at the end. The packets of a video
	// frame share a timestamp, so for paced video it includes the pacer's spreading of each frame.
	JitterMs Dist `json:"jitterMs"`
	// LatencyMs is the forwarding latency of every stamped packet in the window (publisher's send to
	// receiver's read, same host clock).
	LatencyMs Dist `json:"latencyMs"`
	// Layers counts received video tracks by the layer their last packet came from ("single" for a
	// camera or screen share sent without simulcast).
	Layers map[string]int `json:"layers"`

	Received Received   `json:"received"`
	Server   ServerCost `json:"server"`
	// LoadCPUSeconds is what the load generator itself used over the whole run.
	LoadCPUSeconds float64 `json:"loadCpuSeconds"`

	Receivers []ReceiverReport `json:"receivers"`
	Timeline  []Sample         `json:"timeline"`
	// Failures lists the thresholds this run failed (filled by Check).
	Failures []string `json:"failures,omitempty"`
}

// OptionsSummary is the scenario as run.
type OptionsSummary struct {
	URL             string  `json:"url"`
	Rooms           int     `json:"rooms"`
	Publishers      int     `json:"publishers"`
	ScreenShares    int     `json:"screenShares"`
	AudioPublishers int     `json:"audioPublishers"`
	Subscribers     int     `json:"subscribers"`
	Simulcast       bool    `json:"simulcast"`
	Layer           string  `json:"layer,omitempty"`
	Layout          Layout  `json:"layout"`
	JoinRate        float64 `json:"joinRate"`
	DurationSeconds float64 `json:"durationSeconds"`
	Seed            int64   `json:"seed"`
	Unpaced         bool    `json:"unpaced,omitempty"`
	VideoFile       string  `json:"videoFile,omitempty"`
	AudioFile       string  `json:"audioFile,omitempty"`
	Transport       string  `json:"transport"`
}

// ParticipantCounts: Joined got `joined` (and published, if it was to); Failed did not; Skipped were never
// started because the run was interrupted.
type ParticipantCounts struct {
	Planned int      `json:"planned"`
	Joined  int      `json:"joined"`
	Failed  int      `json:"failed"`
	Skipped int      `json:"skipped"`
	Errors  []string `json:"errors,omitempty"` // distinct reasons, with counts
}

// TrackCounts: Published by the participants; Expected receiver×track pairs (every track of the others
// in the receiver's room that its layout does not pause); Received of those that delivered media.
type TrackCounts struct {
	Published int      `json:"published"`
	Expected  int      `json:"expected"`
	Received  int      `json:"received"`
	Missing   []string `json:"missing,omitempty"` // "room/receiver <- track (publisher source; last stream_state)"
}

// LossSummary counts sequence numbers over every received track: Missing never arrived (the SFU answers
// NACKs, so these are losses after retransmission); Duplicates arrived twice; Late arrived after the
// tracker had judged them lost.
type LossSummary struct {
	Expected   int64   `json:"expected"`
	Missing    int64   `json:"missing"`
	Rate       float64 `json:"rate"`
	Duplicates int64   `json:"duplicates"`
	Late       int64   `json:"late"`
}

// Received is what every receiver together read during the window: media packets (padding-only probes
// apart) and bytes, comparable with the server's packets out.
type Received struct {
	Packets int64 `json:"packets"`
	Bytes   int64 `json:"bytes"`
	Padding int64 `json:"padding"`
	// ServerRatio is Packets over the server's packets out in the same window (1 = every forwarded
	// packet arrived once; the server counts retransmissions apart).
	ServerRatio float64 `json:"serverRatio,omitempty"`
}

// ServerCost is the server's own account, from /metrics read at the window's start and after the drain.
type ServerCost struct {
	Scraped       bool    `json:"scraped"`
	Error         string  `json:"error,omitempty"`
	WindowSeconds float64 `json:"windowSeconds"`
	// OpeningSeconds is how long opening the window took: the server's counters were read first, then
	// the receivers'; what the server forwarded meanwhile it counts and the receivers do not. (The close
	// is exact: media stops and drains before both are read.)
	OpeningSeconds  float64 `json:"openingSeconds"`
	CPUSeconds      float64 `json:"cpuSeconds"`
	CPUCores        float64 `json:"cpuCores"` // CPUSeconds over the window
	JoinCPUSeconds  float64 `json:"joinCpuSeconds"`
	PacketsIn       float64 `json:"packetsIn"`
	PacketsOut      float64 `json:"packetsOut"`
	BytesOut        float64 `json:"bytesOut"`
	Retransmitted   float64 `json:"retransmitted"`
	PacketsOutPerS  float64 `json:"packetsOutPerSecond"`
	PacketsPerCPUS  float64 `json:"packetsPerCpuSecond"` // forwarded packets per server CPU-second
	Participants    float64 `json:"participants"`
	PublishedTracks float64 `json:"tracks"`
	// Nodes is each node's share when the run drove several (the figures above are their sums).
	Nodes []NodeCost `json:"nodes,omitempty"`
}

// NodeCost is one cluster node's account over the window. The node that owns a room forwards its media;
// the others relay its participants' signalling.
type NodeCost struct {
	Metrics        string  `json:"metrics"` // the node's /metrics address
	CPUSeconds     float64 `json:"cpuSeconds"`
	PacketsOut     float64 `json:"packetsOut"`
	PacketsPerCPUS float64 `json:"packetsPerCpuSecond"`
	Participants   float64 `json:"participants"` // with media on this node
}

// ReceiverReport is one participant's receive side.
type ReceiverReport struct {
	Room     string        `json:"room"`
	Name     string        `json:"name"`
	Role     string        `json:"role"`
	Joined   bool          `json:"joined"`
	Kbps     float64       `json:"kbps"`
	Packets  int64         `json:"packets"`
	Expected int64         `json:"expected"`
	Missing  int64         `json:"missing"`
	LossRate float64       `json:"lossRate"`
	Tracks   []TrackReport `json:"tracks"`
}

// TrackReport is one received track at one receiver.
type TrackReport struct {
	TrackID         string           `json:"trackId"`
	Publisher       string           `json:"publisher"`
	Kind            string           `json:"kind"`
	Source          string           `json:"source"`
	Packets         int64            `json:"packets"` // over the window
	Kbps            float64          `json:"kbps"`    // over the window
	Expected        int64            `json:"expected"`
	Missing         int64            `json:"missing"`
	JitterMs        float64          `json:"jitterMs"`
	FirstMediaMs    float64          `json:"firstMediaMs"`
	FirstKeyframeMs float64          `json:"firstKeyframeMs,omitempty"`
	Keyframes       int64            `json:"keyframes,omitempty"`
	LatencyP50Ms    float64          `json:"latencyP50Ms"`
	LatencyP99Ms    float64          `json:"latencyP99Ms"`
	Layer           string           `json:"layer,omitempty"`        // of the last packet (LayerOf)
	LayerPackets    map[string]int64 `json:"layerPackets,omitempty"` // whole run
	ServerLayer     string           `json:"serverLayer,omitempty"`  // the last stream_state
}

// Thresholds make a run fail. A negative value turns a check off.
type Thresholds struct {
	MaxLoss          float64 // loss rate after retransmission, 0.01 = 1 %
	MaxFailures      int     // participants that failed to join or publish
	MaxMissingTracks int     // expected receiver×track pairs that delivered nothing
}

// Check compares the report with the thresholds, records the failures in the report and returns them.
func (r *Report) Check(t Thresholds) []string {
	r.Failures = nil
	if t.MaxLoss >= 0 && r.Loss.Rate > t.MaxLoss {
		r.Failures = append(r.Failures, fmt.Sprintf("loss %.3f%% over the %.3f%% allowed", 100*r.Loss.Rate, 100*t.MaxLoss))
	}
	if failed := r.Participants.Failed + r.Participants.Skipped; t.MaxFailures >= 0 && failed > t.MaxFailures {
		r.Failures = append(r.Failures, fmt.Sprintf("%d participants failed or skipped, %d allowed", failed, t.MaxFailures))
	}
	if n := r.Tracks.Expected - r.Tracks.Received; t.MaxMissingTracks >= 0 && n > t.MaxMissingTracks {
		r.Failures = append(r.Failures, fmt.Sprintf("%d expected tracks never arrived, %d allowed", n, t.MaxMissingTracks))
	}
	return r.Failures
}

// report assembles the Report once every participant has left.
func (r *runner) report(ph *phases, timeline []Sample) *Report {
	o := r.opts
	rep := &Report{Scenario: o.Name, Started: ph.start, Timeline: timeline, Layers: map[string]int{},
		JoinSeconds: ph.joinEnd.Sub(ph.start).Seconds(), SettleSeconds: ph.settled.Sub(ph.joinEnd).Seconds(), MeasuredSeconds: ph.measureEnd.Sub(ph.measureStart).Seconds(),
		Interrupted: ph.interrupted, LoadCPUSeconds: ph.loadCPU[1] - ph.loadCPU[0],
		Options: OptionsSummary{URL: o.URL, Rooms: o.Rooms, Publishers: o.Publishers, ScreenShares: o.ScreenShares,
			AudioPublishers: o.AudioPublishers, Subscribers: o.Subscribers, Simulcast: o.Simulcast, Layer: o.Layer,
			Layout: o.Layout, JoinRate: o.JoinRate, DurationSeconds: o.Duration.Seconds(), Seed: o.Seed, Unpaced: o.Unpaced,
			VideoFile: o.VideoFile, AudioFile: o.AudioFile, Transport: o.Transport}}
	r.countParticipants(rep)

	publisher := map[string]string{} // track id → publisher's participant id
	for _, p := range r.people {
		for _, a := range p.published {
			publisher[a.TrackID] = p.id
		}
	}
	rep.Tracks.Published = len(publisher)
	expected := r.expected()

	var firstMedia, firstKey, jitter, kbps []float64
	var latency []int64
	window := ph.measureEnd.Sub(ph.measureStart).Seconds()
	for _, p := range r.people {
		if p.joinedAt.IsZero() {
			continue
		}
		rr := ReceiverReport{Room: p.spec.Room, Name: p.spec.Name, Role: p.spec.Role, Joined: p.err == nil}
		p.mu.Lock()
		meters := make(map[string]*trackMeter, len(p.meters))
		for id, m := range p.meters {
			meters[id] = m
		}
		tracks, available, states := p.tracks, p.available, p.states
		p.mu.Unlock() // the event loop and pion's callbacks have ended: the maps are no longer written
		for _, id := range expected[p] {
			rep.Tracks.Expected++
			if m := meters[id]; m != nil && ph.recv[1][m].packets > 0 {
				rep.Tracks.Received++
				continue
			}
			state := "no stream_state"
			if st, ok := states[id]; ok {
				state = "stream_state " + st.State + " " + st.Layer + st.Reason
			}
			rep.Tracks.Missing = append(rep.Tracks.Missing, fmt.Sprintf("%s/%s <- %s (%s %s; %s)", p.spec.Room, p.spec.Name, id, publisher[id], tracks[id].Source, state))
		}
		ids := make([]string, 0, len(meters))
		for id := range meters {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var rxBytes int64
		for _, id := range ids {
			m := meters[id]
			end, start := ph.recv[1][m], ph.recv[0][m]
			info := tracks[id]
			tr := TrackReport{TrackID: id, Publisher: info.ParticipantID, Kind: m.kind.String(), Source: info.Source,
				Packets: end.packets - start.packets, Expected: end.expected, Missing: end.missing,
				JitterMs: end.jitterMs, Keyframes: end.keyframes, ServerLayer: states[id].Layer}
			if window > 0 {
				tr.Kbps = float64(end.bytes-start.bytes) * 8 / window / 1e3
			}
			rxBytes += end.bytes - start.bytes
			rr.Packets += tr.Packets
			rr.Expected += end.expected
			rr.Missing += end.missing
			rep.Loss.Duplicates += end.dups
			rep.Loss.Late += end.late
			rep.Received.Packets += end.packets - start.packets
			rep.Received.Bytes += end.bytes - start.bytes
			rep.Received.Padding += end.padding - start.padding
			avail, ok := available[id]
			if !ok {
				avail = p.joinedAt
			}
			if !end.firstAt.IsZero() {
				tr.FirstMediaMs = ms(max(end.firstAt.Sub(avail), 0))
				firstMedia = append(firstMedia, tr.FirstMediaMs)
				jitter = append(jitter, end.jitterMs)
			}
			if m.video && !end.firstKeyAt.IsZero() {
				tr.FirstKeyframeMs = ms(max(end.firstKeyAt.Sub(avail), 0))
				firstKey = append(firstKey, tr.FirstKeyframeMs)
			}
			lat := m.latencies(nil)
			latency = append(latency, lat...)
			if len(lat) > 0 {
				l := durationsMs(lat)
				slices.Sort(l)
				tr.LatencyP50Ms, tr.LatencyP99Ms = percentile(l, 50), percentile(l, 99)
			}
			if m.video && end.packets > 0 {
				tr.Layer, tr.LayerPackets = layerNames(info, end)
				rep.Layers[tr.Layer]++
			}
			rr.Tracks = append(rr.Tracks, tr)
		}
		if window > 0 {
			rr.Kbps = float64(rxBytes) * 8 / window / 1e3
			if len(expected[p]) > 0 {
				kbps = append(kbps, rr.Kbps)
			}
		}
		rr.LossRate = ratio(float64(rr.Missing), float64(rr.Expected))
		rep.Loss.Expected += rr.Expected
		rep.Loss.Missing += rr.Missing
		rep.Receivers = append(rep.Receivers, rr)
	}
	rep.Loss.Rate = ratio(float64(rep.Loss.Missing), float64(rep.Loss.Expected))
	rep.FirstMediaMs, rep.FirstKeyframeMs = distOf(firstMedia), distOf(firstKey)
	rep.JitterMs, rep.ReceiverKbps = distOf(jitter), distOf(kbps)
	rep.LatencyMs = distOf(durationsMs(latency))
	rep.Server = serverCost(ph, r.metricsURLs())
	if rep.Server.Scraped {
		rep.Received.ServerRatio = ratio(float64(rep.Received.Packets), rep.Server.PacketsOut)
	}
	return rep
}

// countParticipants fills in who joined and how fast.
func (r *runner) countParticipants(rep *Report) {
	var join, publish []float64
	reasons := map[string]int{}
	for _, p := range r.people {
		rep.Participants.Planned++
		switch {
		case p.dialAt.IsZero():
			rep.Participants.Skipped++
		case p.err != nil:
			rep.Participants.Failed++
			reasons[p.err.Error()]++
		default:
			rep.Participants.Joined++
		}
		if !p.joinedAt.IsZero() {
			join = append(join, ms(p.joinedAt.Sub(p.dialAt)))
		}
		if p.publishTook > 0 {
			publish = append(publish, ms(p.publishTook))
		}
	}
	for reason, n := range reasons {
		rep.Participants.Errors = append(rep.Participants.Errors, fmt.Sprintf("%d× %s", n, reason))
	}
	sort.Strings(rep.Participants.Errors)
	if len(rep.Participants.Errors) > 10 {
		rep.Participants.Errors = rep.Participants.Errors[:10]
	}
	rep.JoinMs, rep.PublishMs = distOf(join), distOf(publish)
}

// layerNames names the layer of a track's last packet and counts its packets per layer by rid, from
// the layers the server described (q, h, f by index when it did not).
func layerNames(info protocol.Track, s meterSnapshot) (last string, perLayer map[string]int64) {
	rid := func(i int) string {
		if i < len(info.Layers) && info.Layers[i].RID != "" {
			return info.Layers[i].RID
		}
		if i < 3 {
			return [3]string{"q", "h", "f"}[i]
		}
		return fmt.Sprintf("layer%d", i)
	}
	perLayer = map[string]int64{}
	for i, n := range s.layers {
		if n > 0 {
			perLayer[rid(i)] = n
		}
	}
	if s.untagged > 0 {
		perLayer["single"] = s.untagged
	}
	if s.lastLayer < 0 {
		return "single", perLayer
	}
	return rid(s.lastLayer), perLayer
}

// serverCost turns the three /metrics readings into the server's cost over the window.
func serverCost(ph *phases, metricsURLs []string) ServerCost {
	begin, end := ph.server[1], ph.server[2]
	for _, rd := range []serverReading{begin, end} {
		if rd.err != nil {
			return ServerCost{Error: rd.err.Error()}
		}
	}
	d := end.c.sub(begin.c)
	if !d.HaveMediaStats || !d.HaveCPU {
		return ServerCost{Error: "the server's /metrics lacks the media counters or process_cpu_seconds_total"}
	}
	c := ServerCost{Scraped: true, WindowSeconds: end.c.At.Sub(begin.c.At).Seconds(), CPUSeconds: d.CPUSeconds,
		PacketsIn: d.PacketsIn, PacketsOut: d.PacketsOut, BytesOut: d.BytesOut, Retransmitted: d.Retransmitted,
		Participants: begin.c.Participants, PublishedTracks: begin.c.Tracks, OpeningSeconds: ph.windowOpening.Seconds()}
	c.CPUCores = ratio(c.CPUSeconds, c.WindowSeconds)
	c.PacketsOutPerS = ratio(c.PacketsOut, ph.measureEnd.Sub(ph.measureStart).Seconds())
	c.PacketsPerCPUS = ratio(c.PacketsOut, c.CPUSeconds)
	if ph.server[0].err == nil {
		c.JoinCPUSeconds = begin.c.CPUSeconds - ph.server[0].c.CPUSeconds
	}
	if len(begin.nodes) > 1 && len(end.nodes) == len(begin.nodes) && len(metricsURLs) == len(begin.nodes) {
		for i := range begin.nodes {
			d := end.nodes[i].sub(begin.nodes[i])
			c.Nodes = append(c.Nodes, NodeCost{Metrics: metricsURLs[i], CPUSeconds: d.CPUSeconds, PacketsOut: d.PacketsOut,
				PacketsPerCPUS: ratio(d.PacketsOut, d.CPUSeconds), Participants: begin.nodes[i].Participants})
		}
	}
	return c
}
