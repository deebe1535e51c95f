package loadtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// maxReceiverRows bounds the per-receiver table; the JSON report has them all.
const maxReceiverRows = 40

// WriteText writes the report as tables for a person.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	o := r.Options
	fmt.Fprintf(&b, "== %s: %d room(s) × (%d publishers [%d screen], %d audio-only, %d subscribers), simulcast %v, layer %q, layout %s, transport %s, seed %d\n",
		r.Scenario, o.Rooms, o.Publishers, o.ScreenShares, o.AudioPublishers, o.Subscribers, o.Simulcast, o.Layer, o.Layout, o.Transport, o.Seed)
	interrupted := ""
	if r.Interrupted {
		interrupted = " (interrupted)"
	}
	fmt.Fprintf(&b, "join phase %.1f s, first media everywhere %.1f s later, measured %.1f s%s\n\n", r.JoinSeconds, r.SettleSeconds, r.MeasuredSeconds, interrupted)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	p := r.Participants
	fmt.Fprintf(tw, "participants\tplanned %d\tjoined %d\tfailed %d\tskipped %d\n", p.Planned, p.Joined, p.Failed, p.Skipped)
	for _, e := range p.Errors {
		fmt.Fprintf(tw, "  error\t%s\n", e)
	}
	fmt.Fprintf(tw, "tracks\tpublished %d\texpected %d\treceived %d\tmissing %d\n", r.Tracks.Published, r.Tracks.Expected, r.Tracks.Received, len(r.Tracks.Missing))
	for i, m := range r.Tracks.Missing {
		if i == 10 {
			fmt.Fprintf(tw, "  missing\t… %d more\n", len(r.Tracks.Missing)-10)
			break
		}
		fmt.Fprintf(tw, "  missing\t%s\n", m)
	}
	fmt.Fprintln(tw, "\t\tp50\tp95\tp99\tmax\tn")
	row := func(name, unit string, d Dist) {
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%d\n", name, unit, d.P50, d.P95, d.P99, d.Max, d.N)
	}
	row("join (socket → joined)", "ms", r.JoinMs)
	row("publish (offer → answer)", "ms", r.PublishMs)
	row("first media packet", "ms", r.FirstMediaMs)
	row("first keyframe", "ms", r.FirstKeyframeMs)
	row("forwarding latency", "ms", r.LatencyMs)
	row("jitter (RFC 3550)", "ms", r.JitterMs)
	row("bitrate per receiver", "kbit/s", r.ReceiverKbps)
	_ = tw.Flush()

	fmt.Fprintf(&b, "\nloss after retransmission: %d of %d sequence numbers (%.3f%%); duplicates %d, late %d\n",
		r.Loss.Missing, r.Loss.Expected, 100*r.Loss.Rate, r.Loss.Duplicates, r.Loss.Late)
	fmt.Fprintf(&b, "layers received (video tracks by their last packet): %s\n", layerSummary(r.Layers))
	fmt.Fprintf(&b, "received in the window: %d packets, %.1f MB, %d padding probes\n", r.Received.Packets, float64(r.Received.Bytes)/1e6, r.Received.Padding)

	s := r.Server
	if s.Scraped {
		fmt.Fprintf(&b, "server over %.1f s: %.2f CPU-s (%.2f cores), %.0f packets in, %.0f packets out (%.0f/s), %.0f retransmitted, %.1f MB out\n",
			s.WindowSeconds, s.CPUSeconds, s.CPUCores, s.PacketsIn, s.PacketsOut, s.PacketsOutPerS, s.Retransmitted, s.BytesOut/1e6)
		fmt.Fprintf(&b, "server: %.0f forwarded packets per CPU-second; receivers read %.4f of the packets it forwarded; joins cost %.2f CPU-s\n",
			s.PacketsPerCPUS, r.Received.ServerRatio, s.JoinCPUSeconds)
		for _, n := range s.Nodes {
			fmt.Fprintf(&b, "  node %s: %.2f CPU-s, %.0f packets out (%.0f per CPU-second), %.0f participants with media\n",
				n.Metrics, n.CPUSeconds, n.PacketsOut, n.PacketsPerCPUS, n.Participants)
		}
	} else {
		fmt.Fprintf(&b, "server cost: not measured (%s)\n", s.Error)
	}
	fmt.Fprintf(&b, "load generator: %.2f CPU-s over the whole run\n", r.LoadCPUSeconds)

	if len(r.Receivers) > 0 {
		b.WriteString("\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "receiver\trole\tkbit/s\tloss\ttracks\tlayers")
		for i, rr := range r.Receivers {
			if i == maxReceiverRows {
				fmt.Fprintf(tw, "… %d more receivers (see -json)\n", len(r.Receivers)-maxReceiverRows)
				break
			}
			layers := map[string]int{}
			for _, t := range rr.Tracks {
				if t.Layer != "" {
					layers[t.Layer]++
				}
			}
			fmt.Fprintf(tw, "%s/%s\t%s\t%.0f\t%.3f%%\t%d\t%s\n", rr.Room, rr.Name, rr.Role, rr.Kbps, 100*rr.LossRate, len(rr.Tracks), layerSummary(layers))
		}
		_ = tw.Flush()
	}
	if len(r.Failures) > 0 {
		b.WriteString("\nFAILED:\n")
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// layerSummary is "f×3 q×2", in a stable order.
func layerSummary(layers map[string]int) string {
	if len(layers) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(layers))
	for _, k := range slices.Sorted(maps.Keys(layers)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, layers[k]))
	}
	return strings.Join(parts, " ")
}
