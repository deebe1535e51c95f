package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var secret = []byte(strings.Repeat("s", 40))

// receiver records verified events in arrival order.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	events []Event
	fail   atomic.Int32 // answer 500 to this many more requests
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := Verify(secret, req.Header.Get(HeaderSignature), body, time.Now(), DefaultTolerance); err != nil {
		r.t.Errorf("bad signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if req.Header.Get(HeaderKey) != "APIa" || req.Header.Get(HeaderEvent) == "" {
		r.t.Errorf("headers: %v", req.Header)
	}
	if r.fail.Add(-1) >= 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("body: %v", err)
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *receiver) got() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fastConfig(urls ...string) Config {
	return Config{URLs: urls, KeyID: "APIa", Secret: secret, InitialBackoff: 10 * time.Millisecond,
		MaxBackoff: 40 * time.Millisecond, Timeout: 10 * time.Second, MaxAttempts: 4}
}

func TestDeliversInOrderSignedWithRetries(t *testing.T) {
	baseline := runtime.NumGoroutine()
	rcv := &receiver{t: t}
	rcv.fail.Store(2) // the first event needs three attempts; the others must wait for it
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	n, err := New(fastConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{RoomStarted, ParticipantJoined, TrackPublished, TrackUnpublished, ParticipantLeft, RoomFinished}
	for _, name := range names {
		n.Notify(Event{Event: name, Room: Room{Name: "clinic"}})
	}
	waitFor(t, "every event", func() bool { return len(rcv.got()) == len(names) })
	for i, ev := range rcv.got() {
		if ev.Event != names[i] || ev.Seq != uint64(i+1) || ev.Room.Name != "clinic" || ev.ID == "" || ev.CreatedAt == 0 {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.Notify(Event{Event: RoomStarted}) // after Close: dropped, no panic
	srv.Close()
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= baseline })
}

func TestHangingReceiverNeverBlocksNotify(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	cfg := fastConfig(hang.URL)
	cfg.QueueLength = 4
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A Notify that waited for the receiver would wait out the 10 s delivery timeout at least once in
	// 100 calls; half of that is the bound, whatever the machine's speed.
	notified := make(chan struct{})
	go func() {
		defer close(notified)
		for i := 0; i < 100; i++ {
			n.Notify(Event{Event: ParticipantJoined, Room: Room{Name: "r"}})
		}
	}()
	select {
	case <-notified:
	case <-time.After(cfg.Timeout / 2):
		t.Fatalf("100 Notify calls did not return within %s with a hanging receiver", cfg.Timeout/2)
	}
	// One is in flight, four wait; the rest were dropped, oldest first.
	waitFor(t, "drops counted", func() bool { return n.Dropped() >= 95 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := n.Close(ctx); err == nil {
		t.Fatal("Close reported delivery of events a hanging receiver never took")
	}
}

func TestGivesUpOnPermanentRefusal(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	n, err := New(fastConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(Event{Event: RoomStarted})
	n.Notify(Event{Event: RoomFinished})
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 2 {
		t.Fatalf("a 400 was retried: %d requests for 2 events", hits.Load())
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"event":"room_started"}`)
	now := time.Unix(1_750_000_000, 0)
	good := Sign(secret, now, body)
	cases := []struct {
		name, header string
		body         []byte
		ok           bool
	}{
		{"valid", good, body, true},
		{"valid among rotated signatures", good + ",v1=00ff", body, true},
		{"other body", good, []byte(`{"event":"room_finished"}`), false},
		{"other secret", Sign([]byte("other"), now, body), body, false},
		{"too old", Sign(secret, now.Add(-time.Hour), body), body, false},
		{"no timestamp", strings.Split(good, ",")[1], body, false},
		{"garbage", "hello", body, false},
		{"empty", "", body, false},
	}
	for _, tc := range cases {
		err := Verify(secret, tc.header, tc.body, now, DefaultTolerance)
		if (err == nil) != tc.ok {
			t.Errorf("%s: ok=%v, err=%v", tc.name, tc.ok, err)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{URLs: []string{"ftp://x"}, Secret: secret},
		{URLs: []string{"http://x"}},
		{URLs: []string{"not a url at all"}, Secret: secret},
	} {
		if n, err := New(cfg); err == nil {
			_ = n.Close(context.Background())
			t.Errorf("New(%+v) accepted a bad config", cfg)
		}
	}
}
