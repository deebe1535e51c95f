package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/signaling/auth"
)

// fakeDirectory is one room "clinic" with one participant "ada".
type fakeDirectory struct {
	removed []string
}

func (f *fakeDirectory) CreateRoom(_ context.Context, name string, p auth.Policy) (RoomInfo, bool, error) {
	return RoomInfo{Name: name, Policy: p, Managed: true}, name != "clinic", nil
}
func (f *fakeDirectory) Rooms(context.Context) ([]RoomInfo, error) {
	return []RoomInfo{{Name: "clinic", Participants: 1}, {Name: "class"}}, nil
}
func (f *fakeDirectory) Room(_ context.Context, name string) (RoomInfo, error) {
	if name != "clinic" {
		return RoomInfo{}, ErrRoomNotFound
	}
	return RoomInfo{Name: name}, nil
}
func (f *fakeDirectory) CloseRoom(_ context.Context, name string) error {
	_, err := f.Room(context.Background(), name)
	return err
}
func (f *fakeDirectory) Participants(_ context.Context, room string) ([]ParticipantInfo, error) {
	if room != "clinic" {
		return nil, ErrRoomNotFound
	}
	return []ParticipantInfo{{ID: "P1", Identity: "ada", Role: auth.RoleHost}}, nil
}
func (f *fakeDirectory) RemoveParticipant(_ context.Context, room, identity string, ban bool) error {
	if identity != "ada" {
		return ErrParticipantNotFound
	}
	f.removed = append(f.removed, identity)
	return nil
}
func (f *fakeDirectory) Unban(context.Context, string, string) error { return nil }
func (f *fakeDirectory) SetRecording(_ context.Context, room string, on bool, _ string) (string, error) {
	if room != "clinic" {
		return "", ErrRoomNotFound
	}
	if on {
		return "recording", nil
	}
	return "", nil
}
func (f *fakeDirectory) MuteTracks(_ context.Context, _, _ string, req MuteRequest) ([]string, error) {
	if req.TrackID == "TR_none" {
		return nil, ErrTrackNotFound
	}
	return []string{"TR_1"}, nil
}
func (f *fakeDirectory) UpdateGrants(context.Context, string, string, auth.Grants) ([]ParticipantInfo, error) {
	return nil, nil
}

func TestAdminAuthAndRoutes(t *testing.T) {
	keys, err := auth.NewKeyring(auth.Key{ID: "APIa", Secret: strings.Repeat("a", 40)})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := auth.NewKeyring(auth.Key{ID: "APIa", Secret: strings.Repeat("z", 40)})
	mint := func(k *auth.Keyring, room string, g *auth.Grants, ttl time.Duration) string {
		c := auth.Claims{Room: room, Role: auth.RoleHost, Grants: g, RegisteredClaims: jwt.RegisteredClaims{Subject: "ops"}}
		if ttl < 0 {
			c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-2*time.Hour)), jwt.NewNumericDate(time.Now().Add(ttl))
		}
		tok, err := k.Mint(c, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin := mint(keys, "", &auth.Grants{Admin: true}, time.Minute)
	clinicAdmin := mint(keys, "clinic", &auth.Grants{Admin: true}, time.Minute)
	host := mint(keys, "clinic", nil, time.Minute) // a host's join token: moderate, but no admin grant
	expired := mint(keys, "", &auth.Grants{Admin: true}, -time.Hour)
	forged := mint(other, "", &auth.Grants{Admin: true}, time.Minute)

	dir := &fakeDirectory{}
	srv := httptest.NewServer(NewHandler(Config{Directory: dir, Keys: keys, PublicURL: "https://meet.example.org"}))
	defer srv.Close()

	cases := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"no token", "GET", "rooms", "", "", 401, auth.CodeTokenMissing},
		{"not bearer", "GET", "rooms", "Basic x", "", 401, auth.CodeTokenMissing},
		{"garbage token", "GET", "rooms", "Bearer nope", "", 401, auth.CodeTokenMalformed},
		{"forged token", "GET", "rooms", "Bearer " + forged, "", 401, auth.CodeTokenInvalid},
		{"expired token", "GET", "rooms", "Bearer " + expired, "", 401, auth.CodeTokenExpired},
		{"join token without admin grant", "GET", "rooms", "Bearer " + host, "", 403, auth.CodeInsufficientGrant},
		{"host cannot kick through the API", "DELETE", "rooms/clinic/participants/ada", "Bearer " + host, "", 403, auth.CodeInsufficientGrant},
		{"list rooms", "GET", "rooms", "Bearer " + admin, "", 200, ""},
		{"room scoped admin elsewhere", "GET", "rooms/class/participants", "Bearer " + clinicAdmin, "", 403, auth.CodeInsufficientGrant},
		{"room scoped admin at home", "GET", "rooms/clinic/participants", "Bearer " + clinicAdmin, "", 200, ""},
		{"unknown room", "GET", "rooms/nowhere/participants", "Bearer " + admin, "", 404, CodeRoomNotFound},
		{"unknown participant", "DELETE", "rooms/clinic/participants/bob", "Bearer " + admin, "", 404, CodeParticipantNotFound},
		{"kick and ban", "DELETE", "rooms/clinic/participants/ada?ban=true", "Bearer " + admin, "", 204, ""},
		{"bad ban flag", "DELETE", "rooms/clinic/participants/ada?ban=maybe", "Bearer " + admin, "", 400, CodeBadRequest},
		{"create room", "POST", "rooms", "Bearer " + admin, `{"name": "consult-9", "policy": {"mode": "consultation", "maxParticipants": 2}}`, 201, ""},
		{"update room", "POST", "rooms", "Bearer " + admin, `{"name": "clinic", "policy": {"locked": true}}`, 200, ""},
		{"create room with a typo", "POST", "rooms", "Bearer " + admin, `{"name": "x", "polcy": {}}`, 400, CodeBadRequest},
		{"create room with a bad mode", "POST", "rooms", "Bearer " + admin, `{"name": "x", "policy": {"mode": "rave"}}`, 400, CodeBadRequest},
		{"mute by source", "POST", "rooms/clinic/participants/ada/mute", "Bearer " + admin, `{"source": "microphone", "muted": true}`, 200, ""},
		{"mute nothing named", "POST", "rooms/clinic/participants/ada/mute", "Bearer " + admin, `{"muted": true}`, 400, CodeBadRequest},
		{"mute unknown track", "POST", "rooms/clinic/participants/ada/mute", "Bearer " + admin, `{"trackId": "TR_none", "muted": true}`, 404, CodeUnknownTrack},
		{"grants with a bad source", "PUT", "rooms/clinic/participants/ada/grants", "Bearer " + admin, `{"publish": ["smell"]}`, 400, CodeBadRequest},
		{"room admin cannot grant admin", "PUT", "rooms/clinic/participants/ada/grants", "Bearer " + clinicAdmin, `{"admin": true}`, 403, auth.CodeInsufficientGrant},
		{"mint", "POST", "tokens", "Bearer " + admin, `{"room": "clinic", "identity": "patient-7", "role": "attendee", "ttl": "30m"}`, 200, ""},
		{"mint with a bad ttl", "POST", "tokens", "Bearer " + admin, `{"room": "clinic", "identity": "p", "ttl": "forever"}`, 400, CodeBadRequest},
		{"mint without identity", "POST", "tokens", "Bearer " + admin, `{"room": "clinic"}`, 400, CodeBadRequest},
		{"room admin mints elsewhere", "POST", "tokens", "Bearer " + clinicAdmin, `{"room": "class", "identity": "p"}`, 403, auth.CodeInsufficientGrant},
		{"link", "POST", "rooms/clinic/links", "Bearer " + clinicAdmin, `{"identity": "pat", "name": "Pat", "role": "attendee", "ttlSeconds": 600}`, 200, ""},
		{"link elsewhere", "POST", "rooms/class/links", "Bearer " + clinicAdmin, `{"identity": "pat"}`, 403, auth.CodeInsufficientGrant},
		{"link without identity", "POST", "rooms/clinic/links", "Bearer " + admin, `{"role": "host"}`, 400, CodeBadRequest},
		{"link with a bad role", "POST", "rooms/clinic/links", "Bearer " + admin, `{"identity": "pat", "role": "king"}`, 400, CodeBadRequest},
		{"link with a negative ttl", "POST", "rooms/clinic/links", "Bearer " + admin, `{"identity": "pat", "ttlSeconds": -1}`, 400, CodeBadRequest},
		{"link for too long", "POST", "rooms/clinic/links", "Bearer " + admin, `{"identity": "pat", "ttlSeconds": 99999999}`, 400, CodeBadRequest},
		{"link with a typo", "POST", "rooms/clinic/links", "Bearer " + admin, `{"identity": "pat", "ttl": "2h"}`, 400, CodeBadRequest},
		{"link to a bad room name", "POST", "rooms/a%20b/links", "Bearer " + admin, `{"identity": "pat"}`, 400, CodeBadRequest},
		{"unknown route", "GET", "teleport", "Bearer " + admin, "", 404, CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+Prefix+tc.path, strings.NewReader(tc.body))
			if tc.token != "" {
				req.Header.Set("Authorization", tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.code == "" {
				return
			}
			var eb ErrorBody
			if err := decodeBody(resp, &eb); err != nil || eb.Error.Code != tc.code || eb.Error.Message == "" {
				t.Fatalf("error body %+v (%v), want code %s", eb, err, tc.code)
			}
		})
	}

	// The Go client: a minted token verifies and its link opens the room.
	c := &Client{BaseURL: srv.URL, Token: admin}
	tr, err := c.MintToken(context.Background(), TokenRequest{Room: "clinic", Identity: "patient-7", Name: "Pat", Role: "attendee"})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := keys.Verify(tr.Token)
	if err != nil || claims.Room != "clinic" || claims.Identity() != "patient-7" || claims.Role != auth.RoleAttendee {
		t.Fatalf("minted token: %+v %v", claims, err)
	}
	if tr.JoinURL != "https://meet.example.org/#room=clinic&token="+tr.Token {
		t.Fatalf("join url %s", tr.JoinURL)
	}
	// A join link: the token in the URL's fragment, for the room in the path, with the role asked for.
	link, err := c.CreateLink(context.Background(), "clinic", LinkRequest{Identity: "pat", Name: "Pat", Role: "attendee",
		TTLSeconds: 3600, Policy: &auth.Policy{Mode: auth.ModeConsultation}})
	if err != nil {
		t.Fatal(err)
	}
	claims, err = keys.Verify(link.Token)
	if err != nil || claims.Room != "clinic" || claims.Identity() != "pat" || claims.Name != "Pat" || claims.Role != auth.RoleAttendee ||
		claims.Policy == nil || claims.Policy.Mode != auth.ModeConsultation || claims.Grants != nil {
		t.Fatalf("link token: %+v %v", claims, err)
	}
	if link.URL != "https://meet.example.org/#room=clinic&token="+link.Token {
		t.Fatalf("link url %s", link.URL)
	}
	if d := time.Until(link.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("link expires in %s, want an hour", d)
	}
	_, err = (&Client{BaseURL: srv.URL, Token: host}).Rooms(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 403 || apiErr.Code != auth.CodeInsufficientGrant {
		t.Fatalf("client error: %v", err)
	}
}

func TestDevModeTrustsLoopbackOnly(t *testing.T) {
	h := NewHandler(Config{Directory: &fakeDirectory{}, TrustLoopback: true})
	for _, tc := range []struct {
		remote, forwarded string
		status            int
	}{
		{"127.0.0.1:5000", "", 200},
		{"[::1]:5000", "", 200},
		{"192.0.2.7:5000", "", 401},
		{"127.0.0.1:5000", "198.51.100.1", 401}, // a proxy on this machine forwards a stranger
	} {
		req := httptest.NewRequest("GET", Prefix+"rooms", nil)
		req.RemoteAddr = tc.remote
		if tc.forwarded != "" {
			req.Header.Set("X-Forwarded-For", tc.forwarded)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("%s (forwarded %q): status %d, want %d", tc.remote, tc.forwarded, rec.Code, tc.status)
		}
	}
	// Minting needs keys even in dev mode.
	req := httptest.NewRequest("POST", Prefix+"tokens", strings.NewReader(`{"room": "r", "identity": "i"}`))
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), CodeNoKeys) {
		t.Errorf("mint without keys: %d %s", rec.Code, rec.Body)
	}
}

func decodeBody(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}

// elsewhereDirectory says every room lives on node "node-b" at base.
type elsewhereDirectory struct {
	fakeDirectory
	base string
}

func (e *elsewhereDirectory) MuteTracks(_ context.Context, room, _ string, _ MuteRequest) ([]string, error) {
	return nil, &RoomElsewhereError{Room: room, Node: "node-b", BaseURL: e.base}
}

// TestClientFollowsRoomElsewhere: a node that does not own the room answers 421 room_elsewhere with the
// owner's base; the client asks the owner once, and reports a second misdirection instead of following
// it.
func TestClientFollowsRoomElsewhere(t *testing.T) {
	owner := httptest.NewServer(NewHandler(Config{Directory: &fakeDirectory{}, TrustLoopback: true}))
	defer owner.Close()
	edge := httptest.NewServer(NewHandler(Config{Directory: &elsewhereDirectory{base: owner.URL}, TrustLoopback: true}))
	defer edge.Close()
	lost := httptest.NewServer(NewHandler(Config{Directory: &elsewhereDirectory{base: edge.URL}, TrustLoopback: true}))
	defer lost.Close()

	tests := []struct {
		name     string
		base     string
		wantIDs  []string
		wantCode string
	}{
		{"the owner answers", owner.URL, []string{"TR_1"}, ""},
		{"followed from another node", edge.URL, []string{"TR_1"}, ""},
		{"misdirected twice", lost.URL, nil, CodeRoomElsewhere},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{BaseURL: tt.base}
			ids, err := c.MuteTracks(context.Background(), "clinic", "ada", MuteRequest{Source: "microphone", Muted: true})
			var apiErr *APIError
			switch {
			case tt.wantCode == "" && (err != nil || len(ids) != 1 || ids[0] != tt.wantIDs[0]):
				t.Errorf("MuteTracks = %v, %v; want %v", ids, err, tt.wantIDs)
			case tt.wantCode != "" && (!errors.As(err, &apiErr) || apiErr.Code != tt.wantCode || apiErr.Status != http.StatusMisdirectedRequest ||
				apiErr.Node != "node-b" || apiErr.BaseURL != owner.URL):
				t.Errorf("MuteTracks error %v (%+v); want 421 %s naming node-b at %s", err, apiErr, tt.wantCode, owner.URL)
			}
		})
	}
}
