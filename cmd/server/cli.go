package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
)

// The CLI sub-commands: token and link mint a join token (and link) locally; rooms, participants and kick call a node's admin
// API with an admin token they mint themselves. The API key comes from HUDDLE_API_KEY and
// HUDDLE_API_SECRET, else from -config's auth.keys (-key picks one, default the first); without a key they
// talk to a dev-mode node on this machine, which trusts local requests.

const defaultServerURL = "http://127.0.0.1:7880"

// Environment variables holding an API key, for the server and the CLI.
const (
	envAPIKey    = "HUDDLE_API_KEY"
	envAPISecret = "HUDDLE_API_SECRET"
)

// envKey returns the API key set in the environment, if any.
func envKey() (auth.Key, bool, error) {
	id, secret := os.Getenv(envAPIKey), os.Getenv(envAPISecret)
	switch {
	case id == "" && secret == "":
		return auth.Key{}, false, nil
	case id == "" || secret == "":
		return auth.Key{}, false, fmt.Errorf("set both %s and %s, or neither", envAPIKey, envAPISecret)
	}
	k := auth.Key{ID: id, Secret: secret}
	if err := k.Validate(); err != nil {
		return auth.Key{}, false, fmt.Errorf("%s/%s: %w", envAPIKey, envAPISecret, err)
	}
	return k, true, nil
}

// cliEnv is what every sub-command shares: where the node is and the key to sign with.
type cliEnv struct {
	fs         *flag.FlagSet
	url        *string
	configPath *string
	keyID      *string
	asJSON     *bool

	keys      *auth.Keyring // nil: no key (dev mode)
	serverURL string        // the node's HTTP base
	publicURL string        // base of join links
}

func newCLI(name, usage string, stderr io.Writer) *cliEnv {
	fs := flag.NewFlagSet("server "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: server %s %s\n\nflags:\n", name, usage)
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nThe API key comes from %s and %s, else from -config's auth.keys.\n", envAPIKey, envAPISecret)
	}
	return &cliEnv{
		fs:         fs,
		url:        fs.String("url", "", "the node's base URL (default "+defaultServerURL+", or the -config's http.addr)"),
		configPath: fs.String("config", "", "the node's YAML config, for its API keys and address"),
		keyID:      fs.String("key", "", "id of the API key to sign with (default the first)"),
		asJSON:     fs.Bool("json", false, "print JSON instead of text"),
	}
}

// parse reads flags and positional arguments in any order, then finds the key and the URLs.
func (e *cliEnv) parse(args []string, positional int) ([]string, error) {
	var pos []string
	for {
		if err := e.fs.Parse(args); err != nil {
			return nil, err
		}
		if e.fs.NArg() == 0 {
			break
		}
		pos = append(pos, e.fs.Arg(0))
		args = e.fs.Args()[1:]
	}
	if len(pos) != positional {
		e.fs.Usage()
		return nil, fmt.Errorf("want %d arguments, got %d", positional, len(pos))
	}
	cfg := node.DefaultConfig()
	if *e.configPath != "" {
		if err := node.LoadFile(*e.configPath, &cfg); err != nil {
			return nil, err
		}
	}
	e.serverURL = *e.url
	if e.serverURL == "" {
		e.serverURL = defaultServerURL
		if *e.configPath != "" {
			e.serverURL = localURL(cfg.HTTP.Addr)
		}
	}
	e.serverURL = strings.TrimRight(e.serverURL, "/")
	e.publicURL = e.serverURL
	if cfg.HTTP.PublicURL != "" && *e.url == "" {
		e.publicURL = cfg.HTTP.PublicURL
	}
	keys := cfg.Auth.Keys
	if k, ok, err := envKey(); err != nil {
		return nil, err
	} else if ok {
		keys = []auth.Key{k}
	}
	if *e.keyID != "" {
		var picked []auth.Key
		for _, k := range keys {
			if k.ID == *e.keyID {
				picked = append(picked, k)
			}
		}
		if len(picked) == 0 {
			return nil, fmt.Errorf("no API key %q in the environment or the config", *e.keyID)
		}
		keys = picked
	}
	if len(keys) > 0 {
		ring, err := auth.NewKeyring(keys...)
		if err != nil {
			return nil, err
		}
		e.keys = ring
	}
	return pos, nil
}

// localURL turns a listen address into a URL to reach it from this machine.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return defaultServerURL
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// adminClient returns a client of the node's admin API carrying a short-lived admin token (none without
// a key: a dev-mode node trusts this machine).
func (e *cliEnv) adminClient() (*admin.Client, error) {
	c := &admin.Client{BaseURL: e.serverURL}
	if e.keys != nil {
		tok, err := e.keys.Mint(auth.Claims{Grants: &auth.Grants{Admin: true},
			RegisteredClaims: jwt.RegisteredClaims{Subject: "cli"}}, 5*time.Minute)
		if err != nil {
			return nil, err
		}
		c.Token = tok
	}
	return c, nil
}

// callAdmin parses the flags (wanting positional arguments), then runs call with them, an admin API
// client and a context that bounds the call; an API error comes back with what to do about it.
func (e *cliEnv) callAdmin(args []string, positional int, call func(ctx context.Context, c *admin.Client, pos []string) error) error {
	pos, err := e.parse(args, positional)
	if err != nil {
		return err
	}
	c, err := e.adminClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminCallTimeout)
	defer cancel()
	if err := call(ctx, c, pos); err != nil {
		return e.explain(err)
	}
	return nil
}

// adminCallTimeout bounds one CLI call of the admin API.
const adminCallTimeout = 10 * time.Second

// explain adds what to do to an admin API error.
func (e *cliEnv) explain(err error) error {
	var apiErr *admin.APIError
	if errors.As(err, &apiErr) && apiErr.Status == 401 && e.keys == nil {
		return fmt.Errorf("%w\nthe node needs an admin token: set %s and %s, or pass -config with auth.keys", err, envAPIKey, envAPISecret)
	}
	return err
}

func (e *cliEnv) printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cmdToken: server token --room R --identity I --name N --role host --ttl 2h
func cmdToken(args []string, stdout, stderr io.Writer) error {
	e := newCLI("token", "-room R -identity I [-name N] [-role host|presenter|attendee|observer] [-ttl 2h]", stderr)
	room := e.fs.String("room", "", "room the token admits to")
	identity := e.fs.String("identity", "", "who the token stands for (stable: bans and grant changes follow it)")
	name := e.fs.String("name", "", "name shown to the others (default: what the participant types)")
	role := e.fs.String("role", "attendee", "host, presenter, attendee or observer")
	ttl := e.fs.Duration("ttl", 2*time.Hour, "how long the token is valid")
	publish := e.fs.String("publish", "", "comma-separated sources to allow instead of the role's (camera,microphone,screen,screen_audio; \"none\")")
	adminGrant := e.fs.Bool("admin", false, "mint an admin token for the admin API (all rooms unless -room)")
	if _, err := e.parse(args, 0); err != nil {
		return err
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return err
	}
	if *identity == "" {
		return errors.New("-identity is required")
	}
	if *room == "" && !*adminGrant {
		return errors.New("-room is required")
	}
	var grants *auth.Grants
	if *publish != "" || *adminGrant {
		g := auth.DefaultGrants(r, "")
		if *publish == "none" {
			g.Publish = nil
		} else if *publish != "" {
			g.Publish = strings.Split(*publish, ",")
		}
		g.Admin = *adminGrant
		grants = &g
	}
	req := admin.TokenRequest{Room: *room, Identity: *identity, Name: *name, Role: string(r), TTL: ttl.String(), Grants: grants}
	var out admin.TokenResponse
	if e.keys != nil {
		claims := auth.Claims{Room: *room, Name: *name, Role: r, Grants: grants, RegisteredClaims: jwt.RegisteredClaims{Subject: *identity}}
		if out.Token, out.ExpiresAt, err = admin.MintJoin(e.keys, claims, *ttl); err != nil {
			return err
		}
		out.JoinURL = admin.JoinURL(e.publicURL, *room, out.Token)
	} else {
		// No key here: a dev-mode node mints with the key it made up at start.
		c, _ := e.adminClient()
		ctx, cancel := context.WithTimeout(context.Background(), adminCallTimeout)
		defer cancel()
		if out, err = c.MintToken(ctx, req); err != nil {
			return fmt.Errorf("no API key here (%s/%s or -config), and the node at %s did not mint one: %w", envAPIKey, envAPISecret, e.serverURL, err)
		}
	}
	if *e.asJSON {
		return e.printJSON(stdout, out)
	}
	fmt.Fprintln(stdout, out.Token)
	if *room != "" {
		fmt.Fprintln(stdout, out.JoinURL)
	}
	fmt.Fprintf(stderr, "token for %q as %s in room %q, valid until %s\n", *identity, r, *room, out.ExpiresAt.Format(time.RFC3339))
	return nil
}

// cmdLink: server link -room R -identity I [-role attendee] [-name N] [-ttl 2h] [-base URL] [-mode M]
// prints a join link: {base}/#room=R&token=T, the token in the fragment (never sent in HTTP requests).
func cmdLink(args []string, stdout, stderr io.Writer) error {
	e := newCLI("link", "-room R -identity I [-role attendee] [-name N] [-ttl 2h] [-base URL] [-mode consultation]", stderr)
	room := e.fs.String("room", "", "room the link opens")
	identity := e.fs.String("identity", "", "who the link is for (stable: bans and grant changes follow it)")
	name := e.fs.String("name", "", "name shown to the others (default: what the person types)")
	role := e.fs.String("role", "attendee", "host, presenter, attendee or observer")
	ttl := e.fs.Duration("ttl", admin.DefaultTokenTTL, "how long the link works")
	base := e.fs.String("base", "", "where users reach the node (default: the config's http.public_url, else the node's URL)")
	mode := e.fs.String("mode", "", "policy for a room that has none yet: consultation (with a lobby), classroom or conference")
	if _, err := e.parse(args, 0); err != nil {
		return err
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return err
	}
	if *room == "" || *identity == "" {
		return errors.New("-room and -identity are required")
	}
	if *ttl <= 0 || *ttl > admin.MaxTokenTTL || *ttl%time.Second != 0 {
		return fmt.Errorf("-ttl %s is not whole seconds between 1s and %s", *ttl, admin.MaxTokenTTL)
	}
	var policy *auth.Policy
	if *mode != "" {
		policy = &auth.Policy{Mode: *mode}
		if err := policy.Validate(); err != nil {
			return err
		}
	}
	linkBase := e.publicURL
	if *base != "" {
		linkBase = *base
	}
	var out admin.LinkResponse
	if e.keys != nil {
		claims := auth.Claims{Room: *room, Name: *name, Role: r, Policy: policy, RegisteredClaims: jwt.RegisteredClaims{Subject: *identity}}
		if out.Token, out.ExpiresAt, err = admin.MintJoin(e.keys, claims, *ttl); err != nil {
			return err
		}
	} else {
		// No key here: a dev-mode node signs with the key it made up at start.
		req := admin.LinkRequest{Identity: *identity, Name: *name, Role: string(r), TTLSeconds: int(*ttl / time.Second), Policy: policy}
		c, _ := e.adminClient()
		ctx, cancel := context.WithTimeout(context.Background(), adminCallTimeout)
		defer cancel()
		if out, err = c.CreateLink(ctx, *room, req); err != nil {
			return fmt.Errorf("no API key here (%s/%s or -config), and the node at %s made no link: %w", envAPIKey, envAPISecret, e.serverURL, err)
		}
	}
	out.URL = admin.JoinURL(linkBase, *room, out.Token) // the same base whichever side signed
	if *e.asJSON {
		return e.printJSON(stdout, out)
	}
	fmt.Fprintln(stdout, out.URL)
	fmt.Fprintf(stderr, "link for %q as %s in room %q, valid until %s\n", *identity, r, *room, out.ExpiresAt.Format(time.RFC3339))
	return nil
}

// cmdRooms: server rooms
func cmdRooms(args []string, stdout, stderr io.Writer) error {
	e := newCLI("rooms", "", stderr)
	var rooms []admin.RoomInfo
	err := e.callAdmin(args, 0, func(ctx context.Context, c *admin.Client, _ []string) (err error) {
		rooms, err = c.Rooms(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if *e.asJSON {
		return e.printJSON(stdout, rooms)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tPARTICIPANTS\tTRACKS\tMODE\tMAX\tLOCKED\tMANAGED\tSTARTED")
	for _, r := range rooms {
		started := "-"
		if r.StartedAt != nil {
			started = r.StartedAt.Local().Format("15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%v\t%v\t%s\n", r.Name, r.Participants, r.Tracks, orDash(r.Policy.Mode),
			maxText(r.Policy.MaxParticipants), r.Policy.Locked, r.Managed, started)
	}
	return tw.Flush()
}

// cmdParticipants: server participants R
func cmdParticipants(args []string, stdout, stderr io.Writer) error {
	e := newCLI("participants", "ROOM", stderr)
	var ps []admin.ParticipantInfo
	err := e.callAdmin(args, 1, func(ctx context.Context, c *admin.Client, pos []string) (err error) {
		ps, err = c.Participants(ctx, pos[0])
		return err
	})
	if err != nil {
		return err
	}
	if *e.asJSON {
		return e.printJSON(stdout, ps)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IDENTITY\tNAME\tROLE\tID\tTRACKS\tGRANTS")
	for _, p := range ps {
		var tracks []string
		for _, t := range p.Tracks {
			s := t.Source
			if t.Blocked {
				s += "(blocked)"
			} else if t.Muted {
				s += "(muted)"
			}
			tracks = append(tracks, s)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Identity, p.Name, p.Role, p.ID, orDash(strings.Join(tracks, ",")), p.Grants)
	}
	return tw.Flush()
}

// cmdKick: server kick R I [-ban]
func cmdKick(args []string, stdout, stderr io.Writer) error {
	e := newCLI("kick", "ROOM IDENTITY [-ban]", stderr)
	ban := e.fs.Bool("ban", false, "also refuse the identity's later joins to the room")
	return e.callAdmin(args, 2, func(ctx context.Context, c *admin.Client, pos []string) error {
		if err := c.RemoveParticipant(ctx, pos[0], pos[1], *ban); err != nil {
			return err
		}
		what := "removed"
		if *ban {
			what = "removed and banned"
		}
		fmt.Fprintf(stdout, "%s %s from %s\n", what, pos[1], pos[0])
		return nil
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func maxText(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}
