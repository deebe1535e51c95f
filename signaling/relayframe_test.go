package signaling

import (
	"bytes"
	"strings"
	"testing"
)

func TestRelayFrames(t *testing.T) {
	hello := relayHelloData{Room: "ward-3", Remote: "127.0.0.1:5000", DevTrusted: true}
	tests := []struct {
		name    string
		frame   []byte
		want    relayFrame
		wantErr string
	}{
		{name: "message", frame: encodeRelayMessage([]byte(`{"type":"ping"}`)), want: relayFrame{kind: relayMessage, msg: []byte(`{"type":"ping"}`)}},
		{name: "empty message", frame: encodeRelayMessage(nil), want: relayFrame{kind: relayMessage, msg: []byte{}}},
		{name: "hello", frame: encodeRelayHello(hello), want: relayFrame{kind: relayHello, hello: hello}},
		{name: "close", frame: encodeRelayClose(1008, "removed"), want: relayFrame{kind: relayClose, code: 1008, reason: "removed"}},
		{name: "long reason cut", frame: encodeRelayClose(1000, strings.Repeat("x", 200)), want: relayFrame{kind: relayClose, code: 1000, reason: strings.Repeat("x", maxCloseReason)}},
		{name: "empty", frame: nil, wantErr: "empty"},
		{name: "unknown kind", frame: []byte("Zabc"), wantErr: "unknown kind"},
		{name: "hello without room", frame: []byte(`H{"remote":"x"}`), wantErr: "no room"},
		{name: "hello not JSON", frame: []byte(`H{`), wantErr: "relay hello"},
		{name: "close too short", frame: []byte{relayClose, 3}, wantErr: "2 bytes"},
		{name: "close code out of range", frame: []byte{relayClose, 0, 1}, wantErr: "code 1"},
		{name: "close reason not UTF-8", frame: []byte{relayClose, 3, 232, 0xff}, wantErr: "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRelayFrame(tc.frame)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.kind != tc.want.kind || !bytes.Equal(got.msg, tc.want.msg) || got.hello != tc.want.hello ||
				got.code != tc.want.code || got.reason != tc.want.reason {
				t.Fatalf("decoded %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzRelayFrame: whatever another node (or a stray writer) puts in a relay, decoding returns a frame
// or an error, never panics, and what it accepts re-encodes to the same bytes.
func FuzzRelayFrame(f *testing.F) {
	f.Add(encodeRelayMessage([]byte(`{"type":"join"}`)))
	f.Add(encodeRelayHello(relayHelloData{Room: "r", Remote: "127.0.0.1:1"}))
	f.Add(encodeRelayClose(1012, "room moved"))
	f.Add([]byte{relayClose})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeRelayFrame(b)
		if err != nil {
			return
		}
		var again []byte
		switch fr.kind {
		case relayMessage:
			again = encodeRelayMessage(fr.msg)
		case relayClose:
			again = encodeRelayClose(fr.code, fr.reason)
		default:
			return // JSON need not round-trip byte for byte
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("%q decoded to %+v, which encodes to %q", b, fr, again)
		}
	})
}
