package client

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// fakeServer speaks just enough of the protocol to test the client on its own: it answers join and
// publish_offer with a real pion PeerConnection listening, like the SFU, on one UDP port, trickles that
// PeerConnection's candidates, records what the client sends, and can push any message.
type fakeServer struct {
	t      *testing.T
	http   *httptest.Server
	api    *webrtc.API
	target *net.UDPAddr

	writeMu sync.Mutex
	conn    *websocket.Conn

	mu         sync.Mutex
	pc         *webrtc.PeerConnection
	offers     []protocol.PublishOffer
	settings   []protocol.TrackSettings
	clientCand int
	received   map[string]*receivedTrack // rid ("" for audio) → what arrived
	connected  chan struct{}
}

// receivedTrack is what the fake server got on one incoming track.
type receivedTrack struct {
	track      *webrtc.TrackRemote
	packets    int
	wrongLayer int // packets whose LayerOf tag does not match the rid
	keyframes  int
	lastKeyAt  int // packet count at the last keyframe
	audioLevel []byte
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	mux := webrtc.NewICEUDPMux(nil, conn)
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var reg interceptor.Registry
	if err := webrtc.RegisterDefaultInterceptors(&me, &reg); err != nil {
		t.Fatal(err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEUDPMux(mux)
	s := &fakeServer{t: t, target: conn.LocalAddr().(*net.UDPAddr), received: make(map[string]*receivedTrack), connected: make(chan struct{})}
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithInterceptorRegistry(&reg), webrtc.WithSettingEngine(se))
	s.http = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.http.Close()
		s.mu.Lock()
		pc := s.pc
		s.mu.Unlock()
		if pc != nil {
			_ = pc.Close()
		}
		_ = mux.Close()
	})
	return s
}

func (s *fakeServer) url() string { return "ws" + strings.TrimPrefix(s.http.URL, "http") + "/ws" }

func (s *fakeServer) send(typ, id string, data any) {
	msg, err := protocol.Encode(typ, id, data)
	if err != nil {
		s.t.Error(err)
		return
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.conn != nil {
		_ = s.conn.WriteMessage(websocket.TextMessage, msg)
	}
}

func (s *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	s.writeMu.Lock()
	s.conn = conn
	s.writeMu.Unlock()
	for {
		_, frame, err := conn.ReadMessage()
		if err != nil {
			return
		}
		env, perr := protocol.DecodeEnvelope(frame)
		if perr != nil {
			s.t.Errorf("client sent a bad envelope: %v", perr)
			continue
		}
		switch env.Type {
		case protocol.TypeJoin:
			s.send(protocol.TypeJoined, env.ID, protocol.Joined{Protocol: 1, ParticipantID: "PME", Room: "r"})
		case protocol.TypePublishOffer:
			s.answer(env)
		case protocol.TypeICECandidate:
			s.mu.Lock()
			s.clientCand++
			s.mu.Unlock()
		case protocol.TypeTrackSettings:
			var ts protocol.TrackSettings
			if perr := protocol.DecodeData(env, &ts); perr != nil {
				s.t.Errorf("track_settings: %v", perr)
			}
			s.mu.Lock()
			s.settings = append(s.settings, ts)
			s.mu.Unlock()
		}
	}
}

// answer applies a publish offer to a fresh PeerConnection and replies; then it sends every layer active
// at once, before the client's Publish has returned, as a server may.
func (s *fakeServer) answer(env protocol.Envelope) {
	var offer protocol.PublishOffer
	if perr := protocol.DecodeData(env, &offer); perr != nil {
		s.t.Errorf("publish_offer: %v", perr)
		return
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		s.t.Error(err)
		return
	}
	s.mu.Lock()
	s.offers = append(s.offers, offer)
	s.pc = pc
	s.mu.Unlock()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		s.send(protocol.TypeICECandidate, "", protocol.ICECandidate{Target: "publish", Candidate: &protocol.ICECandidateInit{
			Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}})
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateConnected {
			close(s.connected)
		}
	})
	pc.OnTrack(s.onTrack)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		s.t.Errorf("apply offer: %v", err)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err == nil {
		err = pc.SetLocalDescription(answer)
	}
	if err != nil {
		s.t.Errorf("answer: %v", err)
		return
	}
	reply := protocol.PublishAnswer{SDP: answer.SDP}
	for _, tr := range offer.Tracks {
		reply.Tracks = append(reply.Tracks, protocol.AssignedTrack{Mid: tr.Mid, TrackID: "TR_" + tr.Mid})
	}
	s.send(protocol.TypePublishAnswer, env.ID, reply)
	for _, tr := range offer.Tracks {
		if len(tr.Layers) == 0 {
			continue
		}
		pl := protocol.PublisherLayers{TrackID: "TR_" + tr.Mid}
		for _, l := range tr.Layers {
			pl.Layers = append(pl.Layers, protocol.LayerState{RID: l.RID, Active: true})
		}
		s.send(protocol.TypePublisherLayers, "", pl)
	}
}

func (s *fakeServer) onTrack(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	var levelID uint8
	for _, ext := range recv.GetParameters().HeaderExtensions {
		if ext.URI == AudioLevelURI {
			levelID = uint8(ext.ID)
		}
	}
	rt := &receivedTrack{track: tr}
	s.mu.Lock()
	s.received[tr.RID()] = rt
	s.mu.Unlock()
	go func() { // interceptors need RTCP drained; ends with the PeerConnection
		for {
			if _, _, err := recv.ReadSimulcastRTCP(tr.RID()); err != nil {
				return
			}
		}
	}()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		s.recordPacket(rt, pkt, levelID)
	}
}

// ridIndex is the layer index of each rid of media.DefaultSimulcast.
func ridIndex(rid string) int { return strings.Index("qhf", rid) }

func (s *fakeServer) recordPacket(rt *receivedTrack, pkt *rtp.Packet, levelID uint8) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt.packets++
	if rt.track.Kind() == webrtc.RTPCodecTypeAudio {
		if levelID != 0 {
			rt.audioLevel = append([]byte(nil), pkt.Header.GetExtension(levelID)...)
		}
		return
	}
	if idx, ok := media.LayerOf(pkt.Payload); !ok || idx != ridIndex(rt.track.RID()) {
		rt.wrongLayer++
	}
	if media.IsKeyframe(pkt.Payload) {
		rt.keyframes++
		rt.lastKeyAt = rt.packets
	}
}

// snapshot copies what arrived on the track of rid.
func (s *fakeServer) snapshot(rid string) (receivedTrack, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.received[rid]
	if !ok {
		return receivedTrack{}, false
	}
	return *rt, true
}

func (s *fakeServer) waitFor(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
