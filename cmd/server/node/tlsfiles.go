package node

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// certReloadInterval is how often the certificate files are looked at for a renewal.
const certReloadInterval = 10 * time.Second

// certFiles serves a certificate from PEM files and reloads it when they change (a clinic's CA or a
// proxy renews it in place), keeping the old one if the new files do not load.
//
// Locking: mu guards the loaded certificate and the files' last state; GetCertificate runs on every
// handshake's goroutine. The files are read under mu, at most once per certReloadInterval.
type certFiles struct {
	certPath, keyPath, option string // option names the config keys in errors
	log                       *slog.Logger

	mu              sync.Mutex
	cert            *tls.Certificate
	certMod, keyMod time.Time
	checkedAt       time.Time
}

// loadCertFiles reads the certificate now; its error names the option to change.
func loadCertFiles(certPath, keyPath, option string, log *slog.Logger) (*certFiles, error) {
	c := &certFiles{certPath: certPath, keyPath: keyPath, option: option, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	c.checkedAt = time.Now()
	return c, nil
}

func (c *certFiles) load() error {
	certInfo, err := os.Stat(c.certPath)
	if err != nil {
		return fmt.Errorf("%s: %w", c.option, err)
	}
	keyInfo, err := os.Stat(c.keyPath)
	if err != nil {
		return fmt.Errorf("%s: %w", c.option, err)
	}
	cert, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		return fmt.Errorf("%s (%s, %s): %w", c.option, c.certPath, c.keyPath, err)
	}
	c.cert, c.certMod, c.keyMod = &cert, certInfo.ModTime(), keyInfo.ModTime()
	return nil
}

// GetCertificate is tls.Config.GetCertificate.
func (c *certFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checkedAt) >= certReloadInterval {
		c.checkedAt = time.Now()
		c.reloadIfChanged()
	}
	return c.cert, nil
}

func (c *certFiles) reloadIfChanged() {
	certInfo, err1 := os.Stat(c.certPath)
	keyInfo, err2 := os.Stat(c.keyPath)
	if err1 != nil || err2 != nil || (certInfo.ModTime().Equal(c.certMod) && keyInfo.ModTime().Equal(c.keyMod)) {
		return
	}
	old := c.cert
	if err := c.load(); err != nil {
		c.cert = old
		c.log.Warn("tls: the certificate files changed but do not load; keeping the old certificate", "err", err)
		return
	}
	c.log.Info("tls: certificate reloaded", "cert_file", c.certPath, "not_after", c.cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
}

// loadTLS reads the HTTPS certificate (tls.*) and the TURN/TLS one (turn.cert_file, else the same).
func loadTLS(cfg Config, log *slog.Logger) (httpTLS, turnTLS *tls.Config, err error) {
	if cfg.TLS.Enabled() {
		certs, err := loadCertFiles(cfg.TLS.CertFile, cfg.TLS.KeyFile, "tls.cert_file/key_file", log)
		if err != nil {
			return nil, nil, err
		}
		httpTLS = serverTLSConfig(certs)
		turnTLS = httpTLS
	}
	if cfg.TURN.CertFile != "" {
		certs, err := loadCertFiles(cfg.TURN.CertFile, cfg.TURN.KeyFile, "turn.cert_file/key_file", log)
		if err != nil {
			return nil, nil, err
		}
		turnTLS = serverTLSConfig(certs)
	}
	return httpTLS, turnTLS, nil
}

// serverTLSConfig is the TLS every listener of the node offers: TLS 1.2 or later, HTTP/1.1 only
// (WebSocket upgrades need it).
func serverTLSConfig(certs *certFiles) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate, NextProtos: []string{"http/1.1"}}
}

// hsts adds Strict-Transport-Security to every response served over TLS.
func hsts(next http.Handler, maxAge time.Duration) http.Handler {
	if maxAge <= 0 {
		return next
	}
	value := "max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if servedOverTLS(r) {
			w.Header().Set("Strict-Transport-Security", value)
		}
		next.ServeHTTP(w, r)
	})
}
