// Package main is the server command. It runs a Huddle node: the SFU, the WebSocket signalling service and the bundled web
// client in one binary. With no arguments it serves a single local node on http://127.0.0.1:7880, in dev mode (no API
// keys: joins from this machine need no token).
//
//	server [flags]                      run a node (flags override the config file)
//	server version                      print the version
//	server token -room R -identity I    print a join token and a join link (-name, -role, -ttl, -admin)
//	server rooms                        list the rooms (admin API)
//	server participants ROOM            list a room's participants (admin API)
//	server kick ROOM IDENTITY [-ban]    remove (and ban) a participant (admin API)
//	server link -room R -identity I     print a join link (-role, -name, -ttl, -base, -mode)
//
// The sub-commands take -url (the node, default http://127.0.0.1:7880) and -config (for its API keys); the API key
// may also come from HUDDLE_API_KEY and HUDDLE_API_SECRET, which a node reads too.
//
// Locking: main runs one goroutine of its own; the node's packages document theirs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/signaling/auth"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// subcommands are the CLI's verbs besides running a node.
var subcommands = map[string]func(args []string, stdout, stderr io.Writer) error{
	"token":        cmdToken,
	"rooms":        cmdRooms,
	"participants": cmdParticipants,
	"kick":         cmdKick,
	"link":         cmdLink,
	"config":       cmdConfig,
	"recording":    cmdRecording,
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, "huddle server", version)
		return nil
	}
	if len(args) > 0 {
		if cmd := subcommands[args[0]]; cmd != nil {
			err := cmd(args[1:], stdout, stderr)
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg.Version = version
	// GOMAXPROCS follows the load unless the operator set it (see procs.go).
	adaptiveProcs := cfg.Media.AdaptiveProcs && os.Getenv("GOMAXPROCS") == ""
	log, err := cfg.Log.NewLogger(os.Stderr)
	if err != nil {
		return err
	}
	redis.SetLogger(node.RedisLogger(log)) // go-redis logs through one process-wide logger
	n, err := node.New(cfg, log)
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		return err
	}
	log.Info("open the client", "url", n.URL()+"/")
	if adaptiveProcs {
		procsCtx, stopProcs := context.WithCancel(context.Background())
		defer stopProcs()
		pc := &procsController{max: runtime.GOMAXPROCS(0), set: runtime.GOMAXPROCS}
		go pc.run(procsCtx, log.Info)
	}

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	<-signals
	if cfg.Cluster.Enabled() {
		// A cluster node drains: no new rooms here, the running ones go on until they end (or the drain
		// timeout, or a second signal), then it leaves the cluster.
		drain := cfg.Cluster.DrainTimeout
		if drain == 0 {
			drain = 10 * time.Minute
		}
		drainCtx, cancel := context.WithTimeout(context.Background(), drain)
		go func() {
			select {
			case <-signals:
				log.Warn("second signal: stopping without waiting for the rooms")
				cancel()
			case <-drainCtx.Done():
			}
		}()
		_ = n.Drain(drainCtx)
		cancel()
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return n.Close(shutdownCtx)
}

// applyEnv applies what a node takes from its environment: an API key (a container's secret), which
// signs ahead of the file's keys, and the Redis URL.
func applyEnv(cfg *node.Config) error {
	if k, ok, err := envKey(); err != nil {
		return err
	} else if ok && !slices.ContainsFunc(cfg.Auth.Keys, func(c auth.Key) bool { return c.ID == k.ID }) {
		cfg.Auth.Keys = append([]auth.Key{k}, cfg.Auth.Keys...)
	}
	if env := os.Getenv("HUDDLE_REDIS_URL"); env != "" {
		cfg.Cluster.RedisURL = env
	}
	return nil
}

// parseFlags reads -config first, then lets the other flags override it.
func parseFlags(args []string, stderr io.Writer) (node.Config, error) {
	cfg := node.DefaultConfig()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML config file (see configs/server.yaml); defaults apply without one")
	httpAddr := fs.String("http", "", "HTTP listen address host:port (default "+cfg.HTTP.Addr+")")
	bindIP := fs.String("bind-ip", "", "IP the media UDP port binds (default "+cfg.Media.BindIP+")")
	udpPort := fs.Int("udp-port", -1, fmt.Sprintf("media UDP port shared by all ICE traffic (default %d)", cfg.Media.UDPPort))
	publicIPs := fs.String("public-ip", "", "comma-separated IPs advertised in ICE candidates (1:1 NAT)")
	iceTCP := fs.Bool("ice-tcp", cfg.Media.ICETCP, "offer ICE/TCP candidates beside UDP (media.ice_tcp)")
	tcpPort := fs.Int("tcp-port", -1, fmt.Sprintf("ICE/TCP port (default %d)", cfg.Media.TCPPort))
	turnOn := fs.Bool("turn", cfg.TURN.Enabled, "run the embedded TURN relay (turn.enabled)")
	turnPort := fs.Int("turn-port", -1, fmt.Sprintf("embedded TURN port, UDP and TCP (default %d)", cfg.TURN.UDPPort))
	turnTLSPort := fs.Int("turn-tls-port", -1, fmt.Sprintf("embedded TURN over TLS port; may be the HTTPS port (default %d)", cfg.TURN.TLSPort))
	turnHost := fs.String("turn-host", "", "host name in the TURN URLs clients get; must match the certificate (turn.host)")
	relayPorts := fs.String("relay-ports", "", fmt.Sprintf("TURN relay port range MIN-MAX (default %d-%d; 0-0: any)", cfg.TURN.RelayPortMin, cfg.TURN.RelayPortMax))
	tlsCert := fs.String("tls-cert", "", "PEM certificate chain: serve HTTPS/WSS and TURN over TLS (tls.cert_file)")
	tlsKey := fs.String("tls-key", "", "PEM private key of -tls-cert (tls.key_file)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (default "+cfg.Log.Level+")")
	logFormat := fs.String("log-format", "", "text or json (default "+cfg.Log.Format+")")
	pprofOn := fs.Bool("pprof", false, "serve Go's profiler at /debug/pprof/ (diagnostics; off by default)")
	redisURL := fs.String("redis", "", "Redis URL (redis://host:port): cluster mode; also HUDDLE_REDIS_URL")
	nodeID := fs.String("node-id", "", "this node's id in the cluster (default hostname-port)")
	region := fs.String("region", "", "this node's region label in the cluster")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (sub-commands: version, token, rooms, participants, kick, link, config check)", fs.Arg(0))
	}
	if *configPath != "" {
		if err := node.LoadFile(*configPath, &cfg); err != nil {
			return cfg, err
		}
	}
	if err := applyEnv(&cfg); err != nil {
		return cfg, err
	}
	if *httpAddr != "" {
		cfg.HTTP.Addr = *httpAddr
	}
	if *bindIP != "" {
		cfg.Media.BindIP = *bindIP
	}
	if *udpPort >= 0 {
		cfg.Media.UDPPort = *udpPort
	}
	if *publicIPs != "" {
		cfg.Media.PublicIPs = strings.Split(*publicIPs, ",")
	}
	if err := applyNetFlags(fs, &cfg, netFlags{iceTCP: *iceTCP, tcpPort: *tcpPort, turn: *turnOn, turnPort: *turnPort,
		turnTLSPort: *turnTLSPort, turnHost: *turnHost, relayPorts: *relayPorts, tlsCert: *tlsCert, tlsKey: *tlsKey}); err != nil {
		return cfg, err
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	if *pprofOn {
		cfg.Debug.Pprof = true
	}
	if *redisURL != "" {
		cfg.Cluster.RedisURL = *redisURL
	}
	if *nodeID != "" {
		cfg.Cluster.NodeID = *nodeID
	}
	if *region != "" {
		cfg.Cluster.Region = *region
	}
	return cfg, cfg.Validate()
}
