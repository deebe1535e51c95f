package sfu

import (
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu/codec"
)

// keyframeRequestInterval throttles PLIs to a publisher per layer: every subscriber that needs a keyframe
// asks, the publisher hears at most one request per layer per interval (mediasoup uses 1 s, LiveKit ~500 ms).
const keyframeRequestInterval = 500 * time.Millisecond

// maxPacketSize bounds one RTP packet read from a publisher: pion's receive MTU is 1460.
const maxPacketSize = 1500

// maxLayers is the most simulcast layers a track may have.
const maxLayers = 4

// Receiver is one published track: its layers (one unless simulcast) and the DownTracks fed from it.
type Receiver struct {
	info      TrackInfo // immutable but for muted; Layers is the publisher's declaration, lowest first
	muted     atomic.Bool
	blocked   atomic.Bool // a moderator stopped this track: nothing is forwarded until unblocked
	codecKind codec.Kind
	codec     webrtc.RTPCodecParameters
	publisher *webrtc.PeerConnection // for keyframe requests
	counters  *counters
	log       *slog.Logger
	onEnded   func(*Receiver) // the publisher stopped sending every layer

	downTracks atomic.Pointer[[]*DownTrack] // copy-on-write; readers load, writers hold mu
	tap        atomic.Pointer[RecordTap]    // the track's recording, if any (recordtap.go)
	ended      chan struct{}                // closed by close: the track is gone
	layers     [maxLayers]atomic.Pointer[layerState]

	audio   audioLevels // microphone tracks: levels for active-speaker detection
	speaker atomic.Bool // the room's current main speaker publishes this (video gets priority)

	dynacast dynacast

	mu         sync.Mutex
	liveLayers int
	closed     atomic.Bool // set under mu; read lock-free by the layer readers
}

// layerState is one layer (a rid, or the only stream) of a track.
type layerState struct {
	index     int
	rid       string
	ssrc      uint32
	cache     *packetCache   // video only
	keyframes *keyframeStore // video only; owned by the layer's reader
	lastKey   atomic.Int64   // unix nanos of the last keyframe request to the publisher
	bytes     atomic.Uint64
	lastPkt   atomic.Int64 // unix nanos of the last packet
	sr        atomic.Pointer[senderReport]
	audioExt  uint8 // audio-level header extension id, 0 if not negotiated
	sampleMu  sync.Mutex
	sampleAt  time.Time
	sampleB   uint64
	bitrate   int
}

// senderReport is the publisher's latest NTP↔RTP mapping for a layer, and when it arrived.
type senderReport struct {
	ntp     uint64
	rtp     uint32
	arrived int64 // unix nanos
}

// packet is one RTP packet as a layer reader hands it to DownTracks. It and its buffers belong to the
// reader goroutine and are reused for the next packet: DownTracks must not keep them.
type packet struct {
	layer    int
	raw      []byte
	header   rtp.Header
	payload  []byte // after the header, including any padding bytes
	keyframe bool
	vp8      vp8Fields
	hasVP8   bool
	out      outHeader // scratch for the rewritten header, so writing allocates nothing
	outBuf   [maxPacketSize]byte
	spare    *packet // scratch for replaying stored packets while this one is being forwarded
}

// vp8Fields returns the packet's VP8 descriptor fields, or nil if it is not VP8.
func (p *packet) vp8Fields() *vp8Fields {
	if p.hasVP8 {
		return &p.vp8
	}
	return nil
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
	r.ended = make(chan struct{})
	r.dynacast.init(r)
	return r
}

// Info returns a snapshot of the track's description.
func (r *Receiver) Info() TrackInfo {
	info := r.info
	info.Muted = r.muted.Load()
	info.Simulcast = len(info.Layers) > 1
	return info
}

func (r *Receiver) isVideo() bool { return r.info.Kind == kindOf(webrtc.RTPCodecTypeVideo) }

// layerCount is how many layers the track has or will have.
func (r *Receiver) layerCount() int { return max(len(r.info.Layers), 1) }

// layerIndex places a rid among the declared layers, lowest quality first.
func layerIndex(rid string, declared []LayerSpec) int {
	for i, l := range declared {
		if l.RID == rid {
			return i
		}
	}
	return -1
}

// addLayer starts reading one layer (a rid, or the only stream) of the track.
func (r *Receiver) addLayer(track *webrtc.TrackRemote, rtpReceiver *webrtc.RTPReceiver) {
	idx := 0
	if track.RID() != "" {
		idx = layerIndex(track.RID(), r.info.Layers)
	}
	if idx < 0 || idx >= maxLayers {
		r.log.Warn("ignoring an undeclared simulcast layer", "rid", track.RID())
		go drainTrack(track, rtpReceiver)
		return
	}
	l := newLayerState(idx, track.RID(), uint32(track.SSRC()), r.isVideo())
	if !r.isVideo() {
		l.audioExt = extensionID(rtpReceiver, sdp.AudioLevelURI)
	}
	r.mu.Lock()
	if r.closed.Load() || r.layers[idx].Load() != nil {
		r.mu.Unlock()
		go drainTrack(track, rtpReceiver)
		return
	}
	r.layers[idx].Store(l)
	r.liveLayers++
	r.mu.Unlock()

	go r.readRTCP(rtpReceiver, l)
	go r.readRTP(l, track)
}

func newLayerState(index int, rid string, ssrc uint32, video bool) *layerState {
	l := &layerState{index: index, rid: rid, ssrc: ssrc, sampleAt: time.Now()}
	if video {
		l.cache = newPacketCache()
		l.keyframes = newKeyframeStore()
	}
	return l
}

func extensionID(rtpReceiver *webrtc.RTPReceiver, uri string) uint8 {
	for _, e := range rtpReceiver.GetParameters().HeaderExtensions {
		if e.URI == uri {
			return uint8(e.ID)
		}
	}
	return 0
}

// drainTrack reads and discards a layer we do not forward, so pion's buffers do not fill.
func drainTrack(track *webrtc.TrackRemote, rtpReceiver *webrtc.RTPReceiver) {
	buf := make([]byte, maxPacketSize)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
	}
}

// readRTP is the hot path: one goroutine per layer, ended when the track's stream ends.
func (r *Receiver) readRTP(l *layerState, track *webrtc.TrackRemote) {
	defer r.layerEnded()
	buf := make([]byte, maxPacketSize)
	pkt := &packet{layer: l.index, spare: &packet{layer: l.index}}
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
		r.receive(l, pkt, time.Now().UnixNano())
	}
}

// receive caches, measures and forwards one parsed packet of layer l.
func (r *Receiver) receive(l *layerState, pkt *packet, now int64) {
	l.bytes.Add(uint64(len(pkt.raw)))
	l.lastPkt.Store(now)
	if l.cache != nil {
		l.cache.put(pkt.header.SequenceNumber, pkt.raw)
		l.keyframes.observe(pkt)
	}
	if l.audioExt != 0 {
		if ext := pkt.header.GetExtension(l.audioExt); len(ext) > 0 {
			r.audio.add(ext[0])
		}
	}
	r.forward(pkt, now)
}

// forward hands one packet to every DownTrack and counts it.
func (r *Receiver) forward(pkt *packet, now int64) {
	r.counters.packetsIn.Add(1)
	r.counters.bytesIn.Add(uint64(len(pkt.raw)))
	if r.blocked.Load() {
		return
	}
	packets, bytes := 0, 0
	for _, dt := range *r.downTracks.Load() {
		n, b := dt.writeRTP(pkt, now)
		packets += n
		bytes += b
	}
	if packets > 0 {
		r.counters.packetsOut.Add(uint64(packets))
		r.counters.bytesOut.Add(uint64(bytes))
	}
	if t := r.tap.Load(); t != nil {
		t.offer(pkt, now)
	}
}

// parse fills pkt from a raw RTP packet; false means the packet is malformed and is dropped.
func (p *packet) parse(raw []byte, kind codec.Kind) bool {
	hl, err := p.header.Unmarshal(raw)
	if err != nil || hl > len(raw) {
		return false
	}
	p.raw = raw
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
	p.hasVP8 = kind == codec.KindVP8 && len(media) > 0 && p.vp8.parse(media)
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

// readRTCP drains the publisher's RTCP for one layer, keeping its sender reports for lip sync: pion's
// interceptors only see what is read.
func (r *Receiver) readRTCP(rtpReceiver *webrtc.RTPReceiver, l *layerState) {
	for {
		var (
			pkts []rtcp.Packet
			err  error
		)
		if l.rid == "" {
			pkts, _, err = rtpReceiver.ReadRTCP()
		} else {
			pkts, _, err = rtpReceiver.ReadSimulcastRTCP(l.rid)
		}
		if err != nil {
			return
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == l.ssrc {
				l.sr.Store(&senderReport{ntp: sr.NTPTime, rtp: sr.RTPTime, arrived: time.Now().UnixNano()})
			}
		}
	}
}

// RequestKeyframe asks the publisher for a keyframe on every layer (throttled per layer).
func (r *Receiver) RequestKeyframe() {
	for i := range r.layers {
		r.requestKeyframe(i)
	}
}

// requestKeyframe asks the publisher for a keyframe on one layer, at most once per
// keyframeRequestInterval however many subscribers ask. Safe from the media path: it takes no lock and
// only writes RTCP when the throttle lets a request through.
func (r *Receiver) requestKeyframe(layer int) {
	if !r.isVideo() || layer < 0 || layer >= maxLayers || r.closed.Load() {
		return
	}
	l := r.layers[layer].Load()
	if l == nil {
		return
	}
	now := time.Now().UnixNano()
	last := l.lastKey.Load()
	if now-last < int64(keyframeRequestInterval) || !l.lastKey.CompareAndSwap(last, now) {
		return
	}
	if r.publisher == nil {
		return
	}
	r.counters.keyframeRequests.Add(1)
	if err := r.publisher.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}}); err != nil {
		r.log.Debug("keyframe request failed", "err", err, "rid", l.rid)
	}
}

// layerBitrates fills dst (one entry per layer index) with each layer's measured bitrate in bits per
// second over the last second or so; 0 for a layer not flowing.
func (r *Receiver) layerBitrates(dst []int) {
	now := time.Now()
	for i := range dst {
		dst[i] = 0
		if i >= maxLayers {
			continue
		}
		l := r.layers[i].Load()
		if l == nil {
			continue
		}
		dst[i] = l.measure(now)
	}
}

// measure returns the layer's bitrate: sampled every 500 ms and smoothed over a few seconds, so that a
// keyframe (several times a delta frame) does not look like a rise. A layer silent for a second (paused
// by dynacast, or its encoder starved) measures 0.
func (l *layerState) measure(now time.Time) int {
	l.sampleMu.Lock()
	defer l.sampleMu.Unlock()
	if d := now.Sub(l.sampleAt); d >= 500*time.Millisecond {
		b := l.bytes.Load()
		sample := int(float64(b-l.sampleB) * 8 / d.Seconds())
		if l.bitrate == 0 {
			l.bitrate = sample
		} else {
			l.bitrate = (3*l.bitrate + sample) / 4
		}
		l.sampleB, l.sampleAt = b, now
	}
	if now.UnixNano()-l.lastPkt.Load() > int64(time.Second) {
		l.bitrate = 0
		return 0
	}
	return l.bitrate
}

// restartDownTracks makes every subscriber wait for a keyframe and asks for one: forwarding resumes
// after a gap (a moderator's block) and must not continue mid-frame.
func (r *Receiver) restartDownTracks() {
	for _, dt := range *r.downTracks.Load() {
		dt.restart()
	}
	if t := r.tap.Load(); t != nil {
		t.mu.Lock()
		t.fwd.restart()
		t.mu.Unlock()
	}
	r.RequestKeyframe()
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
	old := *r.downTracks.Load()
	next := make([]*DownTrack, 0, len(old))
	for _, d := range old {
		if d != dt {
			next = append(next, d)
		}
	}
	r.downTracks.Store(&next)
	r.mu.Unlock()
	r.dynacast.update()
}

// close stops forwarding. The layer readers exit when the publisher's PeerConnection closes or at their
// next packet.
func (r *Receiver) close() {
	r.mu.Lock()
	if !r.closed.Load() {
		close(r.ended)
	}
	r.closed.Store(true)
	empty := []*DownTrack{}
	r.downTracks.Store(&empty)
	r.mu.Unlock()
	r.dynacast.stop()
}

// kindOf returns "audio" or "video" for a pion codec type.
func kindOf(t webrtc.RTPCodecType) string { return strings.ToLower(t.String()) }
