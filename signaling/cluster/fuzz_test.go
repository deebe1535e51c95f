package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary data to every decoder of what this package reads back from Redis: relay
// stream entries, inbox announcements, node infos and participants. None may panic; whatever they
// accept must be well formed.
func FuzzDecode(f *testing.F) {
	f.Add("0-1", "m", "hello", true, true, []byte(`{"id":"a","load":{"cpu":0.5}}`))
	f.Add("0-2", "c", "", true, true, []byte(`{"id":"p1","name":"Ada","joinedAt":"2026-01-02T03:04:05Z"}`))
	f.Add("1-1", "x", "data", false, true, []byte(`{"id":""}`))
	f.Add("0-18446744073709551616", "m", "", true, false, []byte(`{"id":"a\u0000"}`))
	f.Add("0-0", "", "", false, false, []byte(`{"id":"n","load":{"cpu":"NaN"}}`))
	f.Fuzz(func(t *testing.T, id, kind, data string, hasKind, hasData bool, raw []byte) {
		values := map[string]any{}
		if hasKind {
			values["k"] = kind
		}
		if hasData {
			values["d"] = data
		}
		e, err := decodeEntry(id, values)
		if err == nil {
			if e.seq == 0 || seqID(e.seq) != id {
				t.Fatalf("entry %q accepted with sequence %d", id, e.seq)
			}
			if (e.kind != kindMessage && e.kind != kindClose) || !bytes.Equal(e.data, []byte(data)) {
				t.Fatalf("entry decoded as %+v", e)
			}
		} else if !errors.Is(err, ErrBadData) {
			t.Fatalf("entry error does not wrap ErrBadData: %v", err)
		}

		a, err := decodeAnnouncement(map[string]any{"s": kind, "e": data})
		if err == nil && (checkName("", a.session) != nil || checkName("", a.edge) != nil) {
			t.Fatalf("announcement accepted with bad names: %+v", a)
		}

		if n, err := decodeNodeInfo(raw); err == nil {
			if checkName("", n.ID) != nil {
				t.Fatalf("node info accepted with id %q", n.ID)
			}
			if _, err := json.Marshal(n); err != nil {
				t.Fatalf("decoded node info does not encode: %v", err)
			}
		}
		if p, err := decodeParticipant(raw); err == nil {
			if checkName("", p.ID) != nil {
				t.Fatalf("participant accepted with id %q", p.ID)
			}
			if b, err := encodeParticipant(p); err != nil {
				t.Fatalf("decoded participant does not encode: %v", err)
			} else if _, err := decodeParticipant(b); err != nil {
				t.Fatalf("participant does not round-trip: %v", err)
			}
		}
		_, _, _ = parseClaim([]any{kind, data, string(raw)})
		_, _, _, _ = parseHeartbeat([]any{int64(len(raw)), []any{kind}, []any{data}})
	})
}
