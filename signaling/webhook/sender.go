package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// queued is one encoded event waiting for delivery.
type queued struct {
	id, event string
	body      []byte
}

// sender delivers to one URL, one event at a time, in order.
type sender struct {
	url string
	cfg Config
	log *slog.Logger

	wake chan struct{} // capacity 1: "the queue changed"

	mu        sync.Mutex // guards the fields below; a leaf, never held across I/O
	queue     []queued
	finishing bool // Close was called: drain and stop
	dropped   uint64
}

func newSender(url string, cfg Config) *sender {
	return &sender{url: url, cfg: cfg, log: cfg.Logger.With("webhook", url), wake: make(chan struct{}, 1)}
}

// push appends q, dropping the oldest queued event when the queue is full.
func (s *sender) push(q queued) {
	s.mu.Lock()
	var lost *queued
	if len(s.queue) >= s.cfg.QueueLength {
		oldest := s.queue[0]
		lost = &oldest
		s.queue[0] = queued{}
		s.queue = s.queue[1:]
		s.dropped++
	}
	s.queue = append(s.queue, q)
	dropped := s.dropped
	s.mu.Unlock()
	if lost != nil {
		// A receiver that loses events must be noticed, but a dead one must not flood the log: warn on the
		// first drop and every 100th, the rest at debug.
		level := slog.LevelDebug
		if dropped%100 == 1 {
			level = slog.LevelWarn
		}
		s.log.Log(context.Background(), level, "webhook queue full; dropped the oldest event", "event", lost.event, "id", lost.id, "dropped_total", dropped)
	}
	s.signal()
}

func (s *sender) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sender) finish() {
	s.mu.Lock()
	s.finishing = true
	s.mu.Unlock()
	s.signal()
}

func (s *sender) droppedCount() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// next pops the oldest event; done is true when the queue is empty and Close was called.
func (s *sender) next() (q queued, ok, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return queued{}, false, s.finishing
	}
	q = s.queue[0]
	s.queue[0] = queued{} // let the body be collected
	s.queue = s.queue[1:]
	return q, true, false
}

// run delivers until Close has been called and the queue is empty, or ctx ends.
func (s *sender) run(ctx context.Context) {
	for {
		q, ok, done := s.next()
		if done {
			return
		}
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		s.deliver(ctx, q)
		if ctx.Err() != nil {
			return
		}
	}
}

// deliver POSTs one event, retrying with exponential backoff until it is accepted, refused for good
// (a 4xx other than 408 and 429), MaxAttempts is reached, or ctx ends.
func (s *sender) deliver(ctx context.Context, q queued) {
	backoff := s.cfg.InitialBackoff
	for attempt := 1; ; attempt++ {
		status, err := s.post(ctx, q)
		if err == nil && status/100 == 2 {
			if attempt > 1 {
				s.log.Info("webhook delivered after retries", "event", q.event, "id", q.id, "attempts", attempt)
			}
			return
		}
		retryable := err != nil || status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
		if !retryable || attempt >= s.cfg.MaxAttempts || ctx.Err() != nil {
			s.log.Warn("webhook not delivered; giving up on this event", "event", q.event, "id", q.id,
				"attempts", attempt, "status", status, "err", err)
			return
		}
		s.log.Debug("webhook delivery failed; retrying", "event", q.event, "attempt", attempt, "status", status, "err", err)
		// Jitter keeps the retries of many nodes from hitting a recovering receiver at once.
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, s.cfg.MaxBackoff)
	}
}

// post makes one attempt, signed with the time of the attempt.
func (s *sender) post(ctx context.Context, q queued) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(q.body))
	if err != nil {
		return 0, fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "huddle-webhook/1")
	req.Header.Set(HeaderEvent, q.event)
	req.Header.Set(HeaderEventID, q.id)
	req.Header.Set(HeaderKey, s.cfg.KeyID)
	req.Header.Set(HeaderSignature, Sign(s.cfg.Secret, time.Now(), q.body))
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook post: %w", err)
	}
	// Read a little of the body so the connection can be reused; receivers answer with nothing useful.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
