package node_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
)

// TestStartupErrorsNameTheOption: what stops a node from starting says which option to change.
func TestStartupErrorsNameTheOption(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	udpPort, tcpPort := udp.LocalAddr().(*net.UDPAddr).Port, tcp.Addr().(*net.TCPAddr).Port
	cases := []struct {
		name string
		edit func(*node.Config)
		want string
	}{
		{"media port taken", func(c *node.Config) { c.Media.UDPPort = udpPort }, "media.udp_port " + strconv.Itoa(udpPort)},
		{"ICE/TCP port taken", func(c *node.Config) { c.Media.TCPPort = tcpPort }, "media.tcp_port " + strconv.Itoa(tcpPort)},
		{"HTTP port taken", func(c *node.Config) { c.HTTP.Addr = tcp.Addr().String() }, "http.addr"},
		{"certificate missing", func(c *node.Config) { c.TLS.CertFile, c.TLS.KeyFile = "/nonexistent/cert.pem", "/nonexistent/key.pem" }, "tls.cert_file"},
		{"Redis unreachable", func(c *node.Config) { c.Cluster.RedisURL = "redis://127.0.0.1:1" }, "cluster.redis_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := node.DefaultConfig()
			cfg.UseFreePorts()
			cfg.TURN.Enabled = false
			tc.edit(&cfg)
			n, err := node.New(cfg, nodetest.Logger())
			if err == nil {
				err = n.Start()
				if err == nil {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					_ = n.Close(ctx)
					t.Fatalf("the node started; want an error naming %s", tc.want)
				}
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}
