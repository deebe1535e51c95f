package sfu

import (
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu/codec"
)

// keyframeRequestInterval throttles PLIs to a publisher per track: every subscriber that needs a keyframe
// asks, the publisher hears at most one request per interval (mediasoup uses 1 s, LiveKit ~500 ms).
const keyframeRequestInterval = 500 * time.Millisecond

// maxPacketSize bounds one RTP packet read from a publisher: pion's receive MTU is 1460.
const maxPacketSize = 1500

// Receiver is one published track: its layers (one unless simulcast) and the DownTracks fed from it.
type Receiver struct {
	info      TrackInfo // immutable but for muted
	muted     atomic.Bool
	codecKind codec.Kind
	codec     webrtc.RTPCodecParameters
	publisher *webrtc.PeerConnection // for keyframe requests
	counters  *counters
	log       *slog.Logger
	onEnded   func(*Receiver) // the publisher stopped sending every layer

	downTracks atomic.Pointer[[]*DownTrack] // copy-on-write; readers load, writers hold mu

	mu          sync.Mutex
	layers      []layer
	liveLayers  int
	closed      atomic.Bool  // set under mu; read lock-free by the layer readers
	lastRequest atomic.Int64 // unix nanos of the last keyframe request
}

type layer struct {
	rid  string
	ssrc uint32
}

// packet is one RTP packet as a layer reader hands it to DownTracks. It and its buffers belong to the
// reader goroutine and are reused for the next packet: DownTracks must not keep them.
type packet struct {
	layer    int
	header   rtp.Header
	payload  []byte // after the header, including any padding bytes
	keyframe bool
	out      rtp.Header // scratch for the rewritten header, so writing allocates nothing
}

func newReceiver(info TrackInfo, track *webrtc.TrackRemote, publisher *webrtc.PeerConnection, c *counters, log *slog.Logger, onEnded func(*Receiver)) *Receiver {
	r := &Receiver{
		info:      info,
		codecKind: codec.KindOf(track.Codec().MimeType),
		codec:     track.Codec(),
		publisher: publisher,
		counters:  c,
		log:       log.With("track", info.ID),
		onEnded:   onEnded,
	}
	r.info.Codec = track.Codec().MimeType
	r.downTracks.Store(&[]*DownTrack{})
	return r
}

// Info returns a snapshot of the track's description.
func (r *Receiver) Info() TrackInfo {
	info := r.info
	info.Muted = r.muted.Load()
	r.mu.Lock()
	info.Simulcast = len(r.layers) > 1
	r.mu.Unlock()
	return info
}

// addLayer starts reading one layer (a rid, or the only stream) of the track.
func (r *Receiver) addLayer(track *webrtc.TrackRemote, rtpReceiver *webrtc.RTPReceiver) {
	r.mu.Lock()
	if r.closed.Load() {
		r.mu.Unlock()
		return
	}
	idx := len(r.layers)
	r.layers = append(r.layers, layer{rid: track.RID(), ssrc: uint32(track.SSRC())})
	r.liveLayers++
	r.mu.Unlock()

	go r.readRTCP(rtpReceiver, track.RID())
	go r.readRTP(idx, track)
}

// readRTP is the hot path: one goroutine per layer, ended when the track's stream ends.
func (r *Receiver) readRTP(idx int, track *webrtc.TrackRemote) {
	defer r.layerEnded()
	buf := make([]byte, maxPacketSize)
	pkt := &packet{layer: idx}
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		if r.closed.Load() {
			return
		}
		if !pkt.parse(buf[:n], r.codecKind) {
			continue
		}
		r.forward(pkt, n)
	}
}

// forward hands one packet to every DownTrack and counts it.
func (r *Receiver) forward(pkt *packet, size int) {
	sent := 0
	sentBytes := 0
	for _, dt := range *r.downTracks.Load() {
		if dt.writeRTP(pkt) {
			sent++
			sentBytes += size
		}
	}
	r.counters.packetsIn.Add(1)
	r.counters.bytesIn.Add(uint64(size))
	if sent > 0 {
		r.counters.packetsOut.Add(uint64(sent))
		r.counters.bytesOut.Add(uint64(sentBytes))
	}
}

// parse fills pkt from a raw RTP packet; false means the packet is malformed and is dropped.
func (p *packet) parse(raw []byte, kind codec.Kind) bool {
	hl, err := p.header.Unmarshal(raw)
	if err != nil || hl > len(raw) {
		return false
	}
	p.payload = raw[hl:]
	media := p.payload
	if p.header.Padding {
		if len(media) == 0 {
			return false
		}
		pad := int(media[len(media)-1])
		if pad == 0 || pad > len(media) {
			return false
		}
		media = media[:len(media)-pad]
	}
	p.keyframe = len(media) > 0 && codec.IsKeyframe(kind, media)
	return true
}

func (r *Receiver) layerEnded() {
	r.mu.Lock()
	r.liveLayers--
	ended := r.liveLayers == 0 && !r.closed.Load()
	r.mu.Unlock()
	if ended && r.onEnded != nil {
		r.onEnded(r)
	}
}

// readRTCP drains the publisher's RTCP for one layer: pion's interceptors only see what is read.
func (r *Receiver) readRTCP(rtpReceiver *webrtc.RTPReceiver, rid string) {
	for {
		var err error
		if rid == "" {
			_, _, err = rtpReceiver.ReadRTCP()
		} else {
			_, _, err = rtpReceiver.ReadSimulcastRTCP(rid)
		}
		if err != nil {
			return
		}
	}
}

// RequestKeyframe asks the publisher for a keyframe on every layer, at most once per
// keyframeRequestInterval however many subscribers ask.
func (r *Receiver) RequestKeyframe() {
	if r.info.Kind != webrtc.RTPCodecTypeVideo.String() {
		return
	}
	now := time.Now().UnixNano()
	last := r.lastRequest.Load()
	if now-last < int64(keyframeRequestInterval) || !r.lastRequest.CompareAndSwap(last, now) {
		return
	}
	r.mu.Lock()
	if r.closed.Load() {
		r.mu.Unlock()
		return
	}
	pkts := make([]rtcp.Packet, 0, len(r.layers))
	for _, l := range r.layers {
		pkts = append(pkts, &rtcp.PictureLossIndication{MediaSSRC: l.ssrc})
	}
	r.mu.Unlock()
	if err := r.publisher.WriteRTCP(pkts); err != nil {
		r.log.Debug("keyframe request failed", "err", err)
	}
}

// attach adds a DownTrack; false if the receiver is closed (the track is gone).
func (r *Receiver) attach(dt *DownTrack) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return false
	}
	old := *r.downTracks.Load()
	next := make([]*DownTrack, len(old), len(old)+1)
	copy(next, old)
	next = append(next, dt)
	r.downTracks.Store(&next)
	return true
}

// detach removes a DownTrack.
func (r *Receiver) detach(dt *DownTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.downTracks.Load()
	next := make([]*DownTrack, 0, len(old))
	for _, d := range old {
		if d != dt {
			next = append(next, d)
		}
	}
	r.downTracks.Store(&next)
}

// close stops forwarding. The layer readers exit when the publisher's PeerConnection closes or at their
// next packet.
func (r *Receiver) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed.Store(true)
	empty := []*DownTrack{}
	r.downTracks.Store(&empty)
}

// kindOf returns "audio" or "video" for a pion codec type.
func kindOf(t webrtc.RTPCodecType) string { return strings.ToLower(t.String()) }
