package media

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// replayMTU bounds a replayed packet, header included, as browsers do.
const replayMTU = 1200

// Replay sends a Clip in a loop, in real time, into one pion track: real VP8 frames packetized as
// RFC 7741 (with picture ids) or real Opus packets. Unlike the synthetic sources its payloads carry no
// send stamp, so receivers cannot measure latency on it (SentAt reports false or an implausible time).
type Replay struct {
	clip      *Clip
	track     *webrtc.TrackLocalStaticRTP
	wantKey   atomic.Bool
	running   atomic.Bool
	sentPkts  atomic.Uint64
	sentBytes atomic.Uint64
	loops     atomic.Uint64

	audioLevelStamp // audio clips
}

// NewReplay returns a source replaying clip and its track.
func NewReplay(clip *Clip, trackID, streamID string) (*Replay, error) {
	if clip == nil || len(clip.frames) == 0 {
		return nil, errors.New("media: replay: empty clip")
	}
	track, err := webrtc.NewTrackLocalStaticRTP(clip.capab, trackID, streamID)
	if err != nil {
		return nil, fmt.Errorf("media: replay track: %w", err)
	}
	r := &Replay{clip: clip, track: track}
	r.SetAudioLevel(DefaultAudioLevel, true)
	return r, nil
}

// Track is the pion track to publish.
func (r *Replay) Track() *webrtc.TrackLocalStaticRTP { return r.track }

// RequestKeyframe makes a video replay jump back to the clip's first keyframe at its next frame: a file
// has no keyframe on demand, and a jump in the picture is what a receiver that asks can live with.
func (r *Replay) RequestKeyframe() { r.wantKey.Store(true) }

// Sent returns how many packets and bytes (payload plus a 12-byte header each) were written.
func (r *Replay) Sent() (packets, bytes uint64) { return r.sentPkts.Load(), r.sentBytes.Load() }

// Loops is how many times the clip has been played to its end.
func (r *Replay) Loops() uint64 { return r.loops.Load() }

// Run sends the clip, looping, until ctx ends. Run may be called once.
func (r *Replay) Run(ctx context.Context) error {
	if r.running.Swap(true) {
		return errors.New("media: replay already running")
	}
	var payloader rtp.Payloader = &codecs.OpusPayloader{}
	if r.clip.kind == webrtc.RTPCodecTypeVideo {
		payloader = &codecs.VP8Payloader{EnablePictureID: true}
	}
	// Payload type and SSRC are the binding's: the track rewrites them on every write. The first
	// timestamp and sequence number are random, as an encoder's are.
	p := rtp.NewPacketizer(replayMTU, 0, 0, payloader, rtp.NewRandomSequencer(), r.clip.capab.ClockRate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := time.Now()
	for i := 0; ; {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if r.clip.kind == webrtc.RTPCodecTypeVideo && r.wantKey.Swap(false) {
			i = r.clip.firstKey
		}
		f := r.clip.frames[i]
		for _, pkt := range p.Packetize(f.data, f.duration) {
			if err := r.write(pkt); err != nil {
				return err
			}
		}
		if i++; i == len(r.clip.frames) {
			i = 0
			r.loops.Add(1)
		}
		// Keep to the clip's clock; after a stall (a suspended process) start afresh rather than burst.
		next = next.Add(time.Duration(uint64(f.duration) * uint64(time.Second) / uint64(r.clip.capab.ClockRate)))
		wait := time.Until(next)
		if wait < -time.Second {
			next, wait = time.Now(), 0
		}
		timer.Reset(max(wait, 0))
	}
}

func (r *Replay) write(pkt *rtp.Packet) error {
	if r.clip.kind == webrtc.RTPCodecTypeAudio {
		if err := r.stampAudioLevel(&pkt.Header); err != nil {
			return err
		}
	}
	if err := r.track.WriteRTP(pkt); err != nil {
		return fmt.Errorf("media: replay write: %w", err)
	}
	r.sentPkts.Add(1)
	r.sentBytes.Add(uint64(len(pkt.Payload) + 12))
	return nil
}
