// Package client is a Go client of the signalling protocol with real pion PeerConnections: it joins a
// room, publishes tracks (single-layer or simulcast) and receives the others'. The integration tests and
// the load tester both use it, so there is one client of the protocol, not two.
//
// Locking: a Client is safe for concurrent use. One goroutine (started by Dial) reads the socket and
// handles server messages in order; writes to the socket are serialized by writeMu, which is never held
// for anything but one write; mu guards the maps and candidate queues and is never held across a socket
// write or a callback.
// Callbacks: OnTrack runs on pion's goroutines; LocalTrack.OnLayerActive runs on the reader goroutine and
// must not block; OnKeyframeRequest/OnLayerKeyframeRequest run on the goroutine draining that encoding's
// RTCP (one per encoding, ended when the publish PeerConnection closes); OnHeaderExtensions runs on the
// caller of Publish. Close ends the reader and both PeerConnections, and with them every goroutine.
//
// The client imports nothing from the load tester: callers wire sources to tracks through the callbacks.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// RemoteTrack is a track the client receives, with the server's description of it.
type RemoteTrack struct {
	ID       string         // the server's track id
	Info     protocol.Track // zero if the server's track_published has not arrived yet
	Track    *webrtc.TrackRemote
	Receiver *webrtc.RTPReceiver
}

// Header extension URIs the client negotiates: the same strings as pion/sdp's constants, here so that
// callers wiring OnHeaderExtensions need not import pion/sdp.
const (
	AudioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"   // RFC 6464
	MidURI        = "urn:ietf:params:rtp-hdrext:sdes:mid"           // RFC 8843
	RIDURI        = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id" // RFC 8852
)

// LocalTrack is a track to publish: either one encoding (Track) or simulcast (Layers).
type LocalTrack struct {
	// Track is the single encoding; ignored when Layers is set.
	Track webrtc.TrackLocal
	// Layers, lowest quality first, makes this a simulcast track: every Layers[i].Track has a distinct RID
	// and the same track id, stream id and kind. The client stamps the mid and rid header extensions on
	// every packet of every layer (receivers find simulcast streams by them), and sends the Specs in the
	// publish offer.
	Layers []LocalLayer
	Source string // camera, microphone, screen, screen_audio

	// OnKeyframeRequest runs when the SFU asks for a keyframe (PLI or FIR) of a single-layer track, or of
	// any layer of a simulcast track when OnLayerKeyframeRequest is nil.
	OnKeyframeRequest func()
	// OnLayerKeyframeRequest runs when the SFU asks for a keyframe of one simulcast layer (the PLI/FIR names
	// that layer's SSRC).
	OnLayerKeyframeRequest func(rid string)
	// OnLayerActive runs for each layer of a publisher_layers message about this track (dynacast): stop or
	// resume sending that layer. It runs on the reader goroutine and must not block.
	OnLayerActive func(rid string, active bool)
	// OnHeaderExtensions runs once the publish answer is applied, with the header extensions negotiated for
	// this track's kind (URI → id), e.g. to tell an audio source the id of AudioLevelURI.
	OnHeaderExtensions func(ids map[string]uint8)
}

// LocalLayer is one simulcast encoding of a LocalTrack.
type LocalLayer struct {
	Track webrtc.TrackLocal // with a RID (webrtc.WithRTPStreamID)
	Spec  protocol.Layer    // declared to the server; Spec.RID may be left empty and is then Track.RID()
}

// Options configure a client.
type Options struct {
	// API builds the PeerConnections; nil means NewAPI(true): loopback-only ICE.
	API *webrtc.API
	// EventBuffer is how many room events wait unread in Events before the oldest are dropped (1024).
	EventBuffer int
	// OnTrack runs for every received track.
	OnTrack func(RemoteTrack)
	// RewriteCandidate, if set, sees every ICE candidate of the server (target "publish" or "subscribe"),
	// trickled or in an SDP, before the PeerConnection does, and returns what to use instead; "" drops it.
	// Tests use it to route media through a relay (loadtest/netem).
	RewriteCandidate func(target, candidate string) string
	// RewriteLocalCandidate, if set, sees every candidate this client trickles to the server and returns
	// what to send instead; "" keeps it to ourselves. With a relay in the path, dropping them all makes the
	// server learn the client only through the relay (as a peer-reflexive candidate), so that no direct
	// path can win the ICE checks.
	RewriteLocalCandidate func(target, candidate string) string
	// ICETransportPolicy "relay" makes both PeerConnections use TURN relay candidates only (the
	// bundled client's ?relay=1), through the ICE servers `joined` hands out.
	ICETransportPolicy webrtc.ICETransportPolicy
	// KeepICEURL, if set, picks which URLs of the handed-out ICE servers the client uses (e.g. only
	// turns: ones, to test the relay over TLS); nil keeps them all.
	KeepICEURL func(url string) bool
	// Token is the join token Join sends (a JWT from the server's CLI, admin API or your backend). Empty
	// joins without one, which only a dev-mode server on this machine accepts.
	Token string
}

// Client is one participant.
type Client struct {
	conn    *websocket.Conn
	writeMu sync.Mutex
	pub     *webrtc.PeerConnection
	sub     *webrtc.PeerConnection
	onTrack func(RemoteTrack)
	events  chan protocol.Envelope
	done    chan struct{}
	readErr error
	// rewriteRemote and rewriteLocal are Options.RewriteCandidate and RewriteLocalCandidate.
	rewriteRemote func(target, candidate string) string
	rewriteLocal  func(target, candidate string) string
	token         string // Options.Token
	icePolicy     webrtc.ICETransportPolicy
	keepICEURL    func(string) bool
	iceServers    []webrtc.ICEServer // from `joined`, as applied to both PeerConnections

	mu           sync.Mutex
	nextID       int
	waiting      map[string]pendingReply
	trackByMid   map[string]string
	tracks       map[string]protocol.Track
	published    map[string]*publishedTrack // server track id → what we publish on it
	streamStates map[string]protocol.StreamState
	speakers     []protocol.Speaker
	pubQueue     []webrtc.ICECandidateInit
	subQueue     []webrtc.ICECandidateInit
	participant  string
	droppedEvent int
}

// pendingReply is a request waiting for its reply. onReply, if set, runs on the reader goroutine before
// the next message is handled, so state the reply sets up is in place for whatever follows it.
type pendingReply struct {
	ch      chan protocol.Envelope
	onReply func(protocol.Envelope)
}

// Dial opens the socket (url like ws://127.0.0.1:7880/ws) and prepares both PeerConnections.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	api := opts.API
	if api == nil {
		var err error
		if api, err = NewAPI(true); err != nil {
			return nil, err
		}
	}
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, url, http.Header{})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", url, err)
	}
	pub, err := api.NewPeerConnection(webrtc.Configuration{ICETransportPolicy: opts.ICETransportPolicy})
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("client: publish connection: %w", err)
	}
	sub, err := api.NewPeerConnection(webrtc.Configuration{ICETransportPolicy: opts.ICETransportPolicy})
	if err != nil {
		_ = conn.Close()
		_ = pub.Close()
		return nil, fmt.Errorf("client: subscribe connection: %w", err)
	}
	if opts.EventBuffer == 0 {
		opts.EventBuffer = 1024
	}
	c := &Client{
		conn: conn, pub: pub, sub: sub, onTrack: opts.OnTrack,
		events: make(chan protocol.Envelope, opts.EventBuffer), done: make(chan struct{}),
		rewriteRemote: opts.RewriteCandidate, rewriteLocal: opts.RewriteLocalCandidate, token: opts.Token,
		icePolicy: opts.ICETransportPolicy, keepICEURL: opts.KeepICEURL,
		waiting: make(map[string]pendingReply), trackByMid: make(map[string]string),
		tracks: make(map[string]protocol.Track), published: make(map[string]*publishedTrack),
		streamStates: make(map[string]protocol.StreamState),
	}
	c.trickle(pub, "publish")
	c.trickle(sub, "subscribe")
	sub.OnTrack(c.handleTrack)
	go c.readLoop()
	return c, nil
}

func (c *Client) trickle(pc *webrtc.PeerConnection, target string) {
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		init := cand.ToJSON()
		if c.rewriteLocal != nil {
			if init.Candidate = c.rewriteLocal(target, init.Candidate); init.Candidate == "" {
				return
			}
		}
		_ = c.Send(protocol.TypeICECandidate, protocol.ICECandidate{Target: target, Candidate: &protocol.ICECandidateInit{
			Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex, UsernameFragment: init.UsernameFragment,
		}})
	})
}

// ErrInLobby is Join's error when the room puts the client in its lobby: JoinRoom waits for admission.
var ErrInLobby = errors.New("waiting in the room's lobby")

// Join joins a room and returns the server's `joined`. It sends Options.Token, if any. A refusal is a
// *protocol.Error (e.g. token_expired, banned, room_full).
func (c *Client) Join(ctx context.Context, room, name string) (protocol.Joined, error) {
	return c.JoinWithToken(ctx, room, name, c.token)
}

// JoinWithToken joins a room with a join token; name may be empty when the token carries one.
func (c *Client) JoinWithToken(ctx context.Context, room, name, token string) (protocol.Joined, error) {
	var joined protocol.Joined
	// The ICE servers go into both PeerConnections on the reader, before the subscribe offer that
	// follows `joined` starts gathering.
	env, err := c.request(ctx, protocol.TypeJoin, protocol.Join{Room: room, Name: name, Version: protocol.Version, Token: token}, c.applyICEServers)
	if err != nil {
		return joined, err
	}
	if env.Type == protocol.TypeLobby {
		return joined, fmt.Errorf("client: join %s: %w (use JoinRoom to wait for admission)", room, ErrInLobby)
	}
	if err := json.Unmarshal(env.Data, &joined); err != nil {
		return joined, fmt.Errorf("client: joined: %w", err)
	}
	c.mu.Lock()
	c.participant = joined.ParticipantID
	for _, t := range joined.Tracks {
		c.tracks[t.ID] = t
	}
	c.mu.Unlock()
	return joined, nil
}

// ParticipantID is the id the server gave this client at join.
func (c *Client) ParticipantID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.participant
}

// Events delivers room events (participant_*, track_*, stream_state, publisher_layers, active_speakers,
// unsolicited errors) in the order the server sent them.
func (c *Client) Events() <-chan protocol.Envelope { return c.events }

// Done is closed when the socket has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// DroppedEvents counts room events discarded because Events was not read fast enough.
func (c *Client) DroppedEvents() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.droppedEvent
}

// Track returns what the server said about a track.
func (c *Client) Track(id string) (protocol.Track, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tracks[id]
	return t, ok
}

// StreamState returns the last stream_state the server sent about a track this client receives.
func (c *Client) StreamState(trackID string) (protocol.StreamState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.streamStates[trackID]
	return s, ok
}

// ActiveSpeakers returns the speakers of the last active_speakers message, loudest first.
func (c *Client) ActiveSpeakers() []protocol.Speaker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]protocol.Speaker(nil), c.speakers...)
}

// SetTrackSettings tells the server how this client wants a track it receives (adaptive stream): paused,
// a layer cap, the render size, a priority. It replaces earlier settings for that track. Invalid settings
// are refused here rather than by the server.
func (c *Client) SetTrackSettings(s protocol.TrackSettings) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("client: track settings: %w", err)
	}
	return c.Send(protocol.TypeTrackSettings, s)
}

// PublishConnection and SubscribeConnection expose the PeerConnections, e.g. for stats.
func (c *Client) PublishConnection() *webrtc.PeerConnection   { return c.pub }
func (c *Client) SubscribeConnection() *webrtc.PeerConnection { return c.sub }

// Send sends one message without waiting for a reply.
func (c *Client) Send(typ string, data any) error {
	msg, err := protocol.Encode(typ, "", data)
	if err != nil {
		return err
	}
	return c.SendRaw(msg)
}

// SendRaw sends one text frame as is (tests use it to send malformed input).
func (c *Client) SendRaw(frame []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		return fmt.Errorf("client: send: %w", err)
	}
	return nil
}

// Request sends a message with a fresh id and waits for the reply carrying that id. A protocol error
// reply is returned as a *protocol.Error.
func (c *Client) Request(ctx context.Context, typ string, data any) (protocol.Envelope, error) {
	return c.request(ctx, typ, data, nil)
}

func (c *Client) request(ctx context.Context, typ string, data any, onReply func(protocol.Envelope)) (protocol.Envelope, error) {
	c.mu.Lock()
	c.nextID++
	id := strconv.Itoa(c.nextID)
	reply := make(chan protocol.Envelope, 1)
	c.waiting[id] = pendingReply{ch: reply, onReply: onReply}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	msg, err := protocol.Encode(typ, id, data)
	if err != nil {
		return protocol.Envelope{}, err
	}
	if err := c.SendRaw(msg); err != nil {
		return protocol.Envelope{}, err
	}
	select {
	case env := <-reply:
		if env.Type == protocol.TypeError {
			var perr protocol.Error
			_ = json.Unmarshal(env.Data, &perr)
			return env, &perr
		}
		return env, nil
	case <-c.done:
		return protocol.Envelope{}, fmt.Errorf("client: %s: socket closed: %w", typ, c.closedErr())
	case <-ctx.Done():
		return protocol.Envelope{}, fmt.Errorf("client: %s: %w", typ, ctx.Err())
	}
}

func (c *Client) closedErr() error {
	<-c.done
	if c.readErr != nil {
		return c.readErr
	}
	return errors.New("closed")
}

// Leave tells the server this participant leaves; the server then closes the socket.
func (c *Client) Leave() error { return c.Send(protocol.TypeLeave, nil) }

// Close closes the socket and both PeerConnections and waits for the reader to end.
func (c *Client) Close() error {
	c.writeMu.Lock()
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.writeMu.Unlock()
	err := c.conn.Close()
	<-c.done
	return errors.Join(err, c.pub.GracefulClose(), c.sub.GracefulClose())
}

// Disconnect drops the socket without a close frame and closes nothing else: a peer that vanishes.
func (c *Client) Disconnect() {
	_ = c.conn.Close()
	<-c.done
}
