// Package node wires one server instance together: the media plane (sfu), the control plane
// (signaling), access (API keys, dev mode), webhooks, the admin API, the bundled web client, the HTTP
// endpoints (/, /ws, /healthz, /metrics, /admin/v1/) and, with a Redis URL, cluster mode (cluster.go). cmd/server runs one; tests start as many as they
// need on free loopback ports.
//
// Locking: Start is called once; Close may be called any number of times from any goroutine; URL and
// the accessors are safe from any goroutine once Start has returned.
package node

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling"
	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/webhook"
	"github.com/huddlehq/huddle/web"
)

// Node is one running server.
type Node struct {
	cfg       Config
	log       *slog.Logger
	sfu       *sfu.SFU
	signaling *signaling.Server
	keys      *auth.Keyring
	webhooks  *webhook.Notifier // nil without webhooks.urls
	http      *http.Server
	listener  net.Listener
	served    chan error
	sigCfg    signaling.Config
	cluster   *clusterParts  // nil unless cluster mode
	relay     *relayParts    // nil without the embedded TURN relay
	sharedTLS *sharedTLSPort // HTTPS and TURN/TLS on one port; nil otherwise
	httpTLS   *tls.Config    // nil without tls.cert_file
	turnTLS   *tls.Config    // nil without a TURN/TLS certificate
	leaving   atomic.Bool    // the node is leaving the cluster (Close)
	draining  atomic.Bool    // Drain or Close began: /readyz says unready
	cpu       CPUMeter
	ops       *opsMetrics // joins, errors and the build, for /metrics

	closeOnce sync.Once
	closeErr  error
}

// New builds a node; nothing listens until Start. The media UDP port is opened here.
func New(cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node: invalid config: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	keys, err := keyring(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	var hooks *webhook.Notifier
	if len(cfg.Webhooks.URLs) > 0 {
		if hooks, err = newWebhooks(cfg, keys, log); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
	}
	httpTLS, turnTLS, err := loadTLS(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	media, err := sfu.New(sfu.Config{
		BindIP: cfg.Media.BindIP, UDPPort: cfg.Media.UDPPort, ICETCP: cfg.Media.ICETCP, TCPPort: cfg.Media.TCPPort,
		PublicIPs: cfg.Media.PublicIPs, Logger: log.With("component", "sfu"),
	})
	if err != nil {
		if hooks != nil {
			_ = hooks.Close(context.Background())
		}
		// Name the option to change: a port another program holds is the common start-up failure.
		var pe *sfu.PortError
		if errors.As(err, &pe) && pe.Port == sfu.PortMediaUDP {
			return nil, fmt.Errorf("node: media.udp_port %d (-udp-port): %w", cfg.Media.UDPPort, err)
		}
		if errors.As(err, &pe) && pe.Port == sfu.PortICETCP {
			return nil, fmt.Errorf("node: media.tcp_port %d (-tcp-port; media.ice_tcp: false turns ICE/TCP off): %w", cfg.Media.TCPPort, err)
		}
		return nil, fmt.Errorf("node: %w", err)
	}
	recorder, err := newRecorder(cfg.Recording, log)
	if err != nil {
		_ = media.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	sigCfg := signaling.Config{Logger: log.With("component", "signaling"), Keys: keys, DevTrustLoopback: cfg.DevMode(), Rooms: cfg.Rooms,
		AllowedOrigins: allowedOrigins(cfg), PublicURL: cfg.HTTP.PublicURL, RequestTLS: servedOverTLS, Recorder: recorder,
		Limits: cfg.Limits}
	if hooks != nil {
		sigCfg.Webhooks = hooks // a nil *Notifier in the interface would not be nil
	}
	ops := newOpsMetrics()
	sigCfg.Observer = ops
	return &Node{cfg: cfg, log: log, sfu: media, keys: keys, webhooks: hooks, sigCfg: sigCfg, httpTLS: httpTLS, turnTLS: turnTLS, ops: ops}, nil
}

// routes builds the HTTP endpoints around the control plane.
func (n *Node) routes() http.Handler {
	cfg := n.cfg
	mux := http.NewServeMux()
	mux.Handle("GET /ws", n.signaling)
	mux.HandleFunc("POST "+signaling.InvitePath, n.signaling.ServeInvite) // a host invites before joining
	adminAPI := admin.NewHandler(admin.Config{Directory: n.signaling, Keys: n.keys, TrustLoopback: cfg.DevMode(),
		PublicURL: cfg.HTTP.PublicURL, Nodes: n.nodes, Logger: n.log.With("component", "admin")})
	for _, method := range []string{"GET", "POST", "PUT", "DELETE"} { // with methods, so as not to clash with GET /
		mux.Handle(method+" "+admin.Prefix, adminAPI)
	}
	mux.HandleFunc("GET /healthz", n.healthz)
	mux.HandleFunc("GET /readyz", n.readyz)
	mux.Handle("GET /metrics", metricsHandler(n))
	if cfg.Debug.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("GET /admin/{$}", web.StatusPage()) // the admins' status page; its data comes from the API
	mux.Handle("GET /", web.Handler())
	return hsts(mux, cfg.TLS.HSTSMaxAge)
}

// Start listens on the configured HTTP address (HTTPS with a certificate), starts the TURN relay, joins
// the cluster when one is configured, and serves in the background.
func (n *Node) Start() error {
	ln, err := n.listenHTTP()
	if err != nil {
		_ = n.sfu.Close()
		return fmt.Errorf("node: %w", err)
	}
	n.listener = ln
	fail := func(err error) error {
		_ = ln.Close()
		if n.sharedTLS != nil {
			_ = n.sharedTLS.Close()
		}
		if n.relay != nil {
			_ = n.relay.server.Close()
		}
		_ = n.sfu.Close()
		return fmt.Errorf("node: %w", err)
	}
	issuer := &iceIssuer{ttl: n.cfg.TURN.CredentialTTL, external: n.cfg.TURN.Servers}
	if issuer.ttl == 0 {
		issuer.ttl = 4 * time.Hour
	}
	if n.cfg.TURN.Enabled {
		var shared net.Listener
		if n.sharedTLS != nil {
			shared = n.sharedTLS.turn
		}
		if n.relay, err = n.startTURN(shared, n.turnTLS); err != nil {
			return fail(err)
		}
		issuer.relay, issuer.urls = n.relay.server, n.relay.urls
	}
	n.sigCfg.ICEIssuer = issuer
	if n.cfg.Cluster.Enabled() {
		if err := n.startCluster(); err != nil {
			return fail(err)
		}
		n.sigCfg.Cluster = n.signalingCluster()
	}
	// Every session's lines (join, leave, publish) name the node, so an admin can follow a call across nodes.
	n.sigCfg.Logger = n.sigCfg.Logger.With("node", n.nodeID())
	n.signaling = signaling.New(signaling.SFUMedia{SFU: n.sfu}, n.sigCfg)
	// Bounds on every request (config_limits.go): an oversized header is answered 431, a client that
	// dribbles its header is cut off, an idle keep-alive connection is closed. No ReadTimeout or
	// WriteTimeout: they would end the hijacked WebSockets' long lives.
	maxHeader, readHeader, idle := n.cfg.HTTP.serverBounds()
	n.http = &http.Server{Handler: n.routes(), MaxHeaderBytes: maxHeader, ReadHeaderTimeout: readHeader, IdleTimeout: idle,
		ConnContext: markTLSConn, ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelDebug)}
	n.served = make(chan error, 1)
	go func() { n.served <- n.http.Serve(ln) }()
	tcp := "off"
	if a := n.sfu.TCPAddr(); a != nil {
		tcp = a.String()
	}
	n.log.Info("node listening", "http", n.URL(), "media_udp", n.sfu.UDPAddr().String(), "ice_tcp", tcp, "cluster", n.cfg.Cluster.Enabled())
	return nil
}

// listenHTTP opens http.addr: plain HTTP, HTTPS with a certificate, or HTTPS sharing its port with
// TURN over TLS when turn.tls_port is that port.
func (n *Node) listenHTTP() (net.Listener, error) {
	raw, err := net.Listen("tcp", n.cfg.HTTP.Addr)
	if err != nil {
		return nil, fmt.Errorf("http.addr %s: %w", n.cfg.HTTP.Addr, err)
	}
	if !n.cfg.TLS.Enabled() {
		return raw, nil
	}
	if n.sharesTLSPort(raw.Addr()) {
		n.sharedTLS = newSharedTLSPort(raw, n.httpTLS, n.log.With("component", "tls"))
		return n.sharedTLS.http, nil
	}
	return tls.NewListener(raw, n.httpTLS), nil
}

// sharesTLSPort reports whether TURN over TLS is to share the HTTPS port.
func (n *Node) sharesTLSPort(httpAddr net.Addr) bool {
	t := n.cfg.TURN
	tcp, ok := httpAddr.(*net.TCPAddr)
	return ok && n.cfg.turnHas(turnTLS) && t.TLSPort != 0 && t.TLSPort == tcp.Port && n.cfg.TURN.CertFile == ""
}

// Scheme is "https" when the node serves TLS, else "http".
func (n *Node) Scheme() string {
	if n.cfg.TLS.Enabled() {
		return "https"
	}
	return "http"
}

// TURNAddr is the embedded relay's listener address for a transport ("udp", "tcp", "tls"); nil when
// it does not listen on it.
func (n *Node) TURNAddr(transport string) net.Addr {
	if n.relay == nil {
		return nil
	}
	return n.relay.addrs[transport]
}

// TCPAddr is the ICE/TCP port's address, nil when ICE/TCP is off.
func (n *Node) TCPAddr() net.Addr { return n.sfu.TCPAddr() }

// URL is the node's base HTTP URL, e.g. http://127.0.0.1:7880 (https:// with a certificate).
func (n *Node) URL() string { return n.Scheme() + "://" + n.listener.Addr().String() }

// MediaAddr is the media UDP port's address.
func (n *Node) MediaAddr() net.Addr { return n.sfu.UDPAddr() }

// Keys is the node's keyring: the configured API keys, or in dev mode a key made up at start (so that
// the admin API can mint tokens), never shown.
func (n *Node) Keys() *auth.Keyring { return n.keys }

// SFU exposes the media plane, for stats.
func (n *Node) SFU() *sfu.SFU { return n.sfu }

// Signaling exposes the control plane, for stats.
func (n *Node) Signaling() *signaling.Server { return n.signaling }

// healthz answers 200 with a small JSON status while the node serves.
func (n *Node) healthz(w http.ResponseWriter, _ *http.Request) {
	st := n.sfu.Stats()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"status": "ok", "rooms": st.Rooms, "participants": st.Participants, "tracks": st.Tracks,
	})
}

// Close stops accepting, ends every session (each client is told the server is going away), closes every
// PeerConnection and the media port, within ctx. Later calls return the first call's result.
func (n *Node) Close(ctx context.Context) error {
	n.closeOnce.Do(func() { n.closeErr = n.close(ctx) })
	return n.closeErr
}

func (n *Node) close(ctx context.Context) error {
	n.draining.Store(true)
	var errs []error
	if n.http != nil {
		if err := n.http.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	// Hijacked WebSocket connections are not closed by Shutdown; the signaling server ends them.
	if n.signaling != nil {
		if err := n.signaling.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if n.sharedTLS != nil {
		_ = n.sharedTLS.Close()
	}
	if n.relay != nil {
		if err := n.relay.server.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := n.closeCluster(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := n.sfu.Close(); err != nil {
		errs = append(errs, err)
	}
	if n.webhooks != nil {
		// The last events (participants leaving, rooms finishing) get a short chance to go out; a receiver
		// that is down must not hold the shutdown.
		drain := n.cfg.Webhooks.DrainTimeout
		if drain == 0 {
			drain = 3 * time.Second
		}
		hookCtx, cancel := context.WithTimeout(ctx, drain)
		if err := n.webhooks.Close(hookCtx); err != nil {
			n.log.Warn("webhooks: events left undelivered at shutdown", "err", err)
		}
		cancel()
	}
	if n.served != nil {
		if err := <-n.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("http serve: %w", err))
		}
	}
	return errors.Join(errs...)
}

// TURNAllocations is how many relays the embedded TURN server has open (0 without one).
func (n *Node) TURNAllocations() int {
	if n.relay == nil {
		return 0
	}
	return n.relay.server.Allocations()
}
