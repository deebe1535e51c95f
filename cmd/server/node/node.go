// Package node wires one server instance together: the media plane (sfu), the control plane
// (signaling), the bundled web client and the HTTP endpoints (/, /ws, /healthz). cmd/server runs one;
// tests start as many as they need on free loopback ports.
//
// Locking: Start is called once; Close may be called any number of times from any goroutine; URL and
// the accessors are safe from any goroutine once Start has returned.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling"
	"github.com/huddlehq/huddle/web"
)

// Node is one running server.
type Node struct {
	cfg       Config
	log       *slog.Logger
	sfu       *sfu.SFU
	signaling *signaling.Server
	http      *http.Server
	listener  net.Listener
	served    chan error

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
	media, err := sfu.New(sfu.Config{
		BindIP: cfg.Media.BindIP, UDPPort: cfg.Media.UDPPort, PublicIPs: cfg.Media.PublicIPs,
		Logger: log.With("component", "sfu"),
	})
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	n := &Node{
		cfg: cfg, log: log, sfu: media,
		signaling: signaling.New(signaling.SFUMedia{SFU: media}, signaling.Config{Logger: log.With("component", "signaling")}),
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", n.signaling)
	mux.HandleFunc("GET /healthz", n.healthz)
	mux.Handle("GET /metrics", metricsHandler(n))
	if cfg.Debug.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("GET /", web.Handler())
	n.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	return n, nil
}

// Start listens on the configured HTTP address and serves in the background.
func (n *Node) Start() error {
	ln, err := net.Listen("tcp", n.cfg.HTTP.Addr)
	if err != nil {
		_ = n.sfu.Close()
		return fmt.Errorf("node: listen on %s: %w", n.cfg.HTTP.Addr, err)
	}
	n.listener = ln
	n.served = make(chan error, 1)
	go func() { n.served <- n.http.Serve(ln) }()
	n.log.Info("node listening", "http", n.URL(), "media_udp", n.sfu.UDPAddr().String())
	return nil
}

// URL is the node's base HTTP URL, e.g. http://127.0.0.1:7880.
func (n *Node) URL() string { return "http://" + n.listener.Addr().String() }

// MediaAddr is the media UDP port's address.
func (n *Node) MediaAddr() net.Addr { return n.sfu.UDPAddr() }

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
	var errs []error
	if n.listener != nil {
		if err := n.http.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	// Hijacked WebSocket connections are not closed by Shutdown; the signaling server ends them.
	if err := n.signaling.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := n.sfu.Close(); err != nil {
		errs = append(errs, err)
	}
	if n.served != nil {
		if err := <-n.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("http serve: %w", err))
		}
	}
	return errors.Join(errs...)
}
