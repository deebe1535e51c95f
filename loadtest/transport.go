package loadtest

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/signaling/client"
)

// Transports a run's participants may be confined to: how their media reaches the server.
const (
	TransportUDP      = "udp"       // the media UDP port (what most clients get)
	TransportTCP      = "tcp"       // ICE/TCP: clients without UDP
	TransportRelayUDP = "relay-udp" // the TURN relay over UDP, relay candidates only
	TransportRelayTCP = "relay-tcp" // the TURN relay over TCP
	TransportRelayTLS = "relay-tls" // the TURN relay over TLS (the server needs a certificate this process trusts)
)

// Transports lists the transports, in the order a comparison shows them.
func Transports() []string {
	return []string{TransportUDP, TransportTCP, TransportRelayUDP, TransportRelayTCP, TransportRelayTLS}
}

func validTransport(t string) error {
	for _, known := range Transports() {
		if t == "" || t == known {
			return nil
		}
	}
	return fmt.Errorf("transport %q: one of %s", t, strings.Join(Transports(), ", "))
}

// clientAPI builds the participants' pion API for a transport: loopback only, with TCP candidates only
// for ICE/TCP.
func clientAPI(transport string) (*webrtc.API, error) {
	networks := []string{"udp"}
	if transport == TransportTCP {
		networks = []string{"tcp"}
	}
	return client.NewAPIWith(client.APIOptions{LoopbackOnly: true, Networks: networks})
}

// applyTransport confines a participant's client to the relay transport asked for, through the ICE
// servers the server hands out in `joined`.
func applyTransport(opts *client.Options, transport string) {
	var keep func(string) bool
	switch transport {
	case TransportRelayUDP:
		keep = func(u string) bool { return strings.HasPrefix(u, "turn:") && strings.HasSuffix(u, "transport=udp") }
	case TransportRelayTCP:
		keep = func(u string) bool { return strings.HasPrefix(u, "turn:") && strings.HasSuffix(u, "transport=tcp") }
	case TransportRelayTLS:
		keep = func(u string) bool { return strings.HasPrefix(u, "turns:") }
	default:
		// Direct transports gather no relay candidates: the run measures the path it names.
		opts.KeepICEURL = func(string) bool { return false }
		return
	}
	opts.ICETransportPolicy, opts.KeepICEURL = webrtc.ICETransportPolicyRelay, keep
}
