// Package media synthesizes RTP that loads an SFU like real encoders do, without encoding anything:
// VP8 frames with valid payload descriptors (keyframes marked, several packets per frame, keyframes larger
// than delta frames) and Opus-sized audio every 20 ms. Every packet's payload carries its send time, so a
// receiver on the same host can measure one-way latency (SentAt). A Simulcast (simulcast.go) sends several
// VP8 layers of one track, each packet tagged with its layer (LayerOf), and the Opus source can carry the
// RFC 6464 audio level header extension. Video can be paced like a browser's sender (pace.go), and real
// IVF (VP8) and Ogg (Opus) files can be replayed instead (clip.go, replay.go).
//
// Locking: a Source, Simulcast or Replay is driven by one call of Run (which owns the RTP state: sequence
// numbers, timestamps, picture ids, the pacer); SetPacing is called before Run; RequestKeyframe,
// SetLayerActive, SetAudioLevel, SetAudioLevelExtensionID and Sent may be called from any goroutine at any
// time, they only touch atomics. A Clip is immutable once parsed and shared freely. Run's goroutines end
// when its ctx ends.
package media

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu/codec"
)

// maxPayload keeps packets under a 1200-byte MTU budget, as browsers do.
const maxPayload = 1100

// stampSize is the send-time stamp at the start of every frame's first packet media bytes.
const stampSize = 8

// Spec describes a synthetic stream.
type Spec struct {
	Kind             webrtc.RTPCodecType
	H264             bool          // video: H.264 (single NAL unit packets) instead of VP8
	BitrateBps       int           // video: average bitrate
	FPS              int           // video: frames per second
	KeyframeInterval time.Duration // video: a keyframe this often (and when asked)
}

// Source writes one synthetic stream into a pion track.
type Source struct {
	spec      Spec
	track     *webrtc.TrackLocalStaticRTP
	wantKey   atomic.Bool
	sentPkts  atomic.Uint64
	sentBytes atomic.Uint64

	audioLevelStamp // audio sources

	pacing Pacing // video; set before Run
}

// DefaultAudioLevel is the level a new Opus source reports once its extension id is set: -30 dBov,
// voice active, i.e. somebody talking at a normal level.
const DefaultAudioLevel = 30

// H264Fmtp is the H.264 profile the synthetic source declares: constrained baseline, packetization mode 1,
// what browsers offer first.
const H264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// NewVP8 returns a video source and its track: VP8, or H.264 when spec.H264 is set.
func NewVP8(trackID, streamID string, spec Spec) (*Source, error) {
	spec.Kind = webrtc.RTPCodecTypeVideo
	if spec.FPS == 0 {
		spec.FPS = 30
	}
	if spec.BitrateBps == 0 {
		spec.BitrateBps = 500_000
	}
	if spec.KeyframeInterval == 0 {
		spec.KeyframeInterval = 3 * time.Second
	}
	capability := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	if spec.H264 {
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: H264Fmtp}
	}
	track, err := webrtc.NewTrackLocalStaticRTP(capability, trackID, streamID)
	if err != nil {
		return nil, fmt.Errorf("media: video track: %w", err)
	}
	return &Source{spec: spec, track: track}, nil
}

// NewOpus returns an Opus-like audio source (one ~64-byte packet every 20 ms) and its track.
func NewOpus(trackID, streamID string) (*Source, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, trackID, streamID)
	if err != nil {
		return nil, fmt.Errorf("media: opus track: %w", err)
	}
	s := &Source{spec: Spec{Kind: webrtc.RTPCodecTypeAudio}, track: track}
	s.SetAudioLevel(DefaultAudioLevel, true)
	return s, nil
}

// audioLevelStamp is the RFC 6464 audio level an audio source writes on every packet; Source and Replay
// embed it. Its setters may be called from any goroutine while the source runs.
type audioLevelStamp struct {
	extID atomic.Uint32 // the negotiated extension id, 0 until set (no extension written)
	level atomic.Uint32 // the RFC 6464 byte: voice flag in bit 7, level (-dBov, 0..127) below
}

// SetAudioLevel sets the level every following audio packet reports: dBov is the level in -dBov (0 is
// the loudest, 127 silence; larger values are clamped), voice the RFC 6464 voice activity flag.
func (a *audioLevelStamp) SetAudioLevel(dBov uint8, voice bool) {
	v := uint32(min(dBov, 127))
	if voice {
		v |= 0x80
	}
	a.level.Store(v)
}

// SetAudioLevelExtensionID sets the header extension id negotiated for
// urn:ietf:params:rtp-hdrext:ssrc-audio-level (see client.LocalTrack.OnHeaderExtensions). Until it is set,
// or after it is set to 0, packets carry no extension.
func (a *audioLevelStamp) SetAudioLevelExtensionID(id uint8) { a.extID.Store(uint32(id)) }

// stampAudioLevel rewrites the header's extensions from scratch: the interceptors downstream add their
// own (e.g. transport-wide sequence numbers) to this same header, and the id may have changed since.
func (a *audioLevelStamp) stampAudioLevel(h *rtp.Header) error {
	return writeAudioLevel(h, uint8(a.extID.Load()), a.level.Load())
}

// Track is the pion track to publish.
func (s *Source) Track() *webrtc.TrackLocalStaticRTP { return s.track }

// RequestKeyframe makes the next video frame a keyframe (wire it to PLI/FIR).
func (s *Source) RequestKeyframe() { s.wantKey.Store(true) }

// Sent returns how many packets and bytes were written.
func (s *Source) Sent() (packets, bytes uint64) { return s.sentPkts.Load(), s.sentBytes.Load() }

// SetPacing makes Run pace a video stream's frames at p (see Pacing). Call it before Run.
func (s *Source) SetPacing(p Pacing) { s.pacing = p }

// Run writes the stream until ctx ends.
func (s *Source) Run(ctx context.Context) error {
	if s.spec.Kind == webrtc.RTPCodecTypeAudio {
		return s.runAudio(ctx)
	}
	return s.runVideo(ctx)
}

func (s *Source) runAudio(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 64)}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		pkt.Payload[0] = 0xfc // an Opus TOC byte: CELT, 20 ms
		stamp(pkt.Payload[1:])
		pkt.Timestamp += 960
		if err := s.stampAudioLevel(&pkt.Header); err != nil {
			return err
		}
		if err := s.write(pkt); err != nil {
			return err
		}
	}
}

func (s *Source) runVideo(ctx context.Context) error {
	interval := time.Second / time.Duration(s.spec.FPS)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	pace := newPacer(s.pacing, s.spec.BitrateBps)
	defer pace.stop()
	clock := frameClock{interval: interval}
	frameBytes := s.spec.BitrateBps / 8 / s.spec.FPS
	lastKey := time.Time{}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2}}
	buf := make([]byte, maxPayload)
	var picture uint16
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if pace != nil { // a paced frame may outlast its interval: skip the frames it crowded out
			pkt.Timestamp += uint32(clock.skipped(time.Now())) * uint32(90000/s.spec.FPS)
		}
		key := s.wantKey.Swap(false) || time.Since(lastKey) >= s.spec.KeyframeInterval
		size := frameBytes
		if key {
			lastKey = time.Now()
			size = frameBytes * 5 // keyframes are several times larger than delta frames
		}
		picture = (picture + 1) & 0x7fff
		pkt.Timestamp += uint32(90000 / s.spec.FPS)
		for sent := 0; sent < size; {
			chunk := min(size-sent, maxPayload-vp8DescriptorSize)
			first := sent == 0
			var n int
			if s.spec.H264 {
				n = writeH264Packet(buf, first, key, chunk)
			} else {
				n = writeVP8Packet(buf, picture, first, key, chunk)
			}
			pkt.Payload = buf[:n]
			sent += chunk
			pkt.Marker = sent >= size
			if !pace.wait(ctx, n+12) {
				return nil
			}
			if err := s.write(pkt); err != nil {
				return err
			}
		}
	}
}

// vp8DescriptorSize is the descriptor we write: X=1, I=1 with a 15-bit picture id.
const vp8DescriptorSize = 4

// writeVP8Packet fills buf with a VP8 payload descriptor and chunk media bytes and returns the length.
// The first packet of a frame starts with the VP8 payload header's P bit (0 = keyframe) and a send stamp.
func writeVP8Packet(buf []byte, picture uint16, first, key bool, chunk int) int {
	buf[0] = 0x80 // X
	if first {
		buf[0] |= 0x10 // S, partition 0
	}
	buf[1] = 0x80 // I
	buf[2] = 0x80 | byte(picture>>8)
	buf[3] = byte(picture)
	media := buf[vp8DescriptorSize : vp8DescriptorSize+chunk]
	for i := range media {
		media[i] = 0
	}
	if first && len(media) >= 1+stampSize {
		if !key {
			media[0] = 0x01 // P=1: inter frame
		}
		stamp(media[1:])
	}
	return vp8DescriptorSize + chunk
}

// writeH264Packet fills buf with one single-NAL-unit packet: an IDR slice (type 5) in keyframes, a
// non-IDR slice (type 1) otherwise; the first packet of a frame carries a send stamp after the NAL header.
func writeH264Packet(buf []byte, first, key bool, chunk int) int {
	buf[0] = 0x61 // nal_ref_idc 3, type 1
	if key {
		buf[0] = 0x65 // type 5: IDR
	}
	media := buf[1 : 1+chunk]
	for i := range media {
		media[i] = 0
	}
	if first && len(media) >= stampSize {
		stamp(media)
	}
	return 1 + chunk
}

// writeAudioLevel replaces h's extensions with the audio level extension under id (none when id is 0);
// v packs the RFC 6464 byte as audioLevelStamp.level does.
func writeAudioLevel(h *rtp.Header, id uint8, v uint32) error {
	h.Extension, h.Extensions = false, h.Extensions[:0]
	if id == 0 {
		return nil
	}
	ext, err := rtp.AudioLevelExtension{Level: uint8(v & 0x7f), Voice: v&0x80 != 0}.Marshal()
	if err != nil {
		return fmt.Errorf("media: audio level: %w", err)
	}
	h.Extension, h.ExtensionProfile = true, rtp.ExtensionProfileOneByte
	if id > 14 { // one-byte extension ids stop at 14 (RFC 8285)
		h.ExtensionProfile = rtp.ExtensionProfileTwoByte
	}
	if err := h.SetExtension(id, ext); err != nil {
		return fmt.Errorf("media: audio level extension %d: %w", id, err)
	}
	return nil
}

func stamp(b []byte) { binary.BigEndian.PutUint64(b, uint64(time.Now().UnixNano())) }

func (s *Source) write(pkt *rtp.Packet) error {
	pkt.SequenceNumber++
	if err := s.track.WriteRTP(pkt); err != nil {
		return fmt.Errorf("media: write: %w", err)
	}
	s.sentPkts.Add(1)
	s.sentBytes.Add(uint64(len(pkt.Payload) + 12))
	return nil
}

// SentAt returns the send time stamped in a synthetic packet's payload, if it carries one: every audio
// packet and the first packet of every video frame, single-layer or simulcast (whose descriptor is longer;
// the stamp follows the descriptor and the VP8 payload header byte in both).
func SentAt(kind codec.Kind, payload []byte) (time.Time, bool) {
	switch kind {
	case codec.KindVP8:
		d, err := codec.ParseVP8Descriptor(payload)
		if err != nil || !d.Start || len(payload) < d.HeaderSize+1+stampSize {
			return time.Time{}, false
		}
		return time.Unix(0, int64(binary.BigEndian.Uint64(payload[d.HeaderSize+1:]))), true
	case codec.KindOther:
		if len(payload) < 1+stampSize {
			return time.Time{}, false
		}
		return time.Unix(0, int64(binary.BigEndian.Uint64(payload[1:]))), true
	}
	return time.Time{}, false
}

// IsKeyframe reports whether a synthetic (or real) VP8 payload starts a keyframe.
func IsKeyframe(payload []byte) bool { return codec.IsKeyframe(codec.KindVP8, payload) }
