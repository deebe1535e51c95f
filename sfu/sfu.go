package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// Config sets up the media plane.
type Config struct {
	// BindIP is the address the media UDP port listens on. "127.0.0.1" for local use; an unspecified
	// address ("0.0.0.0" or "::") listens on every interface.
	BindIP string
	// UDPPort is the one UDP port all ICE traffic shares. 0 picks a free port (tests).
	UDPPort int
	// ICETCP adds passive ICE/TCP candidates on TCPPort beside the UDP ones, for clients whose network
	// blocks UDP. 0 picks a free port (tests).
	ICETCP  bool
	TCPPort int
	// PublicIPs, when set, replace the bound address in host candidates (a server behind 1:1 NAT).
	PublicIPs []string
	// Logger receives the SFU's structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// SFU holds the rooms of one node and the pion APIs they share.
type SFU struct {
	log       *slog.Logger
	pubAPI    *webrtc.API // publish PeerConnections: we receive
	subAPI    *webrtc.API // subscribe PeerConnections: we send
	checkAPIs map[CheckTransport]*webrtc.API
	ports     *mediaPorts

	counters counters
	speakers *speakerDetector

	mu     sync.Mutex
	rooms  map[string]*Room
	checks map[*ConnectivityCheck]struct{}
	closed bool
}

// counters are the node's cumulative media counters. Readers add to them once per incoming packet (not
// once per subscriber), so two cores contend on them at most a few times per packet.
type counters struct {
	packetsIn, bytesIn, packetsOut, bytesOut atomic.Uint64
	retransmitted                            atomic.Uint64 // packets resent to answer subscribers' NACKs
	nacked                                   atomic.Uint64 // packets subscribers asked for again (NACK)
	keyframeRequests                         atomic.Uint64 // PLIs sent to publishers (after the throttle)
	layerSwitches                            atomic.Uint64 // a subscriber's forwarded layer changed
	pauses                                   atomic.Uint64 // a subscriber's video paused (bandwidth or asked)
}

// New opens the media UDP port and prepares the pion API.
func New(cfg Config) (*SFU, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	bindIP := net.ParseIP(cfg.BindIP)
	if bindIP == nil {
		return nil, fmt.Errorf("sfu: bind IP %q is not an IP address", cfg.BindIP)
	}

	var se webrtc.SettingEngine
	se.LoggerFactory = pionLoggerFactory{log: log}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	setAcceptanceWaits(&se)
	ports, err := openMediaPorts(cfg, bindIP, &se)
	if err != nil {
		return nil, err
	}
	if len(cfg.PublicIPs) > 0 {
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		})
		if err != nil {
			_ = ports.close()
			return nil, fmt.Errorf("sfu: public IPs %v: %w", cfg.PublicIPs, err)
		}
	}

	pubAPI, err := newPublishAPI(se)
	if err != nil {
		_ = ports.close()
		return nil, err
	}
	subAPI, err := newSubscribeAPI(se)
	if err != nil {
		_ = ports.close()
		return nil, err
	}
	if tcp := ports.tcpAddr(); tcp != nil {
		log.Info("media ports open", "udp", ports.udpAddr.String(), "ice_tcp", tcp.String())
	} else {
		log.Info("media ports open", "udp", ports.udpAddr.String(), "ice_tcp", "off")
	}
	s := &SFU{log: log, pubAPI: pubAPI, subAPI: subAPI, checkAPIs: newCheckAPIs(se, ports), ports: ports,
		rooms: make(map[string]*Room), checks: make(map[*ConnectivityCheck]struct{})}
	s.speakers = newSpeakerDetector(s)
	return s, nil
}

// UDPAddr is the address of the media UDP port.
func (s *SFU) UDPAddr() net.Addr { return s.ports.udpAddr }

// TCPAddr is the address of the ICE/TCP port, nil when ICE/TCP is off.
func (s *SFU) TCPAddr() net.Addr { return s.ports.tcpAddr() }

// Join adds a participant to a room, creating the room if needed. onJoined runs once, with the room
// locked, with the tracks already published there, so the caller can tell its client about exactly those
// before any event about later ones (see ParticipantEvents).
func (s *SFU) Join(roomName, participantID string, events ParticipantEvents, onJoined func(existing []TrackInfo)) (*Participant, error) {
	p, err := newParticipant(s, participantID, events)
	if err != nil {
		return nil, err
	}
	// A room found here may be closing because its last participant is leaving; then make a new one.
	for {
		room, err := s.room(roomName)
		if err != nil {
			p.closePeerConnections()
			return nil, err
		}
		err = room.join(p, onJoined)
		if errors.Is(err, errRoomClosing) {
			continue
		}
		if err != nil {
			p.closePeerConnections()
			return nil, err
		}
		return p, nil
	}
}

func (s *SFU) room(name string) (*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("sfu: %w", ErrClosed)
	}
	r := s.rooms[name]
	if r == nil {
		r = newRoom(s, name)
		s.rooms[name] = r
		s.log.Info("room created", "room", name)
	}
	return r, nil
}

func (s *SFU) removeRoom(r *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.name] == r {
		delete(s.rooms, r.name)
		s.log.Info("room closed", "room", r.name)
	}
}

// Stats is a snapshot of what the node carries and has forwarded.
type Stats struct {
	Rooms, Participants, Tracks int
	PacketsIn, PacketsOut       uint64
	BytesIn, BytesOut           uint64
	Retransmitted               uint64 // packets resent from the cache to answer NACKs
	NACKed                      uint64 // packets subscribers asked for again
	KeyframeRequests            uint64 // PLIs sent to publishers
	LayerSwitches               uint64 // changes of the layer forwarded to a subscriber
	Pauses                      uint64 // times a subscriber's video was paused
}

// LinkStat is one participant's downlink as the SFU sees it: the bandwidth estimate it spends on the
// participant's tracks and the share of packets the participant reported lost.
type LinkStat struct {
	EstimateBps int
	Loss        float64       // 0..1
	RoundTrip   time.Duration // the longest of its tracks' last measured; 0: none measured yet
}

// Links returns every participant's downlink, for the node's metrics. It takes each room's lock briefly
// and each estimator's, never the media path's.
func (s *SFU) Links() []LinkStat {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	var out []LinkStat
	for _, r := range rooms {
		out = r.appendLinks(out)
	}
	return out
}

// Stats reads the counters and counts rooms, participants and tracks. It takes each room's lock
// briefly, never the media path's.
func (s *SFU) Stats() Stats {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	st := Stats{
		Rooms:     len(rooms),
		PacketsIn: s.counters.packetsIn.Load(), BytesIn: s.counters.bytesIn.Load(),
		PacketsOut: s.counters.packetsOut.Load(), BytesOut: s.counters.bytesOut.Load(),
		Retransmitted: s.counters.retransmitted.Load(), NACKed: s.counters.nacked.Load(),
		KeyframeRequests: s.counters.keyframeRequests.Load(), LayerSwitches: s.counters.layerSwitches.Load(),
		Pauses: s.counters.pauses.Load(),
	}
	for _, r := range rooms {
		r.addStats(&st)
	}
	return st
}

// Close ends every participant of every room and closes the media port.
func (s *SFU) Close() error {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		for _, p := range r.participantList() {
			p.Close()
		}
	}
	s.closeChecks()
	s.speakers.close()
	if err := s.ports.close(); err != nil {
		return fmt.Errorf("sfu: close: %w", err)
	}
	return nil
}
