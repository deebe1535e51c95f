package signaling

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// inviteToken checks an invitation's link (base, room, token in the fragment) and returns its token.
func inviteToken(t *testing.T, inv protocol.Invite, base, room string) string {
	t.Helper()
	shown, _, _ := strings.Cut(inv.URL, "token=") // a test's output is a log too: no tokens
	if !strings.HasPrefix(inv.URL, base+"/#") {
		t.Fatalf("invite url %s... does not start with %s/#", shown, base)
	}
	u, err := url.Parse(inv.URL)
	if err != nil {
		t.Fatalf("invite url %s...: %v", shown, err)
	}
	q, err := url.ParseQuery(u.Fragment)
	if err != nil || q.Get("room") != room || q.Get("token") == "" || u.RawQuery != "" {
		t.Fatalf("invite url %s...: room %q, query %q, %v", shown, q.Get("room"), u.RawQuery, err)
	}
	return q.Get("token")
}

// TestCreateInvite: a host's invitation is a link to its own room on the server's public URL (else the
// socket's own scheme and host) whose token the server's keys verify: the role and name asked for, a
// fresh identity per invitation, the room's policy without its lock (none while the room has none), and
// the expiry asked for (a day by default).
func TestCreateInvite(t *testing.T) {
	consultation := &auth.Policy{Mode: auth.ModeConsultation, MaxParticipants: 2}
	tests := []struct {
		name       string
		cfg        Config
		base       string       // "": http:// and the test server's host
		hostPolicy *auth.Policy // the host's token's, which makes the room's
		wantPolicy *auth.Policy
	}{
		{name: "public url", cfg: Config{PublicURL: "https://meet.example.org/"}, base: "https://meet.example.org",
			hostPolicy: consultation, wantPolicy: consultation},
		{name: "the request's host", hostPolicy: consultation, wantPolicy: consultation},
		{name: "a request over TLS", cfg: Config{RequestTLS: func(*http.Request) bool { return true }}, base: "https://",
			hostPolicy: consultation, wantPolicy: consultation},
		{name: "a room without a policy", hostPolicy: nil, wantPolicy: nil},
		{name: "a locked room: the link leaves the lock out",
			hostPolicy: &auth.Policy{Mode: auth.ModeConsultation, Locked: true}, wantPolicy: &auth.Policy{Mode: auth.ModeConsultation}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := testKeys(t)
			tt.cfg.Keys = keys
			ts := startServer(t, tt.cfg)
			host := strings.TrimPrefix(ts.http.URL, "http://")
			switch tt.base {
			case "":
				tt.base = "http://" + host
			case "https://":
				tt.base += host
			}
			const room = "consult-42"
			conn := ts.mustJoin(room, mintToken(t, keys, room, "dr-ada", auth.RoleHost, tt.hostPolicy), protocol.TypeJoined)

			asks := []struct {
				req      protocol.CreateInvite
				wantName string
				wantTTL  time.Duration
			}{
				{protocol.CreateInvite{Role: "attendee", TTLSeconds: ptr(3600), Name: "  Pat  "}, "Pat", time.Hour},
				{protocol.CreateInvite{Role: "presenter"}, "", 24 * time.Hour},
			}
			identities := map[string]bool{}
			for i, ask := range asks {
				asked := time.Now()
				env := request(t, conn, protocol.TypeCreateInvite, "inv"+string(rune('0'+i)), ask.req)
				if env.Type != protocol.TypeInvite {
					t.Fatalf("create_invite %+v: %s %s", ask.req, env.Type, env.Data)
				}
				inv := decodeData[protocol.Invite](t, env)
				claims, err := keys.Verify(inviteToken(t, inv, tt.base, room))
				if err != nil {
					t.Fatalf("the invitation's token does not verify: %v", err)
				}
				if claims.Room != room || string(claims.Role) != ask.req.Role || inv.Role != ask.req.Role || claims.Name != ask.wantName || claims.Grants != nil {
					t.Fatalf("claims %+v (invite %+v), want room %s role %s name %q", claims, inv, room, ask.req.Role, ask.wantName)
				}
				if (claims.Policy == nil) != (tt.wantPolicy == nil) || (claims.Policy != nil && *claims.Policy != *tt.wantPolicy) {
					t.Fatalf("policy %+v, want %+v", claims.Policy, tt.wantPolicy)
				}
				if !strings.HasPrefix(claims.Subject, "guest-") || len(claims.Subject) != len("guest-")+16 || identities[claims.Subject] {
					t.Fatalf("identity %q is not a fresh guest identity (had %v)", claims.Subject, identities)
				}
				identities[claims.Subject] = true
				exp := claims.ExpiresAt.Time
				if d := exp.Sub(asked.Add(ask.wantTTL)); d < -time.Second || d > time.Second {
					t.Fatalf("expires %s, %s off the ttl %s", exp, d, ask.wantTTL)
				}
				if at, err := time.Parse(time.RFC3339, inv.ExpiresAt); err != nil || !at.Equal(exp) || !strings.HasSuffix(inv.ExpiresAt, "Z") {
					t.Fatalf("expiresAt %q (%v), token exp %s", inv.ExpiresAt, err, exp)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestCreateInviteRefused: only a joined moderator invites, only to the invitable roles and ttls, and
// only on a server with a key to sign with.
func TestCreateInviteRefused(t *testing.T) {
	const room = "ward"
	attendee := protocol.CreateInvite{Role: "attendee"}
	tests := []struct {
		name     string
		noKeys   bool                                                                   // a server without keys (dev mode trusts the test's loopback joins)
		socket   func(t *testing.T, ts *testServer, keys *auth.Keyring) *websocket.Conn // the sender, as far as it got
		req      protocol.CreateInvite
		wantCode string
		wantIn   string // part of the message
	}{
		{name: "attendee", socket: joined(auth.RoleAttendee, nil), req: attendee, wantCode: protocol.CodeInsufficientGrant, wantIn: "moderate"},
		{name: "presenter", socket: joined(auth.RolePresenter, nil), req: attendee, wantCode: protocol.CodeInsufficientGrant},
		{name: "inviting a host", socket: joined(auth.RoleHost, nil), req: protocol.CreateInvite{Role: "host"},
			wantCode: protocol.CodeBadRequest, wantIn: "attendee, presenter, observer"},
		{name: "no role", socket: joined(auth.RoleHost, nil), req: protocol.CreateInvite{}, wantCode: protocol.CodeBadRequest, wantIn: "attendee, presenter, observer"},
		{name: "ttl of 10 s", socket: joined(auth.RoleHost, nil), req: protocol.CreateInvite{Role: "attendee", TTLSeconds: ptr(10)},
			wantCode: protocol.CodeBadRequest, wantIn: "ttlSeconds"},
		{name: "ttl of 8 days", socket: joined(auth.RoleHost, nil), req: protocol.CreateInvite{Role: "observer", TTLSeconds: ptr(8 * 86400)},
			wantCode: protocol.CodeBadRequest, wantIn: "ttlSeconds"},
		{name: "name too long", socket: joined(auth.RoleHost, nil), req: protocol.CreateInvite{Role: "attendee", Name: strings.Repeat("n", 65)},
			wantCode: protocol.CodeBadRequest, wantIn: "name"},
		{name: "before join", socket: func(t *testing.T, ts *testServer, _ *auth.Keyring) *websocket.Conn { return ts.dial() },
			req: attendee, wantCode: protocol.CodeNotJoined},
		{name: "in the lobby", socket: joined(auth.RoleAttendee, &auth.Policy{Lobby: true}), req: attendee, wantCode: protocol.CodeInLobby},
		{name: "no keys", noKeys: true, socket: func(t *testing.T, ts *testServer, _ *auth.Keyring) *websocket.Conn {
			conn := ts.dial()
			send(t, conn, protocol.TypeJoin, "join", protocol.Join{Room: room, Name: "Dev"}) // a dev-mode host
			if env := read(t, conn); env.Type != protocol.TypeJoined {
				t.Fatalf("dev join: %s %s", env.Type, env.Data)
			}
			return conn
		}, req: attendee, wantCode: protocol.CodeNoKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var keys *auth.Keyring
			cfg := Config{DevTrustLoopback: tt.noKeys}
			if !tt.noKeys {
				keys = testKeys(t)
				cfg.Keys = keys
			}
			ts := startServer(t, cfg)
			conn := tt.socket(t, ts, keys)
			env := request(t, conn, protocol.TypeCreateInvite, "inv", tt.req)
			if code := errorCode(t, env); code != tt.wantCode {
				t.Fatalf("reply %s %s, want %s", env.Type, env.Data, tt.wantCode)
			}
			if msg := decodeData[protocol.Error](t, env).Message; !strings.Contains(msg, tt.wantIn) {
				t.Fatalf("message %q does not mention %q", msg, tt.wantIn)
			}
			// The session goes on.
			send(t, conn, protocol.TypePing, "after", nil)
			if env := read(t, conn); env.Type != protocol.TypePong {
				t.Fatalf("after the refusal: %s %s", env.Type, env.Data)
			}
		})
	}
}

// joined returns a socket setup that joins room "ward" with a token of role (and policy).
func joined(role auth.Role, policy *auth.Policy) func(*testing.T, *testServer, *auth.Keyring) *websocket.Conn {
	return func(t *testing.T, ts *testServer, keys *auth.Keyring) *websocket.Conn {
		conn, env := ts.joinAs("ward", mintToken(t, keys, "ward", "sender", role, policy))
		if env.Type != protocol.TypeJoined && env.Type != protocol.TypeLobby {
			t.Fatalf("join as %s: %s %s", role, env.Type, env.Data)
		}
		return conn
	}
}

// TestInviteeWaitsInTheLobby: a patient invited from a consultation joins with the link's token alone
// and waits in that room's lobby under the invitation's identity and name, and the host sees it there.
func TestInviteeWaitsInTheLobby(t *testing.T) {
	keys := testKeys(t)
	ts := startServer(t, Config{Keys: keys})
	const room = "consult-42"
	host := ts.mustJoin(room, mintToken(t, keys, room, "dr-ada", auth.RoleHost, &auth.Policy{Mode: auth.ModeConsultation}), protocol.TypeJoined)
	env := request(t, host, protocol.TypeCreateInvite, "inv", protocol.CreateInvite{Role: "attendee", Name: "Pat"})
	if env.Type != protocol.TypeInvite {
		t.Fatalf("create_invite: %s %s", env.Type, env.Data)
	}
	token := inviteToken(t, decodeData[protocol.Invite](t, env), "http://"+strings.TrimPrefix(ts.http.URL, "http://"), room)
	claims, err := keys.Verify(token)
	if err != nil {
		t.Fatal(err)
	}

	patient := ts.dial()
	send(t, patient, protocol.TypeJoin, "j", protocol.Join{Room: room, Token: token}) // no name: the token's
	if env := read(t, patient); env.Type != protocol.TypeLobby || env.ID != "j" || decodeData[protocol.Lobby](t, env).Room != room {
		t.Fatalf("patient's join: %s %s", env.Type, env.Data)
	}
	ts.settle(room)
	updates := ofType[protocol.LobbyUpdate](t, untilPong(t, host), protocol.TypeLobbyUpdate)
	if len(updates) != 1 || len(updates[0].Waiting) != 1 {
		t.Fatalf("host's lobby updates: %+v", updates)
	}
	if w := updates[0].Waiting[0]; w.Identity != claims.Subject || w.Name != "Pat" {
		t.Fatalf("waiter %+v, want %s named Pat", w, claims.Subject)
	}
	// The link is for that room only.
	other := ts.dial()
	send(t, other, protocol.TypeJoin, "j", protocol.Join{Room: "consult-43", Token: token})
	if env := read(t, other); errorCode(t, env) != protocol.CodeTokenWrongRoom {
		t.Fatalf("the link used for another room: %s %s", env.Type, env.Data)
	}
}
