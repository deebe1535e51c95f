package cluster

import (
	"context"
	"testing"
	"time"
)

func newStates(t *testing.T, srv *testRedis) *RoomStates {
	t.Helper()
	s, err := NewRoomStates(srv.Client(t), fastConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

func flush(t *testing.T, s *RoomStates, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustLoad(t *testing.T, s *RoomStates, room string) (uint64, string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, data, found, err := s.Load(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	return v, string(data), found
}

// TestRoomStatesVersions: the newest version wins, whoever writes it last and in whatever order; a
// deletion of an older life does not remove a newer state.
func TestRoomStatesVersions(t *testing.T) {
	srv := startRedis(t)
	a, b := newStates(t, srv), newStates(t, srv)

	if _, _, found := mustLoad(t, a, "class"); found {
		t.Fatal("a state for a room never saved")
	}
	for _, step := range []struct {
		by       *RoomStates
		version  uint64
		data     string
		wantV    uint64
		wantData string
	}{
		{a, 1, `{"locked":false}`, 1, `{"locked":false}`},
		{a, 3, `{"locked":true}`, 3, `{"locked":true}`},
		{b, 2, `{"stale":true}`, 3, `{"locked":true}`}, // a late write of an older version loses
		{b, 4, `{"bans":["bob"]}`, 4, `{"bans":["bob"]}`},
	} {
		if err := step.by.Save("class", step.version, []byte(step.data)); err != nil {
			t.Fatal(err)
		}
		flush(t, step.by, 2*time.Second)
		if v, data, _ := mustLoad(t, a, "class"); v != step.wantV || data != step.wantData {
			t.Errorf("after saving v%d: stored v%d %s, want v%d %s", step.version, v, data, step.wantV, step.wantData)
		}
	}
	// Saves coalesce: only the newest pending version is written.
	for v := uint64(5); v <= 50; v++ {
		_ = a.Save("burst", v, []byte{byte('0' + v%10)})
	}
	flush(t, a, 2*time.Second)
	if v, data, _ := mustLoad(t, a, "burst"); v != 50 || data != "0" {
		t.Errorf("burst: stored v%d %q, want v50 \"0\"", v, data)
	}

	if err := b.Delete("class", 2); err != nil { // an older life's end
		t.Fatal(err)
	}
	flush(t, b, 2*time.Second)
	if _, _, found := mustLoad(t, a, "class"); !found {
		t.Error("deleting v2 removed the newer v4")
	}
	if err := b.Delete("class", 4); err != nil {
		t.Fatal(err)
	}
	flush(t, b, 2*time.Second)
	if _, _, found := mustLoad(t, a, "class"); found {
		t.Error("the room's state is still there after its deletion")
	}
}

// TestRoomStatesSurviveRedisOutage: a state saved while Redis is down is kept and written once Redis
// is back; nothing is lost, and the newest version is what lands.
func TestRoomStatesSurviveRedisOutage(t *testing.T) {
	srv := startRedis(t)
	s := newStates(t, srv)
	srv.Stop()

	if err := s.Save("consult-42", 7, []byte(`{"bans":["bob"]}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("consult-42", 8, []byte(`{"bans":["bob"],"locked":true}`)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	err := s.Flush(ctx)
	cancel()
	if err == nil {
		t.Fatal("Flush succeeded while Redis was down")
	}
	if s.Pending() != 1 {
		t.Fatalf("pending %d while Redis is down, want the room's newest state kept (1)", s.Pending())
	}

	srv.Restart()
	// The writer retries with a backoff capped at fastConfig's MaxBackoff (300 ms).
	flush(t, s, 10*time.Second)
	if v, data, found := mustLoad(t, s, "consult-42"); !found || v != 8 || data != `{"bans":["bob"],"locked":true}` {
		t.Errorf("after Redis returned: v%d %q found %v, want v8 with the ban and the lock", v, data, found)
	}
	if s.Pending() != 0 {
		t.Errorf("pending %d after the flush", s.Pending())
	}
}

// TestRoomStatesRefuseBadNames: the key is derived from the room name, which must be a valid name.
func TestRoomStatesRefuseBadNames(t *testing.T) {
	srv := startRedis(t)
	s := newStates(t, srv)
	for _, room := range []string{"", "a\nb", string(make([]byte, MaxNameLength+1))} {
		if err := s.Save(room, 1, nil); err == nil {
			t.Errorf("Save(%q) accepted", room)
		}
	}
}
