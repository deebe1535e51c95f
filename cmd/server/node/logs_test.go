package node_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
)

// syncBuffer is a bytes.Buffer the node's goroutines may write to while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("a log line is not JSON: %s", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// TestLogsFollowACall: with JSON logs, a participant's join, each published track and the leave are one
// line each, naming the room, the participant and the node.
func TestLogsFollowACall(t *testing.T) {
	var logs syncBuffer
	n := nodetest.StartWithLogger(t, nil, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	pub := join(t, n, "clinic-9", "dr-ada", true)
	pub.publish()
	id := pub.c.ParticipantID()
	find := func(msg string) []map[string]any {
		var found []map[string]any
		for _, l := range logs.lines(t) {
			if l["msg"] == msg && l["participant"] == id {
				found = append(found, l)
			}
		}
		return found
	}
	eventually(t, 10*time.Second, "two tracks published in the log", func() bool { return len(find("track published")) == 2 })
	if err := pub.c.Leave(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the leave in the log", func() bool { return len(find("session left")) == 1 })
	for _, msg := range []string{"session joined", "track published", "session left"} {
		lines := find(msg)
		if len(lines) == 0 {
			t.Errorf("no %q line for %s", msg, id)
		}
		for _, l := range lines {
			if l["room"] != "clinic-9" || l["node"] == nil || l["node"] == "" {
				t.Errorf("%q line without its room or node: %v", msg, l)
			}
		}
	}
}
