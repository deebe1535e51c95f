package client

import (
	"encoding/json"
	"fmt"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// readLoop handles server messages in order until the socket ends.
func (c *Client) readLoop() {
	defer close(c.done)
	for {
		_, frame, err := c.conn.ReadMessage()
		if err != nil {
			c.readErr = err
			return
		}
		var env protocol.Envelope
		if err := json.Unmarshal(frame, &env); err != nil {
			continue
		}
		if env.ID != "" {
			c.mu.Lock()
			reply := c.waiting[env.ID]
			c.mu.Unlock()
			if reply != nil {
				reply <- env
				continue
			}
		}
		c.handle(env)
	}
}

func (c *Client) handle(env protocol.Envelope) {
	switch env.Type {
	case protocol.TypeSubscribeOffer:
		if err := c.answerSubscribe(env); err != nil {
			c.deliver(protocol.Envelope{Type: protocol.TypeError, Data: mustJSON(protocol.Error{Code: "client", Message: err.Error()})})
		}
		return
	case protocol.TypeICECandidate:
		c.addCandidate(env)
		return
	case protocol.TypeTrackPublished, protocol.TypeTrackMuted:
		var ev protocol.TrackEvent
		if json.Unmarshal(env.Data, &ev) == nil {
			c.mu.Lock()
			c.tracks[ev.Track.ID] = ev.Track
			c.mu.Unlock()
		}
	case protocol.TypeTrackUnpublished:
		var ev protocol.TrackEvent
		if json.Unmarshal(env.Data, &ev) == nil {
			c.mu.Lock()
			delete(c.tracks, ev.Track.ID)
			c.mu.Unlock()
		}
	}
	c.deliver(env)
}

// deliver queues a room event; when the reader of Events is too slow the oldest events are dropped.
func (c *Client) deliver(env protocol.Envelope) {
	for {
		select {
		case c.events <- env:
			return
		default:
		}
		select {
		case <-c.events:
			c.mu.Lock()
			c.droppedEvent++
			c.mu.Unlock()
		default:
		}
	}
}

func (c *Client) answerSubscribe(env protocol.Envelope) error {
	var offer protocol.SubscribeOffer
	if err := json.Unmarshal(env.Data, &offer); err != nil {
		return fmt.Errorf("subscribe offer: %w", err)
	}
	c.mu.Lock()
	for mid, id := range offer.Tracks {
		c.trackByMid[mid] = id
	}
	c.mu.Unlock()
	if err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return fmt.Errorf("apply subscribe offer: %w", err)
	}
	c.flushCandidates(c.sub, &c.subQueue)
	answer, err := c.sub.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("subscribe answer: %w", err)
	}
	if err := c.sub.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("subscribe answer: %w", err)
	}
	return c.Send(protocol.TypeSubscribeAnswer, protocol.SDP{SDP: answer.SDP})
}

func (c *Client) addCandidate(env protocol.Envelope) {
	var msg protocol.ICECandidate
	if json.Unmarshal(env.Data, &msg) != nil || msg.Candidate == nil {
		return
	}
	init := webrtc.ICECandidateInit{Candidate: msg.Candidate.Candidate, SDPMid: msg.Candidate.SDPMid,
		SDPMLineIndex: msg.Candidate.SDPMLineIndex, UsernameFragment: msg.Candidate.UsernameFragment}
	pc, queue := c.pub, &c.pubQueue
	if msg.Target == "subscribe" {
		pc, queue = c.sub, &c.subQueue
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if pc.RemoteDescription() == nil {
		*queue = append(*queue, init)
		return
	}
	_ = pc.AddICECandidate(init)
}

func (c *Client) flushCandidates(pc *webrtc.PeerConnection, queue *[]webrtc.ICECandidateInit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, init := range *queue {
		_ = pc.AddICECandidate(init)
	}
	*queue = nil
}

// handleTrack runs on pion's goroutine for each received track.
func (c *Client) handleTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	var mid string
	for _, tr := range c.sub.GetTransceivers() {
		if tr.Receiver() == receiver {
			mid = tr.Mid()
		}
	}
	c.mu.Lock()
	id := c.trackByMid[mid]
	info := c.tracks[id]
	c.mu.Unlock()
	go func() { // interceptors need RTCP drained
		for {
			if _, _, err := receiver.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	if c.onTrack != nil {
		c.onTrack(RemoteTrack{ID: id, Info: info, Track: track, Receiver: receiver})
	}
}

func wantsKeyframe(pkts []rtcp.Packet) bool {
	for _, p := range pkts {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			return true
		}
	}
	return false
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
