package signaling

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestInviteBeforeJoining: POST /invite with a host's join token as bearer makes a link to that room
// carrying the token's policy (unlocked); every other caller gets a status and a code that say why.
func TestInviteBeforeJoining(t *testing.T) {
	keys := testKeys(t)
	srv := New(fakeMedia{}, Config{Keys: keys, PublicURL: "https://clinic.example.org"})
	ts := httptest.NewServer(http.HandlerFunc(srv.ServeInvite))
	defer ts.Close()
	consultation := &auth.Policy{Mode: auth.ModeConsultation, Locked: true}
	host := mintToken(t, keys, "consult-7", "dr-ada", auth.RoleHost, consultation)
	patient := mintToken(t, keys, "consult-7", "pat", auth.RoleAttendee, consultation)
	expired, err := keys.Mint(auth.Claims{Room: "consult-7", Role: auth.RoleHost, RegisteredClaims: jwt.RegisteredClaims{
		Subject: "dr-ada", IssuedAt: jwt.NewNumericDate(time.Now().Add(-2 * time.Hour)), ExpiresAt: jwt.NewNumericDate(time.Now().Add(-time.Hour))}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	const good = `{"room": "consult-7", "role": "attendee", "ttlSeconds": 3600}`
	tests := []struct {
		name, token, origin, body string
		status                    int
		code                      string
	}{
		{"host", host, "", good, http.StatusOK, ""},
		{"host, same-origin page", host, "", good, http.StatusOK, ""},
		{"patient", patient, "", good, http.StatusForbidden, protocol.CodeInsufficientGrant},
		{"expired host token", expired, "", good, http.StatusUnauthorized, protocol.CodeTokenExpired},
		{"no token", "", "", good, http.StatusUnauthorized, protocol.CodeTokenMissing},
		{"forged", host[:len(host)-4] + "AAAA", "", good, http.StatusUnauthorized, protocol.CodeTokenInvalid},
		{"another room", host, "", `{"room": "consult-8", "role": "attendee"}`, http.StatusUnauthorized, protocol.CodeTokenWrongRoom},
		{"a host cannot be invited", host, "", `{"room": "consult-7", "role": "host"}`, http.StatusBadRequest, protocol.CodeBadRequest},
		{"not JSON", host, "", `room=consult-7`, http.StatusBadRequest, protocol.CodeBadRequest},
		{"oversized", host, "", `{"room": "consult-7", "role": "attendee", "name": "` + strings.Repeat("a", 8<<10) + `"}`, http.StatusBadRequest, protocol.CodeBadRequest},
		{"foreign page", host, "https://evil.example", good, http.StatusForbidden, CodeOriginNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, ts.URL+InvitePath, bytes.NewBufferString(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" {
				var perr protocol.Error
				if err := json.Unmarshal(body, &perr); err != nil || perr.Code != tc.code || perr.Message == "" {
					t.Fatalf("body %s, want code %s with a message", body, tc.code)
				}
				return
			}
			var inv protocol.Invite
			if err := json.Unmarshal(body, &inv); err != nil {
				t.Fatal(err)
			}
			claims, err := keys.Verify(inviteToken(t, inv, "https://clinic.example.org", "consult-7"))
			if err != nil {
				t.Fatalf("the link's token does not verify: %v", err)
			}
			want := auth.Policy{Mode: auth.ModeConsultation}
			if claims.Role != auth.RoleAttendee || claims.Policy == nil || *claims.Policy != want || !strings.HasPrefix(claims.Subject, "guest-") {
				t.Fatalf("claims %+v (policy %+v), want a fresh attendee of an unlocked consultation", claims, claims.Policy)
			}
		})
	}
}

// FuzzInviteBody: whatever body POST /invite gets, with a host's token, the server answers with a status
// and JSON (a link or an error with a code), and never panics.
func FuzzInviteBody(f *testing.F) {
	for _, seed := range []string{
		`{"room": "consult-7", "role": "attendee", "ttlSeconds": 3600}`,
		`{"room": "consult-7", "role": "presenter", "name": "Pat"}`,
		`{"room": "", "role": "attendee"}`, `{"room": "consult-7", "role": "host"}`,
		`{"room": "consult-7", "role": "attendee", "ttlSeconds": -1}`, `[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	keys, err := auth.NewKeyring(auth.Key{ID: "APIfuzz", Secret: strings.Repeat("f", 40)})
	if err != nil {
		f.Fatal(err)
	}
	srv := New(fakeMedia{}, Config{Keys: keys, PublicURL: "https://clinic.example.org"})
	host, err := keys.Mint(auth.Claims{Room: "consult-7", Role: auth.RoleHost, RegisteredClaims: jwt.RegisteredClaims{Subject: "dr"}}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, InvitePath, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+host)
		rec := httptest.NewRecorder()
		srv.ServeInvite(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("status %d with a body that is not JSON: %q", rec.Code, rec.Body.String())
		}
		switch rec.Code {
		case http.StatusOK:
			if _, ok := out["url"]; !ok {
				t.Fatalf("200 without a link: %v", out)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			if out["code"] == nil || out["code"] == "" {
				t.Fatalf("%d without a code: %v", rec.Code, out)
			}
		default:
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
	})
}
