package node

import (
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/huddlehq/huddle/sfu"
)

// Metric names the load tester and dashboards read. The media counters are read from the SFU at scrape
// time, so the forwarding path pays nothing for them.
const (
	MetricPacketsIn        = "huddle_media_packets_in_total"
	MetricPacketsOut       = "huddle_media_packets_out_total"
	MetricBytesIn          = "huddle_media_bytes_in_total"
	MetricBytesOut         = "huddle_media_bytes_out_total"
	MetricRetransmitted    = "huddle_media_retransmitted_packets_total"
	MetricRooms            = "huddle_rooms"
	MetricParticipants     = "huddle_participants"
	MetricTracks           = "huddle_tracks"
	MetricSessions         = "huddle_signaling_sessions"
	MetricCPUSeconds       = "process_cpu_seconds_total" // from the process collector
	MetricNACKed           = "huddle_media_nacked_packets_total"
	MetricKeyframeRequests = "huddle_media_keyframe_requests_total"
	MetricLayerSwitches    = "huddle_media_layer_switches_total"
	MetricPauses           = "huddle_media_pauses_total"
	// Distributions over the participants connected now (rebuilt at each scrape).
	MetricDownlinkEstimate = "huddle_downlink_estimate_bps"
	MetricDownlinkLoss     = "huddle_downlink_loss_ratio"
	MetricDownlinkRTT      = "huddle_downlink_rtt_seconds"
	// Cluster mode only.
	MetricClusterRegistered = "huddle_cluster_registered"  // 1 while the node is registered in Redis
	MetricClusterOwnedRooms = "huddle_cluster_owned_rooms" // rooms this node holds the claim of
	MetricRedisRoundTrip    = "huddle_redis_heartbeat_seconds"
	MetricRedisErrors       = "huddle_redis_errors_total"
)

// nodeCollector turns the node's own counters into Prometheus metrics on every scrape.
type nodeCollector struct {
	n     *Node
	descs map[string]*prometheus.Desc
}

func newNodeCollector(n *Node) *nodeCollector {
	help := map[string]string{
		MetricPacketsIn:         "RTP packets received from publishers.",
		MetricPacketsOut:        "RTP packets forwarded to subscribers (retransmissions not included).",
		MetricBytesIn:           "RTP bytes received from publishers.",
		MetricBytesOut:          "RTP bytes forwarded to subscribers.",
		MetricRetransmitted:     "RTP packets resent from the cache to answer subscribers' NACKs.",
		MetricRooms:             "Rooms with media on this node.",
		MetricParticipants:      "Participants in this node's rooms.",
		MetricTracks:            "Published tracks on this node.",
		MetricSessions:          "Open signalling sessions.",
		MetricNACKed:            "RTP packets subscribers asked for again (NACK).",
		MetricKeyframeRequests:  "Keyframe requests (PLI) sent to publishers, after the per-layer throttle.",
		MetricLayerSwitches:     "Changes of the simulcast layer forwarded to a subscriber.",
		MetricPauses:            "Times a subscriber's video was paused (for bandwidth or on request).",
		MetricDownlinkEstimate:  "Participants connected now by their downlink's bandwidth estimate (bits per second).",
		MetricDownlinkLoss:      "Participants connected now by the share of packets they report lost.",
		MetricDownlinkRTT:       "Participants connected now by their round trip (from receiver reports; those not measured yet left out).",
		MetricRedisRoundTrip:    "Cluster mode: the last heartbeat's round trip to Redis, in seconds.",
		MetricRedisErrors:       "Cluster mode: heartbeats to Redis that failed.",
		MetricClusterRegistered: "Cluster mode: 1 while this node is registered in Redis (heart-beating), else 0.",
		MetricClusterOwnedRooms: "Cluster mode: rooms this node owns (holds the claim of).",
	}
	c := &nodeCollector{n: n, descs: make(map[string]*prometheus.Desc, len(help))}
	for name, h := range help {
		c.descs[name] = prometheus.NewDesc(name, h, nil, nil)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.n.sfu.Stats()
	sig := c.n.signaling.Stats()
	counter := func(name string, v uint64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, float64(v))
	}
	gauge := func(name string, v int) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, float64(v))
	}
	counter(MetricPacketsIn, st.PacketsIn)
	counter(MetricPacketsOut, st.PacketsOut)
	counter(MetricBytesIn, st.BytesIn)
	counter(MetricBytesOut, st.BytesOut)
	counter(MetricRetransmitted, st.Retransmitted)
	counter(MetricNACKed, st.NACKed)
	counter(MetricKeyframeRequests, st.KeyframeRequests)
	counter(MetricLayerSwitches, st.LayerSwitches)
	counter(MetricPauses, st.Pauses)
	gauge(MetricRooms, st.Rooms)
	gauge(MetricParticipants, st.Participants)
	gauge(MetricTracks, st.Tracks)
	gauge(MetricSessions, sig.Sessions)
	links := c.n.sfu.Links()
	// Buckets: from a phone on a weak cell to a fast office link; from no loss to a call that breaks up.
	ch <- distribution(c.descs[MetricDownlinkEstimate], links, []float64{150e3, 300e3, 600e3, 1e6, 2e6, 4e6, 8e6},
		func(l sfu.LinkStat) float64 { return float64(l.EstimateBps) })
	ch <- distribution(c.descs[MetricDownlinkLoss], links, []float64{0.001, 0.01, 0.02, 0.05, 0.1, 0.2},
		func(l sfu.LinkStat) float64 { return l.Loss })
	measured := slices.DeleteFunc(slices.Clone(links), func(l sfu.LinkStat) bool { return l.RoundTrip <= 0 })
	ch <- distribution(c.descs[MetricDownlinkRTT], measured, []float64{0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8},
		func(l sfu.LinkStat) float64 { return l.RoundTrip.Seconds() })
	if cl := c.n.cluster; cl != nil {
		registered := 0
		if cl.registry.Healthy() {
			registered = 1
		}
		gauge(MetricClusterRegistered, registered)
		gauge(MetricClusterOwnedRooms, len(cl.registry.Owned()))
		rtt, failures := cl.registry.RedisHealth()
		ch <- prometheus.MustNewConstMetric(c.descs[MetricRedisRoundTrip], prometheus.GaugeValue, rtt.Seconds())
		counter(MetricRedisErrors, failures)
	}
}

// distribution is a histogram of value over the links as they are now.
func distribution(desc *prometheus.Desc, links []sfu.LinkStat, bounds []float64, value func(sfu.LinkStat) float64) prometheus.Metric {
	buckets := make(map[float64]uint64, len(bounds))
	var sum float64
	for _, l := range links {
		v := value(l)
		sum += v
		for _, b := range bounds {
			if v <= b {
				buckets[b]++
			}
		}
	}
	return prometheus.MustNewConstHistogram(desc, uint64(len(links)), sum, buckets)
}

// metricsHandler serves /metrics from a registry of the node's own (no package-level registry, so
// several nodes in one test process do not collide).
func metricsHandler(n *Node) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newNodeCollector(n), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	n.ops.register(reg, n.cfg.Version)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
