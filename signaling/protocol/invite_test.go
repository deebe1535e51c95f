package protocol

import (
	"strings"
	"testing"
)

// TestDecodeCreateInvite: the role is required and never host, the ttl defaults to a day and is bounded
// to 60 s .. 7 days (an explicit 0 included), the name is trimmed and at most 64 characters.
func TestDecodeCreateInvite(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		wantCode string
		wantIn   string // part of the error message
		wantTTL  int
		wantName string
	}{
		{"attendee, defaults", `{"role":"attendee"}`, "", "", DefaultInviteTTLSeconds, ""},
		{"presenter with ttl and name", `{"role":"presenter","ttlSeconds":3600,"name":"  Pat  "}`, "", "", 3600, "Pat"},
		{"observer at the lower bound", `{"role":"observer","ttlSeconds":60}`, "", "", 60, ""},
		{"at the upper bound", `{"role":"attendee","ttlSeconds":604800}`, "", "", 604800, ""},
		{"name at the limit", `{"role":"attendee","name":"` + strings.Repeat("é", 64) + `"}`, "", "", DefaultInviteTTLSeconds, strings.Repeat("é", 64)},
		{"blank name", `{"role":"attendee","name":"   "}`, "", "", DefaultInviteTTLSeconds, ""},
		{"no role", `{"ttlSeconds":3600}`, CodeBadRequest, "attendee, presenter, observer", 0, ""},
		{"host", `{"role":"host"}`, CodeBadRequest, "attendee, presenter, observer", 0, ""},
		{"unknown role", `{"role":"janitor"}`, CodeBadRequest, `"janitor"`, 0, ""},
		{"ttl too short", `{"role":"attendee","ttlSeconds":10}`, CodeBadRequest, "ttlSeconds", 0, ""},
		{"ttl zero", `{"role":"attendee","ttlSeconds":0}`, CodeBadRequest, "ttlSeconds", 0, ""},
		{"ttl too long", `{"role":"attendee","ttlSeconds":604801}`, CodeBadRequest, "ttlSeconds", 0, ""},
		{"ttl not an integer", `{"role":"attendee","ttlSeconds":60.5}`, CodeBadRequest, "create_invite data", 0, ""},
		{"name too long", `{"role":"attendee","name":"` + strings.Repeat("é", 65) + `"}`, CodeBadRequest, "name", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, perr := DecodeEnvelope([]byte(`{"type":"create_invite","id":"i","data":` + tt.data + `}`))
			if perr != nil {
				t.Fatal(perr)
			}
			var req CreateInvite
			err := DecodeData(env, &req)
			if tt.wantCode != "" {
				if err == nil || err.Code != tt.wantCode || !strings.Contains(err.Message, tt.wantIn) {
					t.Fatalf("want %s mentioning %q, got %v", tt.wantCode, tt.wantIn, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if req.TTLSeconds == nil || *req.TTLSeconds != tt.wantTTL || req.Name != tt.wantName {
				t.Fatalf("decoded %+v (ttl %v), want ttl %d name %q", req, req.TTLSeconds, tt.wantTTL, tt.wantName)
			}
		})
	}
	env, _ := DecodeEnvelope([]byte(`{"type":"create_invite"}`))
	if err := DecodeData(env, &CreateInvite{}); err == nil || err.Code != CodeBadRequest {
		t.Fatalf("no data: %v", err)
	}
}
