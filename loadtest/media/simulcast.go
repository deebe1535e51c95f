package media

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu/codec"
)

// LayerSpec is one synthetic simulcast layer.
type LayerSpec struct {
	RID           string
	Width, Height int
	BitrateBps    int
	FPS           int
}

// DefaultSimulcast returns the three layers a browser sends for a 720p camera, lowest first:
// q 320x180 150 kbps 15 fps, h 640x360 500 kbps 20 fps, f 1280x720 1.7 Mbps 30 fps.
func DefaultSimulcast() []LayerSpec {
	return []LayerSpec{
		{RID: "q", Width: 320, Height: 180, BitrateBps: 150_000, FPS: 15},
		{RID: "h", Width: 640, Height: 360, BitrateBps: 500_000, FPS: 20},
		{RID: "f", Width: 1280, Height: 720, BitrateBps: 1_700_000, FPS: 30},
	}
}

// MaxSimulcastLayers is the most layers a Simulcast sends, as the protocol allows.
const MaxSimulcastLayers = 4

// Simulcast payload layout. Every packet of a simulcast layer is
//
//	byte 0     X=1, S (first packet of a frame), PID=0
//	byte 1     I=1, L=1, T=1, K=0
//	bytes 2-3  M=1 and the 15-bit PictureID
//	byte 4     TL0PICIDX
//	byte 5     TID=0, Y=1 (every frame is base layer, so every frame is a layer sync)
//
// followed by the media bytes. In the first packet of a frame the media bytes start with the VP8 payload
// header byte (P bit: 0 = keyframe) and the 8-byte send stamp (SentAt), then the layer tag; in every other
// packet the layer tag is the first media byte. The tag is layerTagMagic|index (index 0 = lowest layer in
// the low nibble), so a synthetic single-layer packet, whose media bytes are zero, has no tag. The rest of
// the media bytes are zero.
const (
	simulcastDescriptorSize = 6
	layerTagMagic           = 0xa0
	// firstPacketMedia is what the first packet of a frame needs after the descriptor.
	firstPacketMedia = 1 + stampSize + 1
)

// Simulcast writes several synthetic VP8 layers of one track, one pion track per layer (the rid tells
// them apart). Each layer starts its sequence number, RTP timestamp, PictureID and TL0PICIDX at
// independent random values, as separate encoders do, so whoever forwards them must rewrite.
//
// Sending simulcast also needs the mid and rid header extensions on every packet; that is the sender's
// job (signaling/client stamps them when publishing LocalTrack.Layers), not the source's.
type Simulcast struct {
	keyInterval time.Duration
	layers      []*layer
	running     atomic.Bool
	pacing      Pacing // set before Run
}

// layer is one encoding. The atomics are shared; the rest belongs to the goroutine Run starts for it.
type layer struct {
	index     int
	spec      LayerSpec
	track     *webrtc.TrackLocalStaticRTP
	active    atomic.Bool
	wantKey   atomic.Bool
	sentPkts  atomic.Uint64
	sentBytes atomic.Uint64

	seq     uint16
	ts      uint32
	picture uint16
	tl0     uint8
	lastKey time.Time
	pacer   *pacer // nil: frames go out in one burst
	clock   frameClock
}

// NewSimulcast returns a source of the given layers (lowest first, at most MaxSimulcastLayers, distinct
// non-empty rids) of one video track. keyframeInterval 0 means 3 s.
func NewSimulcast(trackID, streamID string, layers []LayerSpec, keyframeInterval time.Duration) (*Simulcast, error) {
	if len(layers) == 0 || len(layers) > MaxSimulcastLayers {
		return nil, fmt.Errorf("media: simulcast needs 1 to %d layers, got %d", MaxSimulcastLayers, len(layers))
	}
	if keyframeInterval <= 0 {
		keyframeInterval = 3 * time.Second
	}
	s := &Simulcast{keyInterval: keyframeInterval}
	seen := make(map[string]bool, len(layers))
	for i, spec := range layers {
		if spec.RID == "" || seen[spec.RID] {
			return nil, fmt.Errorf("media: simulcast layer %d: rid %q is empty or repeated", i, spec.RID)
		}
		seen[spec.RID] = true
		if spec.FPS <= 0 || spec.FPS > 90000 {
			spec.FPS = 30
		}
		if spec.BitrateBps <= 0 {
			spec.BitrateBps = 500_000
		}
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			trackID, streamID, webrtc.WithRTPStreamID(spec.RID))
		if err != nil {
			return nil, fmt.Errorf("media: simulcast layer %s: %w", spec.RID, err)
		}
		l := &layer{index: i, spec: spec, track: track,
			seq: uint16(rand.Uint32()), ts: rand.Uint32(), picture: uint16(rand.Uint32()) & 0x7fff, tl0: uint8(rand.Uint32())}
		l.active.Store(true)
		s.layers = append(s.layers, l)
	}
	return s, nil
}

// Tracks returns one pion track per layer, in the order of the specs; all share the track and stream id.
func (s *Simulcast) Tracks() []*webrtc.TrackLocalStaticRTP {
	out := make([]*webrtc.TrackLocalStaticRTP, len(s.layers))
	for i, l := range s.layers {
		out[i] = l.track
	}
	return out
}

// Specs returns the layers as given to NewSimulcast (with defaults filled in), lowest first.
func (s *Simulcast) Specs() []LayerSpec {
	out := make([]LayerSpec, len(s.layers))
	for i, l := range s.layers {
		out[i] = l.spec
	}
	return out
}

func (s *Simulcast) layer(rid string) *layer {
	for _, l := range s.layers {
		if l.spec.RID == rid {
			return l
		}
	}
	return nil
}

// RequestKeyframe makes the next frame of layer rid a keyframe; "" means every layer. Unknown rids are
// ignored (a PLI may name a layer the sender no longer has).
func (s *Simulcast) RequestKeyframe(rid string) {
	for _, l := range s.layers {
		if rid == "" || l.spec.RID == rid {
			l.wantKey.Store(true)
		}
	}
}

// SetLayerActive starts or stops sending one layer (dynacast). A stopped layer sends nothing, while its RTP
// clock keeps running; when it starts again its first frame is a keyframe, since a receiver has missed the
// frames in between. Unknown rids are ignored.
func (s *Simulcast) SetLayerActive(rid string, active bool) {
	l := s.layer(rid)
	if l == nil {
		return
	}
	if !l.active.Swap(active) && active {
		l.wantKey.Store(true)
	}
}

// Sent returns how many packets and bytes (with a 12-byte RTP header each) layer rid has written.
func (s *Simulcast) Sent(rid string) (packets, bytes uint64) {
	l := s.layer(rid)
	if l == nil {
		return 0, 0
	}
	return l.sentPkts.Load(), l.sentBytes.Load()
}

// SetPacing makes Run pace each layer's frames at p (see Pacing; each layer at its own bitrate). Call it
// before Run.
func (s *Simulcast) SetPacing(p Pacing) { s.pacing = p }

// Run writes every layer, one goroutine each, until ctx ends (it then returns nil) or a write fails (it
// stops every layer and returns the error). Run may be called once.
func (s *Simulcast) Run(ctx context.Context) error {
	if s.running.Swap(true) {
		return errors.New("media: simulcast already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for _, l := range s.layers {
		l.pacer = newPacer(s.pacing, l.spec.BitrateBps)
		wg.Go(func() {
			if err := l.run(ctx, s.keyInterval); err != nil {
				errMu.Lock()
				if first == nil {
					first = err
				}
				errMu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	return first
}

func (l *layer) run(ctx context.Context, keyInterval time.Duration) error {
	interval := time.Second / time.Duration(l.spec.FPS)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	defer l.pacer.stop()
	l.clock = frameClock{interval: interval}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2}}
	buf := make([]byte, maxPayload)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := time.Now()
		if l.pacer != nil { // a paced frame may outlast its interval: skip the frames it crowded out
			l.ts += uint32(l.clock.skipped(now)) * uint32(90000/l.spec.FPS)
		}
		if err := l.tickCtx(ctx, now, keyInterval, pkt, buf); err != nil {
			return err
		}
	}
}

// tick advances the layer's clock by one frame and, if the layer is active, sends that frame.
func (l *layer) tick(now time.Time, keyInterval time.Duration, pkt *rtp.Packet, buf []byte) error {
	return l.tickCtx(context.Background(), now, keyInterval, pkt, buf)
}

func (l *layer) tickCtx(ctx context.Context, now time.Time, keyInterval time.Duration, pkt *rtp.Packet, buf []byte) error {
	l.ts += uint32(90000 / l.spec.FPS)
	if !l.active.Load() {
		return nil
	}
	key := l.wantKey.Swap(false) || now.Sub(l.lastKey) >= keyInterval
	if key {
		l.lastKey = now
	}
	return l.sendFrame(ctx, key, pkt, buf)
}

// sendFrame packetizes one frame of ~bitrate/fps bytes (5x that for a keyframe), paced if the layer is.
// When ctx ends while it waits for the pacer, the rest of the frame is not sent.
func (l *layer) sendFrame(ctx context.Context, key bool, pkt *rtp.Packet, buf []byte) error {
	size := l.spec.BitrateBps / 8 / l.spec.FPS
	if key {
		size *= 5
	}
	size = max(size, firstPacketMedia)
	l.picture = (l.picture + 1) & 0x7fff
	l.tl0++ // every frame is TID 0, so each one is a new base-layer picture
	pkt.Timestamp = l.ts
	for sent := 0; sent < size; {
		chunk := min(size-sent, maxPayload-simulcastDescriptorSize)
		n := writeSimulcastVP8(buf, l.picture, l.tl0, l.index, sent == 0, key, chunk)
		pkt.Payload = buf[:n]
		sent += chunk
		pkt.Marker = sent >= size
		if !l.pacer.wait(ctx, n+12) {
			return nil
		}
		pkt.SequenceNumber = l.seq
		l.seq++
		if err := l.track.WriteRTP(pkt); err != nil {
			return fmt.Errorf("media: write layer %s: %w", l.spec.RID, err)
		}
		l.sentPkts.Add(1)
		l.sentBytes.Add(uint64(n + 12))
	}
	return nil
}

// writeSimulcastVP8 fills buf with the 6-byte descriptor and chunk media bytes laid out as described at
// simulcastDescriptorSize, and returns the payload length. A first packet needs chunk >= firstPacketMedia.
func writeSimulcastVP8(buf []byte, picture uint16, tl0 uint8, index int, first, key bool, chunk int) int {
	buf[0] = 0x80 // X
	if first {
		buf[0] |= 0x10 // S, partition 0
	}
	buf[1] = 0x80 | 0x40 | 0x20 // I, L, T
	buf[2] = 0x80 | byte(picture>>8)
	buf[3] = byte(picture)
	buf[4] = tl0
	buf[5] = 0x20 // TID 0, Y=1
	media := buf[simulcastDescriptorSize : simulcastDescriptorSize+chunk]
	clear(media)
	tag := 0
	if first {
		if !key {
			media[0] = 0x01 // P=1: inter frame
		}
		stamp(media[1:])
		tag = 1 + stampSize
	}
	media[tag] = layerTagMagic | byte(index&0x0f)
	return simulcastDescriptorSize + chunk
}

// LayerOf returns the layer index (0 = lowest) tagged in a synthetic simulcast VP8 payload. It reports
// ok=false for anything else, including single-layer synthetic packets. It never panics on any input.
func LayerOf(payload []byte) (index int, ok bool) {
	d, err := codec.ParseVP8Descriptor(payload)
	if err != nil {
		return 0, false
	}
	at := d.HeaderSize
	if d.Start && d.PartitionID == 0 {
		at += 1 + stampSize
	}
	if at >= len(payload) || payload[at]&0xf0 != layerTagMagic {
		return 0, false
	}
	return int(payload[at] & 0x0f), true
}
