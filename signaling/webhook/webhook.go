// Package webhook tells the operator's HTTP endpoints what happens in the rooms: room started/finished,
// participant joined/left, track published/unpublished, POSTed as signed JSON (see sign.go and
// PROTOCOL.md "Webhooks").
//
// Notify never blocks and never does I/O: it numbers the event, encodes it and appends it to one bounded
// queue per URL. One sender goroutine per URL drains its queue in order, retrying a failed delivery with
// bounded exponential backoff before moving on; when a queue is full the oldest event is dropped (and
// logged), so a receiver that is down or hangs costs memory bounded by the queue and never slows
// signalling or media.
//
// Locking: Notifier.mu orders Notify calls (sequence numbers and enqueueing happen under it, so every
// URL sees events in the order Notify was called) and is never held across I/O; each sender's queue has
// its own mutex, a leaf. Notify and Close are safe from any goroutine; after Close, Notify drops events.
// Goroutines: one per URL, ended by Close.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Event names.
const (
	RoomStarted           = "room_started"
	RoomFinished          = "room_finished"
	ParticipantJoined     = "participant_joined"
	ParticipantLeft       = "participant_left"
	TrackPublished        = "track_published"
	TrackUnpublished      = "track_unpublished"
	RecordingFinished     = "recording_finished"
	maxURLs               = 16
	defaultQueueLength    = 256
	defaultMaxAttempts    = 6
	defaultInitialBackoff = 500 * time.Millisecond
	defaultMaxBackoff     = 30 * time.Second
	defaultTimeout        = 5 * time.Second
)

// Event is one webhook body.
type Event struct {
	ID          string       `json:"id"`        // unique; a receiver may see it twice after a retry
	Event       string       `json:"event"`     // one of the names above
	Seq         uint64       `json:"seq"`       // increases by one per event of this node; a gap means dropped events
	CreatedAt   int64        `json:"createdAt"` // unix milliseconds
	Room        Room         `json:"room"`
	Participant *Participant `json:"participant,omitempty"`
	Track       *Track       `json:"track,omitempty"`
	Recording   *Recording   `json:"recording,omitempty"`
}

// Recording is a finished recording: where its files are and why it ended.
type Recording struct {
	ID    string   `json:"id"`
	Dir   string   `json:"dir"`   // on the node that recorded
	Files []string `json:"files"` // names inside Dir: the tracks' files, then manifest.json
	Ended string   `json:"ended"` // stopped, disk_full, failed, room_ended
	Node  string   `json:"node,omitempty"`
}

// Room names the room an event happened in.
type Room struct {
	Name string `json:"name"`
}

// Participant is who joined, left or published.
type Participant struct {
	ID       string `json:"id"`
	Identity string `json:"identity"`
	Name     string `json:"name"`
	Role     string `json:"role"`
}

// Track is the track published or unpublished.
type Track struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Source    string `json:"source"`
	Codec     string `json:"codec,omitempty"`
	Simulcast bool   `json:"simulcast,omitempty"`
}

// Sink receives events; *Notifier implements it and the control plane calls it.
type Sink interface {
	Notify(Event)
}

// Config sets up delivery. Zero values take the defaults in parentheses.
type Config struct {
	URLs   []string // where to POST; http or https
	KeyID  string   // sent in Huddle-Key so a receiver with several keys knows which secret to use
	Secret []byte   // signs every body (HMAC-SHA256)

	QueueLength    int           // events waiting per URL before the oldest is dropped (256)
	MaxAttempts    int           // deliveries tried per event and URL (6)
	InitialBackoff time.Duration // wait after the first failure, doubled after each (0.5 s)
	MaxBackoff     time.Duration // cap of the wait (30 s)
	Timeout        time.Duration // one POST, connection to response (5 s)
	Client         *http.Client  // nil: a client with Timeout
	Logger         *slog.Logger
}

func (c *Config) setDefaults() {
	if c.QueueLength <= 0 {
		c.QueueLength = defaultQueueLength
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = defaultMaxAttempts
	}
	if c.InitialBackoff <= 0 {
		c.InitialBackoff = defaultInitialBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = defaultMaxBackoff
	}
	if c.Timeout <= 0 {
		c.Timeout = defaultTimeout
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: c.Timeout}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// ValidateURL checks one receiver URL.
func ValidateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("webhook url %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook url %q: must be http(s)://host/...", raw)
	}
	return nil
}

// Notifier delivers events to every configured URL.
type Notifier struct {
	log *slog.Logger

	mu      sync.Mutex
	seq     uint64
	closed  bool
	senders []*sender

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks the config and starts one sender per URL.
func New(cfg Config) (*Notifier, error) {
	cfg.setDefaults()
	if len(cfg.URLs) == 0 || len(cfg.URLs) > maxURLs {
		return nil, fmt.Errorf("webhook: need 1 to %d urls, got %d", maxURLs, len(cfg.URLs))
	}
	if len(cfg.Secret) == 0 {
		return nil, errors.New("webhook: no secret to sign with")
	}
	for _, u := range cfg.URLs {
		if err := ValidateURL(u); err != nil {
			return nil, fmt.Errorf("webhook: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{log: cfg.Logger, cancel: cancel}
	for _, u := range cfg.URLs {
		s := newSender(u, cfg)
		n.senders = append(n.senders, s)
		n.wg.Add(1)
		go func() { defer n.wg.Done(); s.run(ctx) }()
	}
	return n, nil
}

// Notify queues ev for every URL. It fills in ID, Seq and CreatedAt, never blocks and never fails: an
// event that cannot be queued is dropped with a log line.
func (n *Notifier) Notify(ev Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.seq++
	ev.Seq = n.seq
	ev.ID = newEventID()
	ev.CreatedAt = time.Now().UnixMilli()
	body, err := json.Marshal(ev)
	if err != nil { // cannot happen with these types; never let it reach a receiver half-made
		n.log.Error("webhook: encode event", "event", ev.Event, "err", err)
		return
	}
	q := queued{id: ev.ID, event: ev.Event, body: body}
	for _, s := range n.senders {
		s.push(q)
	}
}

// Close stops taking events, lets the senders deliver what is queued until ctx ends, then abandons the
// rest and waits for the senders to stop.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	for _, s := range n.senders {
		s.finish()
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel() // aborts deliveries in flight and backoff waits
		<-done
		return fmt.Errorf("webhook: undelivered events abandoned: %w", ctx.Err())
	}
}

// Dropped counts events dropped from full queues, over every URL.
func (n *Notifier) Dropped() uint64 {
	var total uint64
	for _, s := range n.senders {
		total += s.droppedCount()
	}
	return total
}

func newEventID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("EV_%x", b)
}
