package node

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Checking a config file before a restart (`server config check FILE`): every problem named with the
// option and, where the file sets it, its line; the effective configuration (the file over the
// defaults) printed with every secret masked. Pure functions; safe for concurrent use.

// maskedSecret replaces every secret in the printed configuration.
const maskedSecret = "********"

// optionRE finds the option a Validate error starts with ("media.udp_port 70000 is not a port").
var optionRE = regexp.MustCompile(`^([a-z_]+(?:\.[a-z_]+)+)`)

// CheckFile reads path as LoadFile does, lets env apply what the server takes from its environment, and
// validates the result. Every problem is one line of the returned error, prefixed "line N: " where the
// file sets the option; the config is the effective one.
func CheckFile(path string, env func(*Config) error) (Config, error) {
	cfg := DefaultConfig()
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	var lines []string
	// Unknown keys first (yaml names their lines), then the values of the keys it knows: both kinds of
	// mistake in one pass over the file, not one per restart.
	if err := LoadFile(path, new(Config)); err != nil {
		var terr *yaml.TypeError
		if !errors.As(err, &terr) {
			return cfg, err // not YAML at all: nothing more can be said
		}
		lines = append(lines, terr.Errors...)
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		var terr *yaml.TypeError
		if !errors.As(err, &terr) {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		// A value of the wrong type (yaml names its line) was reported above or is reported here.
		for _, e := range terr.Errors {
			if !slices.Contains(lines, e) {
				lines = append(lines, e)
			}
		}
	}
	if env != nil {
		if err := env(&cfg); err != nil {
			lines = append(lines, err.Error())
		}
	}
	if verr := cfg.Validate(); verr != nil {
		var root yaml.Node
		_ = yaml.Unmarshal(raw, &root)
		for _, line := range strings.Split(verr.Error(), "\n") {
			if m := optionRE.FindStringSubmatch(line); m != nil {
				if n := optionLine(&root, m[1]); n > 0 {
					line = fmt.Sprintf("line %d: %s", n, line)
				}
			}
			lines = append(lines, line)
		}
	}
	if len(lines) > 0 {
		return cfg, errors.New(strings.Join(lines, "\n"))
	}
	return cfg, nil
}

// optionLine is the line of a dotted option (cluster.redis_url) in a parsed YAML document; 0 when the
// document does not set it.
func optionLine(doc *yaml.Node, option string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, key := range strings.Split(option, ".") {
		if n.Kind != yaml.MappingNode {
			return 0
		}
		i := slices.IndexFunc(n.Content, func(c *yaml.Node) bool { return c.Value == key })
		if i < 0 || i%2 == 1 || i+1 >= len(n.Content) {
			return 0
		}
		n = n.Content[i+1]
	}
	return n.Line
}

// Masked returns a copy of the config whose secrets (API key secrets, TURN secrets and credentials, the
// Redis password) read maskedSecret, for printing.
func (c Config) Masked() Config {
	m := c
	m.Auth.Keys = slices.Clone(c.Auth.Keys)
	for i := range m.Auth.Keys {
		m.Auth.Keys[i].Secret = maskedSecret
	}
	if m.TURN.Secret != "" {
		m.TURN.Secret = maskedSecret
	}
	m.TURN.Servers = slices.Clone(c.TURN.Servers)
	for i := range m.TURN.Servers {
		if m.TURN.Servers[i].Secret != "" {
			m.TURN.Servers[i].Secret = maskedSecret
		}
		if m.TURN.Servers[i].Credential != "" {
			m.TURN.Servers[i].Credential = maskedSecret
		}
	}
	if u, err := url.Parse(c.Cluster.RedisURL); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), maskedSecret)
			m.Cluster.RedisURL = strings.Replace(u.String(), url.QueryEscape(maskedSecret), maskedSecret, 1)
		}
	}
	return m
}

// EffectiveYAML is the config as YAML, secrets masked.
func (c Config) EffectiveYAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c.Masked()); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return buf.Bytes(), enc.Close()
}
