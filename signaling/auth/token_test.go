package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/signaling/protocol"
)

var (
	testNow    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	keyA       = Key{ID: "APIa", Secret: strings.Repeat("a", 40)}
	keyB       = Key{ID: "APIb", Secret: strings.Repeat("b", 40)}
	keyUnknown = Key{ID: "APIx", Secret: strings.Repeat("x", 40)}
)

func testRing(t testing.TB, keys ...Key) *Keyring {
	t.Helper()
	k, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k.WithClock(func() time.Time { return testNow })
}

func claimsFor(room, identity string, role Role) Claims {
	return Claims{Room: room, Role: role, RegisteredClaims: jwt.RegisteredClaims{Subject: identity}}
}

// rawToken signs arbitrary header and payload JSON with HS256 and secret, to build what Mint refuses to.
func rawToken(header, payload, secret string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

func TestVerify(t *testing.T) {
	ringA := testRing(t, keyA)
	// The server accepts A and B (rotation: B is new and signs, A's tokens still work).
	server := testRing(t, keyB, keyA)
	mint := func(k *Keyring, c Claims, ttl time.Duration) string {
		t.Helper()
		tok, err := k.Mint(c, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := mint(ringA, claimsFor("clinic", "dr-ada", RoleHost), time.Hour)
	exp := func(d time.Duration) *jwt.NumericDate { return jwt.NewNumericDate(testNow.Add(d)) }
	expired := claimsFor("clinic", "patient", RoleAttendee)
	expired.IssuedAt, expired.ExpiresAt = exp(-2*time.Hour), exp(-time.Hour)
	early := claimsFor("clinic", "patient", RoleAttendee)
	early.NotBefore = exp(time.Hour)
	withinLeeway := claimsFor("clinic", "patient", RoleAttendee)
	withinLeeway.ExpiresAt = exp(-2 * time.Second)
	hs384 := jwt.NewWithClaims(jwt.SigningMethodHS384, &Claims{Room: "clinic", RegisteredClaims: jwt.RegisteredClaims{Subject: "x", ExpiresAt: exp(time.Hour)}})
	hs384.Header["kid"] = keyA.ID
	hs384Token, _ := hs384.SignedString([]byte(keyA.Secret))
	hdr := `{"alg":"HS256","typ":"JWT","kid":"APIa"}`
	expUnix := testNow.Add(time.Hour).Unix()
	payload := func(extra string) string {
		return `{"sub":"x","room":"clinic","exp":` + jsonNum(expUnix) + extra + `}`
	}

	cases := []struct {
		name  string
		token string
		code  string // "" = valid
	}{
		{"valid", valid, ""},
		{"valid with surrounding space", "  " + valid + "\n", ""},
		{"signed by the newer key", mint(testRing(t, keyB), claimsFor("clinic", "x", RolePresenter), time.Hour), ""},
		{"expired a second ago within leeway", mint(ringA, withinLeeway, 0), ""},
		{"missing", "", CodeTokenMissing},
		{"blank", "   ", CodeTokenMissing},
		{"not a JWT", "hello", CodeTokenMalformed},
		{"two segments", "a.b", CodeTokenMalformed},
		{"bad base64", "!!!.???.***", CodeTokenMalformed},
		{"too long", strings.Repeat("a", MaxTokenLength+1), CodeTokenMalformed},
		{"no kid", rawToken(`{"alg":"HS256","typ":"JWT"}`, payload(""), keyA.Secret), CodeTokenMalformed},
		{"no exp", rawToken(hdr, `{"sub":"x","room":"clinic"}`, keyA.Secret), CodeTokenMalformed},
		{"exp of the wrong type", rawToken(hdr, `{"sub":"x","room":"clinic","exp":"tomorrow"}`, keyA.Secret), CodeTokenMalformed},
		{"no identity", rawToken(hdr, `{"room":"clinic","exp":`+jsonNum(expUnix)+`}`, keyA.Secret), CodeTokenMalformed},
		{"no room without admin", rawToken(hdr, `{"sub":"x","exp":`+jsonNum(expUnix)+`}`, keyA.Secret), CodeTokenMalformed},
		{"bad room name", rawToken(hdr, `{"sub":"x","room":"a/b","exp":`+jsonNum(expUnix)+`}`, keyA.Secret), CodeTokenMalformed},
		{"unknown role", rawToken(hdr, payload(`,"role":"king"`), keyA.Secret), CodeTokenMalformed},
		{"unknown source", rawToken(hdr, payload(`,"grants":{"publish":["hologram"]}`), keyA.Secret), CodeTokenMalformed},
		{"bad mode", rawToken(hdr, payload(`,"policy":{"mode":"party"}`), keyA.Secret), CodeTokenMalformed},
		{"grants of the wrong type", rawToken(hdr, payload(`,"grants":"all"`), keyA.Secret), CodeTokenMalformed},
		{"unknown key", mint(testRing(t, keyUnknown), claimsFor("clinic", "x", RoleHost), time.Hour), CodeTokenInvalid},
		{"wrong secret for the kid", rawToken(hdr, payload(""), keyB.Secret), CodeTokenInvalid},
		{"tampered payload", tamper(valid), CodeTokenInvalid},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"APIa"}`)) + "." +
			base64.RawURLEncoding.EncodeToString([]byte(payload(""))) + ".", CodeTokenInvalid},
		{"HS384", hs384Token, CodeTokenInvalid},
		{"expired", mint(ringA, expired, 0), CodeTokenExpired},
		{"expired and badly signed is invalid first", tamper(mint(ringA, expired, 0)), CodeTokenInvalid},
		{"not yet valid", mint(ringA, early, time.Hour), CodeTokenNotYetValid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := server.Verify(tc.token)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if c.Room != "clinic" || c.Identity() == "" || !c.Role.Valid() {
					t.Fatalf("claims not decoded: %+v", c)
				}
				return
			}
			var aerr *Error
			if !errors.As(err, &aerr) || aerr.Code != tc.code {
				t.Fatalf("want %s, got %v", tc.code, err)
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
		})
	}
}

func jsonNum(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// tamper changes the payload's room without re-signing.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	raw = []byte(strings.Replace(string(raw), `"room":"clinic"`, `"room":"clinid"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

func TestAdmitForRoomAndGrants(t *testing.T) {
	ring := testRing(t, keyA)
	cases := []struct {
		name   string
		claims Claims
		room   string
		code   string
	}{
		{"right room", claimsFor("clinic", "x", RoleHost), "clinic", ""},
		{"wrong room", claimsFor("clinic", "x", RoleHost), "classroom", CodeTokenWrongRoom},
		{"admin token without room", Claims{Grants: &Grants{Admin: true}, RegisteredClaims: jwt.RegisteredClaims{Subject: "ops"}}, "clinic", CodeTokenWrongRoom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ring.Mint(tc.claims, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ring.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			a, err := AdmitFor(c, tc.room)
			var aerr *Error
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("want admitted, got %v", err)
			case tc.code == "" && (a.Identity != "x" || a.Role != RoleHost):
				t.Fatalf("admit: %+v", a)
			case tc.code != "" && (!errors.As(err, &aerr) || aerr.Code != tc.code):
				t.Fatalf("want %s, got %v", tc.code, err)
			}
		})
	}
}

func TestMintRoundTrip(t *testing.T) {
	ring := testRing(t, keyA)
	in := Claims{Room: "class-7", Name: "Ms Lovelace", Role: RolePresenter,
		Grants:           &Grants{Publish: []string{SourceScreen}, Subscribe: true},
		Policy:           &Policy{Mode: ModeClassroom, MaxParticipants: 30, Lobby: true},
		RegisteredClaims: jwt.RegisteredClaims{Subject: "ada@example.org"}}
	tok, err := ring.Mint(in, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ring.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if out.Identity() != "ada@example.org" || out.Name != in.Name || out.Role != RolePresenter ||
		!out.Grants.CanPublish(SourceScreenAudio) || out.Grants.CanPublish(SourceCamera) ||
		out.Policy.Mode != ModeClassroom || out.Policy.MaxParticipants != 30 || !out.ExpiresAt.Equal(testNow.Add(2*time.Hour)) {
		t.Fatalf("round trip: %+v %+v %+v", out, out.Grants, out.Policy)
	}
	if _, err := ring.Mint(claimsFor("r", "x", RoleHost), 0); err == nil {
		t.Fatal("minted a token that never expires")
	}
	if _, err := ring.Mint(claimsFor("bad room!", "x", RoleHost), time.Minute); err == nil {
		t.Fatal("minted a token for an invalid room")
	}
}

func TestKeyringRefusesBadKeys(t *testing.T) {
	for _, keys := range [][]Key{
		nil,
		{{ID: "k", Secret: "short"}},
		{{ID: "", Secret: strings.Repeat("s", 40)}},
		{{ID: "bad id", Secret: strings.Repeat("s", 40)}},
		{keyA, keyA},
	} {
		if _, err := NewKeyring(keys...); err == nil {
			t.Errorf("NewKeyring(%v) accepted bad keys", keys)
		}
	}
}

// FuzzVerify: whatever the input, Verify returns either claims that validate or a coded *Error, never
// panics, and never accepts a token it did not sign.
func FuzzVerify(f *testing.F) {
	ring := testRing(f, keyA)
	good, _ := ring.Mint(claimsFor("clinic", "dr-ada", RoleHost), time.Hour)
	f.Add(good)
	f.Add(tamper(good))
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(rawToken(`{"alg":"HS256","kid":"APIa"}`, `{"sub":"x","room":"r","exp":1e99}`, keyA.Secret))
	f.Add(rawToken(`{"alg":"HS256","kid":"APIa"}`, `{"sub":"x","room":"r","exp":9999999999,"grants":{"publish":null}}`, keyA.Secret))
	f.Fuzz(func(t *testing.T, token string) {
		c, err := ring.Verify(token)
		if err != nil {
			var aerr *Error
			if !errors.As(err, &aerr) || aerr.Code == "" {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		if c.Validate() != nil || !c.Role.Valid() {
			t.Fatalf("accepted invalid claims %+v", c)
		}
		// Accepted: it must carry our signature, i.e. re-verifying its signing input with our key holds.
		parts := strings.Split(strings.TrimSpace(token), ".")
		mac := hmac.New(sha256.New, []byte(keyA.Secret))
		mac.Write([]byte(parts[0] + "." + parts[1]))
		sig, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
		if !hmac.Equal(sig, mac.Sum(nil)) {
			t.Fatalf("accepted a token not signed with our key: %q", token)
		}
	})
}

// TestCodesAreTheProtocols: the codes a client sees for a refused token are the protocol's.
func TestCodesAreTheProtocols(t *testing.T) {
	for ours, theirs := range map[string]string{
		CodeTokenMissing: protocol.CodeTokenMissing, CodeTokenMalformed: protocol.CodeTokenMalformed,
		CodeTokenInvalid: protocol.CodeTokenInvalid, CodeTokenExpired: protocol.CodeTokenExpired,
		CodeTokenNotYetValid: protocol.CodeTokenNotYetValid, CodeTokenWrongRoom: protocol.CodeTokenWrongRoom,
		CodeInsufficientGrant: protocol.CodeInsufficientGrant,
	} {
		if ours != theirs {
			t.Errorf("auth code %q is %q in the protocol", ours, theirs)
		}
	}
}
