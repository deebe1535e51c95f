package loadtest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strings"
	"time"
)

// Layout is how a receiver shows the video tracks it receives, which decides the track_settings it
// sends for each (render size, priority, pause), as the web client's tiles do.
type Layout string

// Layouts.
const (
	// LayoutNone sends no track settings beyond Options.Layer: the server picks by bandwidth.
	LayoutNone Layout = "none"
	// LayoutSpeaker shows one main tile, the first screen share or else the first camera, at 1280x720
	// with priority high, and every other video as a 320x180 thumbnail with priority low.
	LayoutSpeaker Layout = "speaker"
	// LayoutGrid shows up to nine videos as 3x3 tiles of 426x240, priority normal; any further video is
	// paused (the next page of the grid).
	LayoutGrid Layout = "3x3"
)

// Limits that keep a run bounded in count and time, whatever the flags say.
const (
	MaxParticipants = 1000
	MaxDuration     = time.Hour
	MinDuration     = 500 * time.Millisecond
	MaxJoinRate     = 200
	// joinTimeout bounds one participant's dial, join and publish.
	joinTimeout = 20 * time.Second
)

// Options describe one load run: where the server is, who joins which rooms, what they send and ask
// for, how fast they join and how long the media is measured. Presets fill in the scenario fields.
type Options struct {
	// URL is the server's WebSocket endpoint, e.g. ws://127.0.0.1:7880/ws. It must be a loopback
	// address: the client's ICE is loopback only and latency needs the server's host clock. Several nodes
	// of one cluster are separated by commas: each room's participants take the nodes in turn, starting
	// one node further for each room, so every room spans the nodes and the rooms' first joiners (whose
	// node owns the room) are spread over them.
	URL string
	// MetricsURL is the server's Prometheus endpoint, one per node of URL separated by commas; ""
	// derives http://<host>/metrics from each URL, "off" skips the server's cost.
	MetricsURL string

	// Name labels the report (the preset's name, or "custom").
	Name string
	// Rooms run side by side, each with the participants below.
	Rooms int
	// Publishers per room send a camera (simulcast unless Simulcast is false) and a microphone, and
	// receive everyone else.
	Publishers int
	// ScreenShares per room: that many of the publishers also share a screen.
	ScreenShares int
	// AudioPublishers per room send a microphone only, and receive everyone else.
	AudioPublishers int
	// Subscribers per room only receive.
	Subscribers int
	// Simulcast makes cameras send three layers (CameraLayers); otherwise one layer as large as the top.
	Simulcast bool
	// Layer caps every camera a receiver gets (track_settings maxLayer): "q", "h", "f" or "" (no cap).
	Layer string
	// Layout decides the other track settings; "" is LayoutNone.
	Layout Layout

	// JoinRate is participants joining per second, over all rooms (publishers first).
	JoinRate float64
	// Duration is how long media is measured once everyone has joined.
	Duration time.Duration
	// Seed makes the run repeatable: the subscribers' join order and each source's start phase.
	Seed int64
	// KeyframeInterval is how often synthetic cameras send a keyframe unasked (3 s).
	KeyframeInterval time.Duration
	// Unpaced sends each synthetic video frame in one burst instead of pacing it as a browser does
	// (media.BrowserPacing): a harsher load than real senders make.
	Unpaced bool
	// VideoFile (IVF, VP8) and AudioFile (Ogg Opus) replace the synthetic camera and microphone with a
	// real clip replayed in a loop. Replayed media carries no send stamps: no latency for those tracks,
	// and a replayed camera is one layer.
	VideoFile, AudioFile string
	// Transport confines every participant's media to one path: TransportUDP (""), TransportTCP or a
	// TURN relay transport (transport.go).
	Transport string
	// RoomPrefix names the rooms <prefix>-<n>; "" picks one from Name and the clock, so that runs
	// against one server do not meet.
	RoomPrefix string

	// Logger gets debug and warning logs; nil discards them.
	Logger *slog.Logger
	// Progress gets a line a second while the run goes, from the run's sampler goroutine; nil: none. If
	// it shares a writer with Logger, that writer must be safe for concurrent use (os.Stderr is).
	Progress io.Writer
	// OnMeasure, if set, runs when the measurement window opens, with its length (e.g. to profile the
	// server over it). It runs on Run's goroutine and must not block.
	OnMeasure func(time.Duration)
}

// withDefaults fills in what a zero Options leaves out.
func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = "custom"
	}
	if o.Layout == "" {
		o.Layout = LayoutNone
	}
	if o.Transport == "" {
		o.Transport = TransportUDP
	}
	if o.JoinRate == 0 {
		o.JoinRate = 10
	}
	if o.KeyframeInterval == 0 {
		o.KeyframeInterval = 3 * time.Second
	}
	if o.RoomPrefix == "" {
		o.RoomPrefix = fmt.Sprintf("%s-%x", o.Name, time.Now().UnixNano()&0xffffff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Participants is how many join, over all rooms.
func (o Options) Participants() int {
	return o.Rooms * (o.Publishers + o.AudioPublishers + o.Subscribers)
}

// Validate says what is wrong with the options, all at once.
func (o Options) Validate() error {
	var errs []error
	if _, err := o.metricsURLs(); err != nil {
		errs = append(errs, err)
	}
	if o.Rooms < 1 {
		errs = append(errs, fmt.Errorf("rooms %d: at least 1", o.Rooms))
	}
	if o.Publishers < 0 || o.AudioPublishers < 0 || o.Subscribers < 0 || o.ScreenShares < 0 {
		errs = append(errs, errors.New("participant counts must not be negative"))
	}
	if o.Publishers+o.AudioPublishers < 1 {
		errs = append(errs, errors.New("a room needs at least one publisher (camera or audio only)"))
	}
	if o.Publishers+o.AudioPublishers+o.Subscribers < 2 {
		errs = append(errs, errors.New("a room needs at least two participants, or nobody receives"))
	}
	if o.ScreenShares > o.Publishers {
		errs = append(errs, fmt.Errorf("screen shares %d: more than the %d publishers", o.ScreenShares, o.Publishers))
	}
	if n := o.Participants(); n > MaxParticipants {
		errs = append(errs, fmt.Errorf("%d participants: at most %d", n, MaxParticipants))
	}
	switch o.Layer {
	case "", "q", "h", "f":
	default:
		errs = append(errs, fmt.Errorf("layer %q: q, h, f or empty", o.Layer))
	}
	switch o.Layout {
	case "", LayoutNone, LayoutSpeaker, LayoutGrid:
	default:
		errs = append(errs, fmt.Errorf("layout %q: none, speaker or 3x3", o.Layout))
	}
	if o.JoinRate < 0 || o.JoinRate > MaxJoinRate || math.IsNaN(o.JoinRate) {
		errs = append(errs, fmt.Errorf("join rate %v: 0 to %d a second", o.JoinRate, MaxJoinRate))
	}
	if o.Duration < MinDuration || o.Duration > MaxDuration {
		errs = append(errs, fmt.Errorf("duration %v: %v to %v", o.Duration, MinDuration, MaxDuration))
	}
	if err := validTransport(o.Transport); err != nil {
		errs = append(errs, err)
	}
	if o.KeyframeInterval < 0 {
		errs = append(errs, fmt.Errorf("keyframe interval %v is negative", o.KeyframeInterval))
	}
	return errors.Join(errs...)
}

// nodeURLs is URL split into its nodes.
func (o Options) nodeURLs() []string {
	var urls []string
	for u := range strings.SplitSeq(o.URL, ",") {
		urls = append(urls, strings.TrimSpace(u))
	}
	return urls
}

// metricsURLs checks URL and returns each node's /metrics address (none when off).
func (o Options) metricsURLs() ([]string, error) {
	nodes := o.nodeURLs()
	var derived []string
	for _, node := range nodes {
		u, err := url.Parse(node)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return nil, fmt.Errorf("url %q: want ws://127.0.0.1:PORT/ws", node)
		}
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("url %q: the server must be on this host (loopback): ICE is loopback only", node)
		}
		scheme := "http"
		if u.Scheme == "wss" {
			scheme = "https"
		}
		derived = append(derived, scheme+"://"+u.Host+"/metrics")
	}
	switch o.MetricsURL {
	case "off":
		return nil, nil
	case "":
		return derived, nil
	}
	given := strings.Split(o.MetricsURL, ",")
	if len(given) != len(nodes) {
		return nil, fmt.Errorf("metrics url %q: %d addresses for %d nodes", o.MetricsURL, len(given), len(nodes))
	}
	for i, g := range given {
		g = strings.TrimSpace(g)
		m, err := url.Parse(g)
		if err != nil || (m.Scheme != "http" && m.Scheme != "https") || !isLoopback(m.Hostname()) {
			return nil, fmt.Errorf("metrics url %q: want http://127.0.0.1:PORT/metrics", g)
		}
		given[i] = g
	}
	return given, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Scaled returns the options scaled by f, rounding to the nearest and keeping at least one of anything
// the scenario had. A scenario of several rooms scales its number of rooms, each keeping its shape (a
// 1:1 consultation stays 1:1); a scenario of one room scales the people in it, except that a single
// publisher (the teacher, the streamer) and its screen share stay.
func (o Options) Scaled(f float64) Options {
	if f <= 0 || f == 1 {
		return o
	}
	scale := func(n int) int {
		if n == 0 {
			return 0
		}
		return max(1, int(math.Round(float64(n)*f)))
	}
	if o.Rooms > 1 {
		o.Rooms = scale(o.Rooms)
		return o
	}
	o.Publishers = scale(o.Publishers)
	o.ScreenShares = min(o.ScreenShares, o.Publishers)
	o.AudioPublishers = scale(o.AudioPublishers)
	o.Subscribers = scale(o.Subscribers)
	return o
}
