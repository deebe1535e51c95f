package protocol

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Invitations from inside a call (PROTOCOL.md, `create_invite`): a host asks the server for a join link
// to its own room, so that inviting someone needs no shell and no admin token. The server signs the
// link's token with its own key; the client never sees a key.
const (
	TypeCreateInvite = "create_invite" // client → server; reply TypeInvite
	TypeInvite       = "invite"        // server → client
)

// CodeNoKeys refuses an invitation on a node that holds no key to sign it with (the admin API answers
// the same code for a minting request).
const CodeNoKeys = "no_keys"

// Limits of an invitation. The ttl is bounded below so that a link survives being sent by mail, and
// above by a week: an invitation is for a call, not standing access (the admin API mints those).
const (
	DefaultInviteTTLSeconds = 24 * 60 * 60
	MinInviteTTLSeconds     = 60
	MaxInviteTTLSeconds     = 7 * 24 * 60 * 60
	MaxInviteNameLength     = 64
)

// InviteRoles are the roles an invitation may carry. A host cannot be invited from a call: a link that
// grants moderate would let whoever forwards it run the room; hosts get their links from the admin API.
var InviteRoles = []string{"attendee", "presenter", "observer"}

// CreateInvite is the data of TypeCreateInvite.
type CreateInvite struct {
	Role string `json:"role"`
	// TTLSeconds is how long the link works; nil: DefaultInviteTTLSeconds. A pointer, so that an explicit
	// 0 is refused rather than taken for the default.
	TTLSeconds *int `json:"ttlSeconds,omitempty"`
	// Name is shown for the invitee; empty: the invitee types one on the pre-join screen.
	Name string `json:"name,omitempty"`
}

// Invite is the data of TypeInvite.
type Invite struct {
	URL       string `json:"url"` // {base}/#room={room}&token={token}
	Role      string `json:"role"`
	ExpiresAt string `json:"expiresAt"` // RFC 3339, UTC, to the second
}

// Validate checks the role and the ttl, fills in the default ttl and trims the name.
func (c *CreateInvite) Validate() error {
	if !slices.Contains(InviteRoles, c.Role) {
		return fmt.Errorf("role %q cannot be invited: give one of %s", c.Role, strings.Join(InviteRoles, ", "))
	}
	if c.TTLSeconds == nil {
		ttl := DefaultInviteTTLSeconds
		c.TTLSeconds = &ttl
	}
	if ttl := *c.TTLSeconds; ttl < MinInviteTTLSeconds || ttl > MaxInviteTTLSeconds {
		return fmt.Errorf("ttlSeconds %d is not between %d and %d (7 days)", ttl, MinInviteTTLSeconds, MaxInviteTTLSeconds)
	}
	c.Name = strings.TrimSpace(c.Name)
	if n := utf8.RuneCountInString(c.Name); n > MaxInviteNameLength {
		return fmt.Errorf("name is %d characters, at most %d", n, MaxInviteNameLength)
	}
	return nil
}
