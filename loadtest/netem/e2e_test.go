package netem_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/loadtest/netem"
	"github.com/huddlehq/huddle/signaling/client"
)

// serverAPI builds a PeerConnection API that, like the SFU, receives all ICE traffic on one UDP port.
func serverAPI(t *testing.T) (*webrtc.API, *net.UDPAddr) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	mux := webrtc.NewICEUDPMux(nil, conn)
	t.Cleanup(func() { _ = mux.Close() })
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var reg interceptor.Registry
	if err := webrtc.RegisterDefaultInterceptors(&me, &reg); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEUDPMux(mux)
	return webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithInterceptorRegistry(&reg), webrtc.WithSettingEngine(se)),
		conn.LocalAddr().(*net.UDPAddr)
}

// TestPeerConnectionsThroughRelay connects a client PeerConnection to a "server" one only through the
// relay: the client learns the server's candidates rewritten to the relay, the server learns nothing of the
// client's and finds it through the relay (peer-reflexive). Video from the server must arrive, and the
// relay must have carried it.
func TestPeerConnectionsThroughRelay(t *testing.T) {
	sapi, target := serverAPI(t)
	relay, err := netem.New(target)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	var rtpDown atomic.Int64
	relay.SetDrop(func(dir netem.Direction, pkt []byte) bool {
		if dir == netem.Downlink && netem.IsRTP(pkt) {
			rtpDown.Add(1)
		}
		return false
	})

	capi, err := client.NewAPI(true)
	if err != nil {
		t.Fatal(err)
	}
	server, err := sapi.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	cl, err := capi.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	src, err := media.NewVP8("video", "server", media.Spec{FPS: 30, BitrateBps: 300_000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.AddTrack(src.Track()); err != nil {
		t.Fatal(err)
	}
	received := make(chan int, 1)
	cl.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := 0
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			if n++; n == 30 {
				received <- n
			}
		}
	})
	serverCands := make(chan webrtc.ICECandidateInit, 16)
	server.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			serverCands <- c.ToJSON()
		}
	})
	// The client's own candidates are never given to the server.

	if _, err := cl.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := cl.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := server.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := server.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	if err := cl.SetRemoteDescription(answer); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { _ = src.Run(ctx) }()
	rewritten := 0
	for rewritten == 0 {
		select {
		case c := <-serverCands:
			c.Candidate = relay.RewriteCandidate(c.Candidate)
			if c.Candidate == "" {
				continue
			}
			rewritten++
			if err := cl.AddICECandidate(c); err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal("the server gathered no candidate")
		}
	}
	select {
	case <-received:
	case <-ctx.Done():
		t.Fatalf("no media through the relay; relay stats %+v", relay.Stats())
	}
	// The client's selected pair ends at the relay, and the relay carried the media.
	pair, err := cl.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected pair: %v", err)
	}
	if pair.Remote.Port != uint16(relay.Addr().Port) {
		t.Errorf("selected remote %s:%d, want the relay %v", pair.Remote.Address, pair.Remote.Port, relay.Addr())
	}
	st := relay.Stats()
	if rtpDown.Load() < 30 || st.Downlink.Packets < 30 || st.Uplink.Packets == 0 {
		t.Errorf("relay saw %d downlink RTP packets, stats %+v", rtpDown.Load(), st)
	}
	t.Logf("relay stats %+v, %d RTP down", st, rtpDown.Load())
}
