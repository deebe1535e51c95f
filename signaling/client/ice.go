package client

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// APIOptions configure NewAPIWith.
type APIOptions struct {
	// LoopbackOnly restricts ICE to loopback addresses, as every test and load run here must.
	LoopbackOnly bool
	// Networks are the transports of the client's own candidates: "udp", "tcp" (active ICE/TCP) or
	// both. Empty: udp only (with LoopbackOnly) or pion's default (without). A TURN relay is reached
	// whatever these say.
	Networks []string
}

// NewAPI returns a pion API with the default codecs and interceptors. loopbackOnly restricts ICE to
// loopback addresses over UDP, as every test and load run here must.
func NewAPI(loopbackOnly bool) (*webrtc.API, error) {
	return NewAPIWith(APIOptions{LoopbackOnly: loopbackOnly})
}

// NewAPIWith is NewAPI with a choice of transports (e.g. TCP only: a client whose UDP is blocked).
func NewAPIWith(opts APIOptions) (*webrtc.API, error) {
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("client: codecs: %w", err)
	}
	var reg interceptor.Registry
	if err := webrtc.RegisterDefaultInterceptors(&me, &reg); err != nil {
		return nil, fmt.Errorf("client: interceptors: %w", err)
	}
	// The server ranks active speakers by this extension (RFC 6464), as browsers send it.
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("client: audio level extension: %w", err)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	networks := opts.Networks
	if len(networks) == 0 && opts.LoopbackOnly {
		networks = []string{"udp"}
	}
	var types []webrtc.NetworkType
	for _, n := range networks {
		switch n {
		case "udp":
			types = append(types, webrtc.NetworkTypeUDP4)
		case "tcp":
			types = append(types, webrtc.NetworkTypeTCP4)
		default:
			return nil, fmt.Errorf("client: network %q is not udp or tcp", n)
		}
	}
	if len(types) > 0 {
		se.SetNetworkTypes(types)
	}
	if opts.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithInterceptorRegistry(&reg), webrtc.WithSettingEngine(se)), nil
}

// applyICEServers runs on the reader when `joined` arrives: both PeerConnections get its ICE servers
// (those Options.KeepICEURL keeps) before any gathering starts.
func (c *Client) applyICEServers(env protocol.Envelope) {
	if env.Type != protocol.TypeJoined {
		return
	}
	var joined protocol.Joined
	if err := json.Unmarshal(env.Data, &joined); err != nil {
		return // JoinWithToken reports it
	}
	servers := c.iceServersFrom(joined.ICEServers)
	cfg := webrtc.Configuration{ICEServers: servers, ICETransportPolicy: c.icePolicy}
	_ = c.pub.SetConfiguration(cfg) // an invalid server is left out by pion; nothing to report here
	_ = c.sub.SetConfiguration(cfg)
	c.mu.Lock()
	c.iceServers = servers
	c.mu.Unlock()
}

func (c *Client) iceServersFrom(in []protocol.ICEServer) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, s := range in {
		urls := slices.DeleteFunc(slices.Clone(s.URLs), func(u string) bool { return c.keepICEURL != nil && !c.keepICEURL(u) })
		if len(urls) == 0 {
			continue
		}
		out = append(out, webrtc.ICEServer{URLs: urls, Username: s.Username, Credential: s.Credential})
	}
	return out
}

// ICEServers returns the ICE servers the client uses, from `joined` (after Options.KeepICEURL).
func (c *Client) ICEServers() []webrtc.ICEServer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.iceServers)
}
