package client

import (
	"encoding/json"
	"fmt"
	"strings"

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
			reply, ok := c.waiting[env.ID]
			c.mu.Unlock()
			if ok {
				if reply.onReply != nil {
					reply.onReply(env)
				}
				select { // buffered for one reply; a second one with the same id is not ours to block on
				case reply.ch <- env:
				default:
				}
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
			delete(c.streamStates, ev.Track.ID)
			delete(c.published, ev.Track.ID)
			c.mu.Unlock()
		}
	case protocol.TypePublisherLayers:
		c.handlePublisherLayers(env)
	case protocol.TypeStreamState:
		var st protocol.StreamState
		if json.Unmarshal(env.Data, &st) == nil {
			c.mu.Lock()
			c.streamStates[st.TrackID] = st
			c.mu.Unlock()
		}
	case protocol.TypeActiveSpeakers:
		var as protocol.ActiveSpeakers
		if json.Unmarshal(env.Data, &as) == nil {
			c.mu.Lock()
			c.speakers = as.Speakers
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
	sdp := rewriteSDPCandidates(offer.SDP, "subscribe", c.rewriteRemote)
	if err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
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
	cand := msg.Candidate.Candidate
	if cand != "" && c.rewriteRemote != nil { // "" marks the end of candidates: nothing to rewrite
		if cand = c.rewriteRemote(msg.Target, cand); cand == "" {
			return
		}
	}
	init := webrtc.ICECandidateInit{Candidate: cand, SDPMid: msg.Candidate.SDPMid,
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
	go func() { // interceptors need RTCP drained; ends when the receiver stops
		buf := make([]byte, 1500)
		for {
			var err error
			if rid := track.RID(); rid != "" { // pion refuses Read on a simulcast receiver
				_, _, err = receiver.ReadSimulcast(buf, rid)
			} else {
				_, _, err = receiver.Read(buf)
			}
			if err != nil {
				return
			}
		}
	}()
	if c.onTrack != nil {
		c.onTrack(RemoteTrack{ID: id, Info: info, Track: track, Receiver: receiver})
	}
}

// rewriteSDPCandidates passes each a=candidate line of a server SDP through rewrite ("" drops the line),
// so candidates in an SDP get the same treatment as trickled ones.
func rewriteSDPCandidates(sdp, target string, rewrite func(target, candidate string) string) string {
	if rewrite == nil || !strings.Contains(sdp, "a=candidate:") {
		return sdp
	}
	lines := strings.SplitAfter(sdp, "\n")
	out := lines[:0]
	for _, line := range lines {
		body := strings.TrimRight(line, "\r\n")
		if !strings.HasPrefix(body, "a=candidate:") {
			out = append(out, line)
			continue
		}
		cand := rewrite(target, strings.TrimPrefix(body, "a="))
		if cand == "" {
			continue
		}
		out = append(out, "a="+cand+line[len(body):])
	}
	return strings.Join(out, "")
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
