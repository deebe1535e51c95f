package loadtest

import (
	"math"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/sfu/codec"
)

// Reservoir sizes. A whole run keeps every latency sample of a track up to runSamples (about 40 s of
// audio or 70 s of a 30 fps video's frames) and a uniform sample beyond; each one-second interval keeps
// up to recentSamples per track, more than one track sends stamps in a second.
const (
	runSamples    = 2048
	recentSamples = 64
	// maxPlausibleLatency rejects "stamps" that are not ours: replayed real media carries none, and eight
	// of its bytes read as a time land nowhere near now.
	maxPlausibleLatency = 10 * time.Second
)

// trackMeter measures one track a participant receives. Its reader goroutine (run) is the only writer
// and holds mu for a few field updates per packet; the sampler and the report take mu briefly to copy a
// snapshot. Nothing is allocated per packet.
type trackMeter struct {
	// Immutable after newTrackMeter.
	trackID   string
	kind      webrtc.RTPCodecType
	clockRate float64
	keyKind   codec.Kind // keyframe test for the negotiated codec
	stampKind codec.Kind // where SentAt looks for the stamp: VP8 descriptor or byte 1
	video     bool

	mu sync.Mutex
	st meterState
}

type meterState struct {
	packets, bytes int64 // media packets (padding-only probes excluded) and their bytes, RTP header included
	padding        int64 // padding-only packets (the server's bandwidth probes)
	seq            seqWindow
	firstAt        time.Time // first media packet
	firstKeyAt     time.Time // first packet starting a keyframe (video)
	keyframes      int64
	jitter         float64 // RFC 3550 interarrival jitter, RTP clock units
	lastTS         uint32
	lastArrival    int64 // ns
	haveLast       bool
	layers         [media.MaxSimulcastLayers]int64 // packets per simulcast layer (LayerOf)
	untagged       int64                           // video packets without a layer tag
	lastLayer      int                             // -1 until a tagged packet arrives
	latency        reservoir                       // forwarding latency (ns) over the run
	recent         reservoir                       // since the last sample
	latMax         int64
}

func newTrackMeter(trackID string, codecParams webrtc.RTPCodecParameters, kind webrtc.RTPCodecType, seed uint64) *trackMeter {
	m := &trackMeter{trackID: trackID, kind: kind, clockRate: float64(codecParams.ClockRate),
		keyKind: codec.KindOf(codecParams.MimeType), video: kind == webrtc.RTPCodecTypeVideo}
	if m.clockRate == 0 {
		m.clockRate = 90000
	}
	m.stampKind = codec.KindOther
	if strings.EqualFold(codecParams.MimeType, webrtc.MimeTypeVP8) {
		m.stampKind = codec.KindVP8
	}
	m.st.lastLayer = -1
	m.st.latency = newReservoir(runSamples, seed)
	m.st.recent = newReservoir(recentSamples, seed^0x9e3779b97f4a7c15)
	return m
}

// run reads packets with read (a TrackRemote's Read) until it fails, i.e. the track's PeerConnection
// closed, and meters every one.
func (m *trackMeter) run(read func([]byte) (int, error)) {
	buf := make([]byte, 1500)
	var h rtp.Header
	for {
		n, err := read(buf)
		if err != nil {
			return
		}
		m.observe(&h, buf[:n], time.Now())
	}
}

// observe meters one packet as it arrived at now. h is scratch space reused across calls.
func (m *trackMeter) observe(h *rtp.Header, pkt []byte, now time.Time) {
	hn, err := h.Unmarshal(pkt)
	if err != nil {
		return
	}
	payload := pkt[hn:]
	if h.Padding && len(payload) > 0 {
		if pad := int(payload[len(payload)-1]); pad <= len(payload) {
			payload = payload[:len(payload)-pad]
		}
	}
	// Parse outside the lock.
	var (
		sentAt    time.Time
		stamped   bool
		layer     = -1
		tagged    bool
		keyframe  bool
		isPadding = len(payload) == 0
	)
	if !isPadding {
		sentAt, stamped = media.SentAt(m.stampKind, payload)
		if m.video {
			layer, tagged = media.LayerOf(payload)
			keyframe = codec.IsKeyframe(m.keyKind, payload)
		}
	}
	var latency int64
	if stamped {
		latency = now.Sub(sentAt).Nanoseconds()
		stamped = latency >= 0 && latency < maxPlausibleLatency.Nanoseconds()
	}
	arrival := now.UnixNano()

	m.mu.Lock()
	defer m.mu.Unlock()
	st := &m.st
	st.seq.add(h.SequenceNumber)
	if isPadding {
		st.padding++
		return
	}
	st.packets++
	st.bytes += int64(len(pkt))
	if st.firstAt.IsZero() {
		st.firstAt = now
	}
	if keyframe {
		st.keyframes++
		if st.firstKeyAt.IsZero() {
			st.firstKeyAt = now
		}
	}
	if st.haveLast {
		// RFC 3550 6.4.1: D is the difference of arrival spacing and RTP timestamp spacing.
		d := float64(arrival-st.lastArrival)*m.clockRate/1e9 - float64(int32(h.Timestamp-st.lastTS))
		st.jitter += (math.Abs(d) - st.jitter) / 16
	}
	st.lastTS, st.lastArrival, st.haveLast = h.Timestamp, arrival, true
	if m.video {
		if tagged && layer < len(st.layers) {
			st.layers[layer]++
			st.lastLayer = layer
		} else {
			st.untagged++
		}
	}
	if stamped {
		st.latency.add(latency)
		st.recent.add(latency)
		st.latMax = max(st.latMax, latency)
	}
}

// meterSnapshot is a copy of a meter's counters at one instant.
type meterSnapshot struct {
	packets, bytes, padding int64
	expected, missing       int64
	dups, late              int64
	firstAt, firstKeyAt     time.Time
	keyframes               int64
	jitterMs                float64
	layers                  [media.MaxSimulcastLayers]int64
	untagged                int64
	lastLayer               int
	latMax                  int64
	latSeen                 int64
}

// snapshot copies the counters. tail is how many of the newest sequence numbers are not yet judged
// (a retransmission may still fill them). When recent is not nil, the interval's latency samples are
// appended to it and forgotten.
func (m *trackMeter) snapshot(tail int64, recent *[]int64) meterSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := &m.st
	s := meterSnapshot{packets: st.packets, bytes: st.bytes, padding: st.padding, dups: st.seq.dups, late: st.seq.late,
		firstAt: st.firstAt, firstKeyAt: st.firstKeyAt, keyframes: st.keyframes,
		jitterMs: st.jitter / m.clockRate * 1000, layers: st.layers, untagged: st.untagged, lastLayer: st.lastLayer,
		latMax: st.latMax, latSeen: st.latency.seen}
	s.expected, s.missing = st.seq.counts(tail)
	if recent != nil {
		*recent = st.recent.drain(*recent)
	}
	return s
}

// resetLatency forgets the latency samples so far: the report's latency covers the measurement window,
// not the joins (whose first packets include the stored keyframe a new subscriber starts from).
func (m *trackMeter) resetLatency() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.latency.samples, m.st.latency.seen, m.st.latMax = m.st.latency.samples[:0], 0, 0
}

// latencies appends the run's latency samples (ns) to dst.
func (m *trackMeter) latencies(dst []int64) []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append(dst, m.st.latency.samples...)
}
