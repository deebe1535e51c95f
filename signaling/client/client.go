// Package client is a Go client of the signalling protocol with real pion PeerConnections: it joins a
// room, publishes tracks and receives the others'. The integration tests and the load tester both use it,
// so there is one client of the protocol, not two.
//
// Locking: a Client is safe for concurrent use. One goroutine (started by Dial) reads the socket and
// handles server messages in order; writes to the socket are serialized by writeMu. OnTrack callbacks
// run on pion's goroutines. Close ends the reader and both PeerConnections.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
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

// LocalTrack is a track to publish. OnKeyframeRequest, if set, runs when the SFU asks for a keyframe.
type LocalTrack struct {
	Track             webrtc.TrackLocal
	Source            string // camera, microphone, screen, screen_audio
	OnKeyframeRequest func()
}

// Options configure a client.
type Options struct {
	// API builds the PeerConnections; nil means NewAPI(true): loopback-only ICE.
	API *webrtc.API
	// EventBuffer is how many room events wait unread in Events before the oldest are dropped (1024).
	EventBuffer int
	// OnTrack runs for every received track.
	OnTrack func(RemoteTrack)
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

	mu           sync.Mutex
	nextID       int
	waiting      map[string]chan protocol.Envelope
	trackByMid   map[string]string
	tracks       map[string]protocol.Track
	pubQueue     []webrtc.ICECandidateInit
	subQueue     []webrtc.ICECandidateInit
	participant  string
	droppedEvent int
}

// NewAPI returns a pion API with the default codecs and interceptors. loopbackOnly restricts ICE to
// loopback addresses, as every test and load run here must.
func NewAPI(loopbackOnly bool) (*webrtc.API, error) {
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("client: codecs: %w", err)
	}
	var reg interceptor.Registry
	if err := webrtc.RegisterDefaultInterceptors(&me, &reg); err != nil {
		return nil, fmt.Errorf("client: interceptors: %w", err)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if loopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithInterceptorRegistry(&reg), webrtc.WithSettingEngine(se)), nil
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
	pub, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("client: publish connection: %w", err)
	}
	sub, err := api.NewPeerConnection(webrtc.Configuration{})
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
		waiting: make(map[string]chan protocol.Envelope), trackByMid: make(map[string]string),
		tracks: make(map[string]protocol.Track),
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
		_ = c.Send(protocol.TypeICECandidate, protocol.ICECandidate{Target: target, Candidate: &protocol.ICECandidateInit{
			Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex, UsernameFragment: init.UsernameFragment,
		}})
	})
}

// Join joins a room and returns the server's `joined`.
func (c *Client) Join(ctx context.Context, room, name string) (protocol.Joined, error) {
	var joined protocol.Joined
	env, err := c.Request(ctx, protocol.TypeJoin, protocol.Join{Room: room, Name: name, Version: protocol.Version})
	if err != nil {
		return joined, err
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

// Publish adds tracks to the publish connection and negotiates them.
func (c *Client) Publish(ctx context.Context, tracks ...LocalTrack) ([]protocol.AssignedTrack, error) {
	type added struct {
		tr *webrtc.RTPTransceiver
		lt LocalTrack
	}
	var all []added
	for _, lt := range tracks {
		tr, err := c.pub.AddTransceiverFromTrack(lt.Track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, fmt.Errorf("client: add track: %w", err)
		}
		all = append(all, added{tr, lt})
	}
	offer, err := c.pub.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("client: publish offer: %w", err)
	}
	if err := c.pub.SetLocalDescription(offer); err != nil {
		return nil, fmt.Errorf("client: publish offer: %w", err)
	}
	sources := make([]protocol.TrackSource, 0, len(all))
	for _, a := range all {
		sources = append(sources, protocol.TrackSource{Mid: a.tr.Mid(), Source: a.lt.Source})
		go drainSenderRTCP(a.tr.Sender(), a.lt.OnKeyframeRequest)
	}
	env, err := c.Request(ctx, protocol.TypePublishOffer, protocol.PublishOffer{SDP: offer.SDP, Tracks: sources})
	if err != nil {
		return nil, err
	}
	var answer protocol.PublishAnswer
	if err := json.Unmarshal(env.Data, &answer); err != nil {
		return nil, fmt.Errorf("client: publish answer: %w", err)
	}
	if err := c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}); err != nil {
		return nil, fmt.Errorf("client: apply publish answer: %w", err)
	}
	c.flushCandidates(c.pub, &c.pubQueue)
	return answer.Tracks, nil
}

// Events delivers room events (participant_*, track_*, unsolicited errors) in the order the server sent them.
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
	c.mu.Lock()
	c.nextID++
	id := strconv.Itoa(c.nextID)
	reply := make(chan protocol.Envelope, 1)
	c.waiting[id] = reply
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

func drainSenderRTCP(sender *webrtc.RTPSender, onKeyframe func()) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		if onKeyframe != nil && wantsKeyframe(pkts) {
			onKeyframe()
		}
	}
}
