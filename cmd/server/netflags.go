package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/huddlehq/huddle/cmd/server/node"
)

// netFlags are the connectivity flags: ICE/TCP, the TURN relay and TLS.
type netFlags struct {
	iceTCP, turn                   bool
	tcpPort, turnPort, turnTLSPort int
	turnHost, relayPorts           string
	tlsCert, tlsKey                string
}

// applyNetFlags puts the connectivity flags that were given over the config.
func applyNetFlags(fs *flag.FlagSet, cfg *node.Config, f netFlags) error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["ice-tcp"] {
		cfg.Media.ICETCP = f.iceTCP
	}
	if f.tcpPort >= 0 {
		cfg.Media.TCPPort = f.tcpPort
	}
	if set["turn"] {
		cfg.TURN.Enabled = f.turn
	}
	if f.turnPort >= 0 {
		cfg.TURN.UDPPort, cfg.TURN.TCPPort = f.turnPort, f.turnPort
	}
	if f.turnTLSPort >= 0 {
		cfg.TURN.TLSPort = f.turnTLSPort
	}
	if f.turnHost != "" {
		cfg.TURN.Host = f.turnHost
	}
	if f.relayPorts != "" {
		lo, hi, ok := strings.Cut(f.relayPorts, "-")
		min, err1 := strconv.Atoi(lo)
		max, err2 := strconv.Atoi(hi)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("-relay-ports %q is not MIN-MAX", f.relayPorts)
		}
		cfg.TURN.RelayPortMin, cfg.TURN.RelayPortMax = min, max
	}
	if f.tlsCert != "" {
		cfg.TLS.CertFile = f.tlsCert
	}
	if f.tlsKey != "" {
		cfg.TLS.KeyFile = f.tlsKey
	}
	return nil
}
