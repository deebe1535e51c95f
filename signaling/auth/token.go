// Package auth is who may do what: join tokens (JWT, HS256, signed with API key/secret pairs), roles,
// grants and room policies. The control plane (package signaling) checks a token at join and the grants
// on every action; the admin API checks a bearer token's admin grant. Nothing here knows WebSocket or
// media; LoopbackRequest (dev mode) reads an HTTP request's peer.
//
// A token's header names its key ("kid"); a Keyring holds every accepted key so that keys can be rotated:
// add the new key, hand out tokens signed with it (the first key signs), drop the old one once its tokens
// have expired.
//
// Locking: a Keyring is immutable once built and safe for concurrent use; Grants, Policy and Claims are
// plain values.
package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// Error codes of a refused token or action. They are the protocol's error codes (PROTOCOL.md) and the
// admin API's, so a client sees the same code whichever door it knocked on.
const (
	CodeTokenMissing      = "token_missing"       // no token where one is required
	CodeTokenMalformed    = "token_malformed"     // not a JWT, or its claims are not ours
	CodeTokenInvalid      = "token_invalid"       // unknown key, wrong algorithm or bad signature
	CodeTokenExpired      = "token_expired"       // past exp
	CodeTokenNotYetValid  = "token_not_yet_valid" // before nbf
	CodeTokenWrongRoom    = "token_wrong_room"    // the token is for another room
	CodeInsufficientGrant = "insufficient_grant"  // the token's grants do not allow the action
)

// Error is a refused token or action, with the code to show the client.
type Error struct {
	Code string
	Err  error
}

func (e *Error) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// MaxTokenLength bounds what Verify will parse; real tokens are well under 2 KiB.
const MaxTokenLength = 8 << 10

// Leeway is the clock skew tolerated on exp and nbf between whoever minted a token and this server.
const Leeway = 5 * time.Second

// Claims are a join token's contents. The identity is the standard "sub" claim; exp is required, nbf
// optional.
type Claims struct {
	// Room the token admits to. Empty only in an admin token valid for every room.
	Room string `json:"room,omitempty"`
	// Name shown to the others; empty: the name the client sends in `join`.
	Name string `json:"name,omitempty"`
	// Role picks the default grants; empty means attendee.
	Role Role `json:"role,omitempty"`
	// Grants, when present, replace the role's defaults entirely.
	Grants *Grants `json:"grants,omitempty"`
	// Policy applies to the room when it has none yet (see Policy).
	Policy *Policy `json:"policy,omitempty"`
	jwt.RegisteredClaims
}

// Identity is who the token stands for (the "sub" claim): stable across joins, unlike a participant id.
func (c *Claims) Identity() string { return c.Subject }

// Validate checks everything but the signature and times, which Verify checks.
func (c *Claims) Validate() error {
	if err := ValidateIdentity(c.Subject); err != nil {
		return fmt.Errorf("sub: %w", err)
	}
	if c.Room != "" {
		if err := protocol.ValidateRoomName(c.Room); err != nil {
			return err
		}
	} else if c.Grants == nil || !c.Grants.Admin {
		return errors.New("room is missing (only an admin token may leave it out)")
	}
	if len([]rune(c.Name)) > 64 {
		return errors.New("name is longer than 64 characters")
	}
	if _, err := ParseRole(string(c.Role)); err != nil {
		return err
	}
	if c.Grants != nil {
		if err := c.Grants.Validate(); err != nil {
			return err
		}
	}
	if c.Policy != nil {
		if err := c.Policy.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// ValidateIdentity checks an identity: 1 to 128 characters, no control characters and no '/' (identities
// appear in admin API paths).
func ValidateIdentity(id string) error {
	if id == "" || len([]rune(id)) > 128 {
		return errors.New("identity must be 1 to 128 characters")
	}
	for _, r := range id {
		if unicode.IsControl(r) || r == '/' {
			return fmt.Errorf("identity %q contains a control character or '/'", id)
		}
	}
	return nil
}

// CheckRoom refuses a token for another room. An admin token without a room fits every room.
func (c *Claims) CheckRoom(room string) error {
	if c.Room != "" && c.Room != room {
		return Errorf(CodeTokenWrongRoom, "the token is for room %q, not %q", c.Room, room)
	}
	return nil
}

// Key is one API key: its id (the JWT "kid") and its secret.
type Key struct {
	ID     string `yaml:"key"`
	Secret string `yaml:"secret"`
}

// MinSecretLength is the shortest secret accepted: HS256 wants at least as many bytes as its hash.
const MinSecretLength = 32

// Validate checks the id's characters and the secret's length.
func (k Key) Validate() error {
	if k.ID == "" || len(k.ID) > 64 {
		return errors.New("key id must be 1 to 64 characters")
	}
	for _, r := range k.ID {
		if !(r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
			return fmt.Errorf("key id %q may only contain letters, digits, '.', '-' and '_'", k.ID)
		}
	}
	if len(k.Secret) < MinSecretLength {
		return fmt.Errorf("key %s: secret must be at least %d characters", k.ID, MinSecretLength)
	}
	return nil
}

// Keyring holds the accepted keys; the first one signs.
type Keyring struct {
	keys []Key
	byID map[string][]byte
	now  func() time.Time
}

// NewKeyring checks the keys (at least one, distinct ids) and returns a keyring using the wall clock.
func NewKeyring(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: no keys")
	}
	k := &Keyring{keys: append([]Key(nil), keys...), byID: make(map[string][]byte, len(keys)), now: time.Now}
	for _, key := range keys {
		if err := key.Validate(); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		if _, dup := k.byID[key.ID]; dup {
			return nil, fmt.Errorf("auth: key id %s appears twice", key.ID)
		}
		k.byID[key.ID] = []byte(key.Secret)
	}
	return k, nil
}

// WithClock returns a copy of the keyring that reads the time from now (tests).
func (k *Keyring) WithClock(now func() time.Time) *Keyring {
	c := *k
	c.now = now
	return &c
}

// SigningKeyID is the id of the key Mint signs with.
func (k *Keyring) SigningKeyID() string { return k.keys[0].ID }

// Secret returns a key's secret (webhooks sign with one).
func (k *Keyring) Secret(id string) ([]byte, bool) {
	s, ok := k.byID[id]
	return s, ok
}

// Mint signs claims with the first key. IssuedAt defaults to now and ExpiresAt to now+ttl; ttl must be
// positive unless ExpiresAt is set.
func (k *Keyring) Mint(c Claims, ttl time.Duration) (string, error) {
	now := k.now()
	if c.IssuedAt == nil {
		c.IssuedAt = jwt.NewNumericDate(now)
	}
	if c.ExpiresAt == nil {
		if ttl <= 0 {
			return "", errors.New("auth: mint: the token needs a positive ttl or an expiry")
		}
		c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	}
	if c.Role == "" {
		c.Role = RoleAttendee
	}
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, &c)
	t.Header["kid"] = k.keys[0].ID
	s, err := t.SignedString(k.byID[k.keys[0].ID])
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return s, nil
}

// Verify parses a token, checks its key, signature, times and claims, and returns the claims. The error
// is always an *Error whose code says what is wrong; the room and grants are the caller's to check.
func (k *Keyring) Verify(token string) (*Claims, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, Errorf(CodeTokenMissing, "no token")
	}
	if len(token) > MaxTokenLength {
		return nil, Errorf(CodeTokenMalformed, "token is %d bytes, the limit is %d", len(token), MaxTokenLength)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(k.now),
	)
	var claims Claims
	_, err := parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKeyID
		}
		secret, ok := k.byID[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key %q", kid)
		}
		return secret, nil
	})
	if err != nil {
		return nil, classify(err)
	}
	if err := claims.Validate(); err != nil {
		return nil, &Error{Code: CodeTokenMalformed, Err: err}
	}
	if claims.Role == "" {
		claims.Role = RoleAttendee
	}
	return &claims, nil
}

var errNoKeyID = errors.New(`token header has no "kid" naming its key`)

// classify maps the jwt library's error to our code. The order matters: jwt reports a bad signature
// before it looks at the times, and several time problems at once.
func classify(err error) *Error {
	switch {
	case errors.Is(err, errNoKeyID), errors.Is(err, jwt.ErrTokenMalformed):
		return &Error{Code: CodeTokenMalformed, Err: err}
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return &Error{Code: CodeTokenInvalid, Err: err}
	case errors.Is(err, jwt.ErrTokenExpired):
		return &Error{Code: CodeTokenExpired, Err: err}
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return &Error{Code: CodeTokenNotYetValid, Err: err}
	default: // a required claim missing, a claim of the wrong type
		return &Error{Code: CodeTokenMalformed, Err: err}
	}
}

// Admit is the outcome of checking a join: who joins, as what, with which rights.
type Admit struct {
	Identity string
	Name     string
	Role     Role
	// Grants are the token's explicit grants, nil for the role's defaults (resolved against the room's
	// mode by Effective once the room is known).
	Grants *Grants
	Policy *Policy
	// Dev is set for a tokenless join trusted in dev mode.
	Dev bool
}

// AdmitFor checks claims for a join to room and says who joins.
func AdmitFor(c *Claims, room string) (Admit, error) {
	if c.Room == "" {
		return Admit{}, Errorf(CodeTokenWrongRoom, "an admin token without a room cannot join room %q", room)
	}
	if err := c.CheckRoom(room); err != nil {
		return Admit{}, err
	}
	return Admit{Identity: c.Subject, Name: c.Name, Role: c.Role, Grants: c.Grants, Policy: c.Policy}, nil
}

// DevAdmit is what a tokenless join gets in dev mode: a host's rights, its name as identity.
func DevAdmit(name string) Admit {
	return Admit{Identity: name, Name: name, Role: RoleHost, Dev: true}
}
