package loadtest_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/cmd/server/node/testcert"
	"github.com/huddlehq/huddle/loadtest"
)

// testCert is trusted by this process (SSL_CERT_FILE), for TURN over TLS: pion's dialer takes no pool.
var testCert *testcert.Certificate

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "huddle-loadtest-")
	if err == nil {
		testCert, err = testcert.New(dir)
	}
	if err == nil {
		err = testCert.TrustInProcess()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "test certificate:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// TestTransports: a load whose participants all reach the server over one transport — UDP, ICE/TCP, or the
// TURN relay over UDP, TCP or TLS — joins everyone, delivers every track without loss and reports that
// transport, with the server's cost measured as over UDP.
func TestTransports(t *testing.T) {
	n := nodetest.Start(t, func(cfg *node.Config) { cfg.TLS.CertFile, cfg.TLS.KeyFile = testCert.CertFile, testCert.KeyFile })
	for _, transport := range []string{loadtest.TransportUDP, loadtest.TransportTCP, loadtest.TransportRelayUDP, loadtest.TransportRelayTCP, loadtest.TransportRelayTLS} {
		t.Run(transport, func(t *testing.T) {
			o, err := loadtest.PresetOptions("meeting")
			if err != nil {
				t.Fatal(err)
			}
			o.Publishers, o.Subscribers = 2, 1
			o.URL, o.Duration, o.JoinRate, o.Seed, o.Transport = wsURL(n), 3*time.Second, 20, 7, transport
			o.Logger = testLogger(t)
			rep, text := runAndLog(t, o)
			checkReport(t, rep)
			if rep.Options.Transport != transport {
				t.Errorf("report says transport %q", rep.Options.Transport)
			}
			if want := "transport " + transport; !strings.Contains(text, want) {
				t.Errorf("text report lacks %q", want)
			}
			// Everyone has left: their relays are closed with their sessions.
			deadline := time.Now().Add(10 * time.Second)
			for n.TURNAllocations() > 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if left := n.TURNAllocations(); left > 0 {
				t.Errorf("%d TURN allocations left after everyone left", left)
			}
		})
	}
}
