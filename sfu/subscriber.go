package sfu

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu/bwe"
)

// roundTrip is the longest round trip measured on the subscriber's tracks (0: none yet).
func (s *subscriber) roundTrip() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var longest time.Duration
	for _, sub := range s.tracks {
		longest = max(longest, sub.downTrack.RoundTrip())
	}
	return longest
}

// subscriber is a participant's subscribe PeerConnection: the tracks it receives and its offer/answer
// state. The SFU offers; at most one offer is outstanding, and changes made meanwhile are folded into the
// next offer once the answer arrives.
type subscriber struct {
	p   *Participant
	pc  *webrtc.PeerConnection
	bwe *bwe.Estimator // the downlink estimate; DownTracks record what they send and feed it feedback

	kick chan struct{} // wakes the allocation loop; buffered, never blocks the sender
	done chan struct{} // closed by close: ends the allocation loop

	probe         prober // owned by the allocation loop
	lastDecreases uint64 // owned by the allocation loop: the estimator's decreases it has seen

	mu           sync.Mutex
	tracks       map[string]*subscription // by track id
	settings     map[string]SubscriptionSettings
	offerPending bool // an offer was sent and its answer has not arrived
	renegotiate  bool // something changed while an offer was pending
	pending      candidateQueue
	closed       bool
}

type subscription struct {
	downTrack   *DownTrack
	transceiver *webrtc.RTPTransceiver
	alloc       allocState // owned by the allocation loop
}

func newSubscriber(p *Participant, pc *webrtc.PeerConnection) *subscriber {
	s := &subscriber{
		p: p, pc: pc, kick: make(chan struct{}, 1), done: make(chan struct{}),
		bwe:    bwe.New(bwe.Config{Initial: initialEstimate, Min: minEstimate, Max: maxEstimate}),
		tracks: make(map[string]*subscription), settings: make(map[string]SubscriptionSettings),
	}
	watchConnection(pc, TargetSubscribe, p)
	s.bwe.OnChange(func(int) { s.wake() })
	go s.allocationLoop()
	return s
}

// wake asks the allocation loop to run soon.
func (s *subscriber) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// add starts sending a receiver's track to this subscriber.
func (s *subscriber) add(rcv *Receiver) {
	s.mu.Lock()
	if s.closed || s.tracks[rcv.info.ID] != nil {
		s.mu.Unlock()
		return
	}
	dt := newDownTrack(rcv, initialLayer, s.wake)
	dt.bwe = s.bwe
	if !rcv.attach(dt) { // the track ended meanwhile
		s.mu.Unlock()
		return
	}
	// AddTrack reuses an m-line whose previous track was removed and negotiated away, so the subscribe
	// SDP does not grow with every join and leave of a long meeting.
	sender, err := s.pc.AddTrack(dt)
	var tr *webrtc.RTPTransceiver
	if err == nil {
		if tr = transceiverOf(s.pc, sender); tr == nil {
			err = errors.New("no transceiver for the new sender")
		}
	}
	if err != nil {
		s.mu.Unlock()
		rcv.detach(dt)
		s.p.log.Warn("add track to subscriber", "track", rcv.info.ID, "err", err)
		return
	}
	s.tracks[rcv.info.ID] = &subscription{downTrack: dt, transceiver: tr}
	s.mu.Unlock()

	go dt.readRTCP(tr.Sender())
	s.negotiate()
	s.wake()
}

// remove stops sending a track to this subscriber.
func (s *subscriber) remove(trackID string) {
	s.mu.Lock()
	delete(s.settings, trackID)
	sub := s.tracks[trackID]
	if sub == nil || s.closed {
		s.mu.Unlock()
		return
	}
	delete(s.tracks, trackID)
	sub.downTrack.receiver.detach(sub.downTrack)
	err := s.pc.RemoveTrack(sub.transceiver.Sender())
	s.mu.Unlock()
	if err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		s.p.log.Warn("remove track from subscriber", "track", trackID, "err", err)
	}
	s.negotiate()
}

// negotiate sends a new offer unless one is already outstanding.
func (s *subscriber) negotiate() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.offerPending {
		s.renegotiate = true
		s.mu.Unlock()
		return
	}
	offer, err := s.pc.CreateOffer(nil)
	if err == nil {
		err = s.pc.SetLocalDescription(offer)
	}
	if err != nil {
		closing := s.pc.ConnectionState() == webrtc.PeerConnectionStateClosed || errors.Is(err, webrtc.ErrConnectionClosed)
		s.mu.Unlock()
		if !closing {
			s.p.log.Warn("subscriber offer", "err", err)
		}
		return
	}
	s.offerPending = true
	trackByMid := make(map[string]string, len(s.tracks))
	for id, sub := range s.tracks {
		trackByMid[sub.transceiver.Mid()] = id
	}
	s.mu.Unlock()
	s.p.events.SubscriberOffer(offer.SDP, trackByMid)
}

// accept applies the client's answer and sends the next offer if changes are waiting.
func (s *subscriber) accept(answerSDP string) error {
	answer := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answerSDP}
	if _, err := answer.Unmarshal(); err != nil {
		return fmt.Errorf("subscribe answer: %w: %w", ErrInvalidSDP, err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("subscribe answer: %w", ErrClosed)
	}
	if !s.offerPending {
		s.mu.Unlock()
		return fmt.Errorf("subscribe answer: %w: %w", ErrNegotiation, errNoOfferPending)
	}
	if err := s.pc.SetRemoteDescription(answer); err != nil {
		// Roll back and offer again, so a client that sent a bad answer can still recover.
		_ = s.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		s.offerPending = false
		s.mu.Unlock()
		s.negotiate()
		return fmt.Errorf("subscribe answer: %w: %w", ErrInvalidSDP, err)
	}
	s.offerPending = false
	again := s.renegotiate
	s.renegotiate = false
	flushErr := s.pending.flush(s.pc)
	s.mu.Unlock()
	if flushErr != nil {
		s.p.log.Debug("queued subscribe candidate rejected", "err", flushErr)
	}
	if again {
		s.negotiate()
	}
	return nil
}

func (s *subscriber) addCandidate(c webrtc.ICECandidateInit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending.add(s.pc, c)
}

// close stops all forwarding to this subscriber; the PeerConnection is closed by the participant.
func (s *subscriber) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	subs := make([]*subscription, 0, len(s.tracks))
	for id, sub := range s.tracks {
		subs = append(subs, sub)
		delete(s.tracks, id)
	}
	close(s.done)
	s.mu.Unlock()
	for _, sub := range subs {
		sub.downTrack.receiver.detach(sub.downTrack)
	}
}

func transceiverOf(pc *webrtc.PeerConnection, sender *webrtc.RTPSender) *webrtc.RTPTransceiver {
	for _, t := range pc.GetTransceivers() {
		if t.Sender() == sender {
			return t
		}
	}
	return nil
}

// candidateQueue holds a client's ICE candidates that arrive before the remote description they belong
// to, and applies them once it is set. Its user serializes calls.
type candidateQueue struct {
	mu    sync.Mutex
	queue []webrtc.ICECandidateInit
}

const maxQueuedCandidates = 64

func (q *candidateQueue) add(pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) error {
	if c.Candidate == "" { // end-of-candidates
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if pc.RemoteDescription() == nil {
		if len(q.queue) >= maxQueuedCandidates {
			return errTooManyCandidate
		}
		q.queue = append(q.queue, c)
		return nil
	}
	return pc.AddICECandidate(c)
}

func (q *candidateQueue) flush(pc *webrtc.PeerConnection) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	var errs []error
	for _, c := range q.queue {
		errs = append(errs, pc.AddICECandidate(c))
	}
	q.queue = nil
	return errors.Join(errs...)
}
