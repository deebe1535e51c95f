package node_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
	"github.com/huddlehq/huddle/signaling/webhook"
)

// hookReceiver records webhook events whose signature verifies with the test key.
type hookReceiver struct {
	t      *testing.T
	mu     sync.Mutex
	events []webhook.Event
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhook.Verify([]byte(testKey.Secret), r.Header.Get(webhook.HeaderSignature), body, time.Now(), webhook.DefaultTolerance); err != nil {
		h.t.Errorf("webhook signature: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.Header.Get(webhook.HeaderKey) != testKey.ID {
		h.t.Errorf("webhook key header %q", r.Header.Get(webhook.HeaderKey))
	}
	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		h.t.Errorf("webhook body: %v", err)
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

func (h *hookReceiver) got() []webhook.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// hangingServer accepts webhook requests and never answers until the test ends.
func hangingServer(t *testing.T) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.URL
}

// downURL is a URL nothing listens on.
func downURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr + "/hook"
}

// TestWebhooksInOrder: a receiver gets every event of a consultation, signed, in order, while a second
// URL hangs and a third is down.
func TestWebhooksInOrder(t *testing.T) {
	rcv := &hookReceiver{t: t}
	good := httptest.NewServer(rcv)
	defer good.Close()
	n := startKeyedNode(t, func(c *node.Config) {
		c.Webhooks.URLs = []string{hangingServer(t), good.URL + "/hook", downURL(t)}
		c.Webhooks.Timeout = 20 * time.Second
		c.Webhooks.DrainTimeout = 200 * time.Millisecond
	})
	dr, _ := mustJoinToken(t, n, "consult", "dr", mint(t, n, "consult", "dr", auth.RoleHost, nil))
	ids := dr.publish()
	for range ids {
		dr.waitEvent(10*time.Second, protocol.TypeTrackPublished, nil)
	}
	patient, _ := mustJoinToken(t, n, "consult", "patient", mint(t, n, "consult", "patient", auth.RoleAttendee, nil))
	patient.close()
	dr.waitEvent(5*time.Second, protocol.TypeParticipantLeft, nil)
	dr.close()

	want := []string{
		webhook.RoomStarted, webhook.ParticipantJoined + ":dr", webhook.TrackPublished + ":dr", webhook.TrackPublished + ":dr",
		webhook.ParticipantJoined + ":patient", webhook.ParticipantLeft + ":patient",
		webhook.TrackUnpublished + ":dr", webhook.TrackUnpublished + ":dr", webhook.ParticipantLeft + ":dr", webhook.RoomFinished,
	}
	eventually(t, 10*time.Second, "every webhook event", func() bool { return len(rcv.got()) >= len(want) })
	time.Sleep(200 * time.Millisecond) // nothing more may come
	events := rcv.got()
	var got []string
	var published, unpublished []string
	for i, ev := range events {
		if ev.Seq != uint64(i+1) || ev.Room.Name != "consult" || ev.ID == "" {
			t.Fatalf("event %d out of order or incomplete: %+v", i, ev)
		}
		name := ev.Event
		if ev.Participant != nil {
			name += ":" + ev.Participant.Identity
		}
		got = append(got, name)
		switch ev.Event {
		case webhook.TrackPublished:
			published = append(published, ev.Track.ID)
		case webhook.TrackUnpublished:
			unpublished = append(unpublished, ev.Track.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	sort.Strings(ids)
	sort.Strings(published)
	sort.Strings(unpublished)
	if !slices.Equal(published, ids) || !slices.Equal(unpublished, ids) {
		t.Fatalf("tracks: published %v, unpublished %v, want %v", published, unpublished, ids)
	}
}

// TestWebhookReceiverDownDoesNotSlowJoins: joins take as long with a hanging receiver as without one.
func TestWebhookReceiverDownDoesNotSlowJoins(t *testing.T) {
	measure := func(n *node.Node, room string) time.Duration {
		var times []time.Duration
		for i := range 5 {
			name := "p" + string(rune('a'+i))
			start := time.Now()
			mustJoinToken(t, n, room, name, mint(t, n, room, name, auth.RoleAttendee, nil))
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		return times[len(times)/2]
	}
	plain := startKeyedNode(t, nil)
	baseline := measure(plain, "plain")
	hanging := startKeyedNode(t, func(c *node.Config) {
		c.Webhooks.URLs = []string{hangingServer(t)}
		c.Webhooks.Timeout = 30 * time.Second
		c.Webhooks.QueueLength = 4 // overflows: the oldest events are dropped, never waited for
		c.Webhooks.DrainTimeout = 100 * time.Millisecond
	})
	withHook := measure(hanging, "hanging")
	t.Logf("median join: %s without webhooks, %s with a receiver that never answers", baseline.Round(time.Millisecond), withHook.Round(time.Millisecond))
	if withHook > baseline+500*time.Millisecond {
		t.Fatalf("joins slowed by a hanging webhook receiver: %s vs %s", withHook, baseline)
	}
}
