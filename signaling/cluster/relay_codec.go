package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// Relay stream entries. Every entry of a session stream has the id "0-N", N being the sender's
// sequence number (1, 2, 3, … with no gap), and two fields: "k", the kind, and "d", the payload.
const (
	kindMessage = "m" // d: one message
	kindClose   = "c" // d: empty; the sender closed its end: nothing follows
)

// MaxMessageSize bounds one relayed message (the signalling protocol's frames are far smaller).
const MaxMessageSize = 1 << 20

type relayEntry struct {
	seq  uint64
	kind string
	data []byte
}

// parseSeq reads the sequence number of a session stream entry id ("0-N", N ≥ 1).
func parseSeq(id string) (uint64, error) {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok || ms != "0" || seq == "" || seq[0] == '0' { // canonical form only, as Redis writes it
		return 0, fmt.Errorf("cluster: relay entry id %q: %w", id, ErrBadData)
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("cluster: relay entry id %q: %w", id, ErrBadData)
	}
	return n, nil
}

func seqID(n uint64) string { return "0-" + strconv.FormatUint(n, 10) }

// decodeEntry decodes one entry read from a session stream.
func decodeEntry(id string, values map[string]any) (relayEntry, error) {
	seq, err := parseSeq(id)
	if err != nil {
		return relayEntry{}, err
	}
	kind, ok := values["k"].(string)
	if !ok {
		return relayEntry{}, fmt.Errorf("cluster: relay entry %s has no kind: %w", id, ErrBadData)
	}
	data, ok := values["d"].(string)
	if !ok {
		return relayEntry{}, fmt.Errorf("cluster: relay entry %s has no data: %w", id, ErrBadData)
	}
	switch kind {
	case kindMessage:
		if len(data) > MaxMessageSize {
			return relayEntry{}, fmt.Errorf("cluster: relay entry %s of %d bytes: %w", id, len(data), ErrBadData)
		}
	case kindClose:
		if data != "" {
			return relayEntry{}, fmt.Errorf("cluster: relay close entry %s carries data: %w", id, ErrBadData)
		}
	default:
		return relayEntry{}, fmt.Errorf("cluster: relay entry %s of kind %q: %w", id, kind, ErrBadData)
	}
	return relayEntry{seq: seq, kind: kind, data: []byte(data)}, nil
}

// announcement is an inbox entry: the edge node has opened a session with this node.
type announcement struct {
	session string
	edge    string
}

// decodeAnnouncement decodes one entry of a node's relay inbox (fields "s": session id, "e": edge id).
func decodeAnnouncement(values map[string]any) (announcement, error) {
	s, _ := values["s"].(string)
	e, _ := values["e"].(string)
	if err := checkName("session id", s); err != nil {
		return announcement{}, fmt.Errorf("cluster: relay announcement: %w: %w", ErrBadData, err)
	}
	if err := checkName("edge node id", e); err != nil {
		return announcement{}, fmt.Errorf("cluster: relay announcement: %w: %w", ErrBadData, err)
	}
	return announcement{session: s, edge: e}, nil
}
