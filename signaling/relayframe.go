package signaling

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Frames of a relayed session (cluster mode): what the edge node and the room's owner node put in the
// cluster.RelayConn between them. The first byte says what follows.
const (
	relayHello   = 'H' // edge → owner, first: relayHelloData as JSON
	relayMessage = 'M' // either way: one protocol frame, as the client sent it or will receive it
	relayClose   = 'C' // owner → edge, last: a WebSocket close code (2 bytes, big-endian) and reason
)

// relayHelloData is what the edge knows of the client that the owner needs.
type relayHelloData struct {
	Room       string `json:"room"`       // the room the client joins; the owner refuses others
	Remote     string `json:"remote"`     // the client's address, for logs
	DevTrusted bool   `json:"devTrusted"` // dev mode and a loopback client: a join without a token is a host's
	// LinkBase is the base of the links the client may create (create_invite): the edge's public URL or
	// the client's request, which the owner cannot see. Empty from an edge that predates it.
	LinkBase string `json:"linkBase,omitempty"`
}

// maxCloseReason is the longest reason a WebSocket close frame carries (125 bytes less the code).
const maxCloseReason = 123

func encodeRelayMessage(msg []byte) []byte {
	out := make([]byte, 1+len(msg))
	out[0] = relayMessage
	copy(out[1:], msg)
	return out
}

func encodeRelayHello(h relayHelloData) []byte {
	b, _ := json.Marshal(h) // strings and a bool: cannot fail
	return append([]byte{relayHello}, b...)
}

func encodeRelayClose(code int, reason string) []byte {
	if len(reason) > maxCloseReason {
		reason = reason[:maxCloseReason]
	}
	out := make([]byte, 3, 3+len(reason))
	out[0] = relayClose
	binary.BigEndian.PutUint16(out[1:], uint16(code))
	return append(out, reason...)
}

// relayFrame is one decoded frame.
type relayFrame struct {
	kind   byte
	msg    []byte // relayMessage
	hello  relayHelloData
	code   int // relayClose
	reason string
}

// decodeRelayFrame parses a frame from the other node. Nodes trust each other, but a frame is still
// checked: a bug or a stray writer must give an error, not a panic.
func decodeRelayFrame(b []byte) (relayFrame, error) {
	if len(b) == 0 {
		return relayFrame{}, fmt.Errorf("relay frame: empty")
	}
	f := relayFrame{kind: b[0]}
	switch f.kind {
	case relayMessage:
		f.msg = b[1:]
	case relayHello:
		if err := json.Unmarshal(b[1:], &f.hello); err != nil {
			return relayFrame{}, fmt.Errorf("relay hello: %w", err)
		}
		if f.hello.Room == "" {
			return relayFrame{}, fmt.Errorf("relay hello: no room")
		}
	case relayClose:
		if len(b) < 3 {
			return relayFrame{}, fmt.Errorf("relay close: %d bytes", len(b))
		}
		f.code = int(binary.BigEndian.Uint16(b[1:3]))
		if f.code < 1000 || f.code > 4999 {
			return relayFrame{}, fmt.Errorf("relay close: code %d", f.code)
		}
		if len(b)-3 > maxCloseReason || !utf8.Valid(b[3:]) {
			return relayFrame{}, fmt.Errorf("relay close: reason of %d bytes, not valid UTF-8 text", len(b)-3)
		}
		f.reason = string(b[3:])
	default:
		return relayFrame{}, fmt.Errorf("relay frame: unknown kind %q", f.kind)
	}
	return f, nil
}
