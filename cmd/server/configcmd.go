package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/huddlehq/huddle/cmd/server/node"
)

// errConfigInvalid is returned (exit code 1) after the problems of a checked config were printed.
var errConfigInvalid = errors.New("the configuration has errors")

// cmdConfig runs `server config check FILE`: strict validation of a config before a restart.
func cmdConfig(args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: server config check FILE")
		fmt.Fprintln(stderr, "  validates FILE (unknown keys and bad values are named with their line) and prints the")
		fmt.Fprintln(stderr, "  effective configuration (with HUDDLE_API_KEY/HUDDLE_API_SECRET and HUDDLE_REDIS_URL")
		fmt.Fprintln(stderr, "  applied, as the server would), secrets masked; exit code 1 when it has errors")
		return errors.New("config: want `config check FILE`")
	}
	cfg, err := node.CheckFile(args[1], applyEnv)
	if err != nil {
		fmt.Fprintf(stderr, "%s:\n", args[1])
		fmt.Fprintln(stderr, indent(err.Error()))
		return errConfigInvalid
	}
	out, err := cfg.EffectiveYAML()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# %s is valid. The effective configuration (defaults, then the file; secrets masked):\n", args[1])
	_, err = stdout.Write(out)
	return err
}

func indent(s string) string {
	out := "  "
	for _, r := range s {
		out += string(r)
		if r == '\n' {
			out += "  "
		}
	}
	return out
}
