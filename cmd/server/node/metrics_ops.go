package node

import (
	"regexp"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Operators' metrics that are events rather than counters read at scrape time: how long joins take and
// which errors sessions get (signaling.Observer), and what build runs. Labels are bounded: an error code
// is one of the server's own (anything else is counted as "other"), the build info has one series.
const (
	MetricJoinSeconds     = "huddle_join_duration_seconds"
	MetricSignalingErrors = "huddle_signaling_errors_total"
	MetricBuildInfo       = "huddle_build_info"
)

// errorCodeRE is the shape of the protocol's error codes (PROTOCOL.md).
var errorCodeRE = regexp.MustCompile(`^[a-z][a-z_]{1,39}$`)

// opsMetrics implements signaling.Observer with Prometheus collectors; safe for concurrent use.
type opsMetrics struct {
	join   prometheus.Histogram
	errors *prometheus.CounterVec
}

func newOpsMetrics() *opsMetrics {
	return &opsMetrics{
		join: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricJoinSeconds,
			Help:    "Time from a session's join to its joined reply (lobby waits not included).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricSignalingErrors,
			Help: "Error messages sent to sessions, by protocol error code."}, []string{"code"}),
	}
}

// Joined implements signaling.Observer.
func (m *opsMetrics) Joined(took time.Duration) { m.join.Observe(took.Seconds()) }

// ErrorSent implements signaling.Observer.
func (m *opsMetrics) ErrorSent(code string) {
	if !errorCodeRE.MatchString(code) {
		code = "other"
	}
	m.errors.WithLabelValues(code).Inc()
}

// register adds the collectors and the build info to reg.
func (m *opsMetrics) register(reg *prometheus.Registry, version string) {
	if version == "" {
		version = "dev"
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricBuildInfo, Help: "1, labelled with the build's version and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()}})
	info.Set(1)
	reg.MustRegister(m.join, m.errors, info)
}
