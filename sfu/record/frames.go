package record

import (
	"fmt"
	"time"

	"github.com/huddlehq/huddle/sfu/codec"
)

const (
	// blockOverhead bounds what the container adds around one frame: a SimpleBlock header (ID, 8-byte size
	// at most, track, timecode, flags) and possibly a new Cluster (ID, unknown size, Timecode, PrevSize).
	blockOverhead = 16 + 32
	// trailerBytes bounds what Close appends: the block writer's closing empty Cluster.
	trailerBytes = 64
)

// lost handles a frame the builder gave up for good: a hole in the media if something was written already.
// Video must then wait for a keyframe, since the next delta frames reference what is missing.
func (w *TrackWriter) lost() {
	if w.frames > 0 && !w.needKey {
		w.gaps++
	}
	if w.kind != kindOpus {
		w.needKey = true
	}
}

// writeFrame writes one complete frame (Annex B for H.264) with the RTP timestamp ts. dur is the builder's
// estimate (time to the next frame; 0 for the last one).
func (w *TrackWriter) writeFrame(data []byte, ts uint32, dur time.Duration) {
	if len(data) == 0 {
		return // a padding-only packet
	}
	var (
		key           bool
		width, height int
		ticks         int64 // this frame's duration, 0 if unknown
	)
	switch w.kind {
	case kindOpus:
		key = true
		ticks = int64(codec.OpusSamples(data)) * int64(w.clockRate) / 48000
	case kindVP8:
		key, width, height = vp8Keyframe(data)
	case kindH264:
		data, key, width, height = w.h264.frame(data)
		if len(data) == 0 {
			return
		}
	}
	if key && w.bw == nil && w.kind != kindOpus && (width <= 0 || height <= 0) {
		key = false // the track header needs the picture size (an H.264 SPS this parser cannot read)
	}
	if w.needKey && !key {
		return // a delta frame after a hole (or before the first keyframe) would decode to garbage
	}
	if ticks == 0 && dur > 0 && dur < time.Second {
		ticks = int64(dur) * int64(w.clockRate) / int64(time.Second)
	}

	ext := int64(0)
	if w.bw != nil {
		delta := int64(int32(ts - w.lastTS)) // wrap-around safe
		switch {
		case delta < -int64(w.clockRate):
			// The sender's clock jumped back (restart): continue the timeline right after the last frame.
			delta = max(w.lastTicks, 1)
		case delta < 0:
			return // a stale frame: Matroska blocks must not go back in time
		}
		ext = w.ext + delta
	}
	if w.opts.MaxBytes > 0 {
		// The block writer writes on its own goroutine: the previous frame may not be on disk yet.
		est := w.sink.size() + int64(w.lastLen+blockOverhead) + int64(len(data)+blockOverhead) + trailerBytes
		if w.bw == nil {
			est += 1024 // header estimate: EBML header, SeekHead, Info, Tracks with CodecPrivate
			if w.kind == kindOpus {
				est += audioCuesBytes
			}
		}
		if est > w.opts.MaxBytes {
			w.err = fmt.Errorf("%w: %s at %d bytes", ErrQuota, w.path, w.opts.MaxBytes)
			return
		}
	}
	if w.bw == nil {
		w.arrivals.first = w.lastSeen
		if at, ok := w.arrivals.lookup(ts); ok {
			w.arrivals.first = at
		}
		if err := w.start(width, height); err != nil {
			w.err = err
			return
		}
	}
	// The block writer's Write hands data to its goroutine and returns once it took the frame, which is
	// also after it finished writing the previous one: hence H.264's two alternating buffers.
	if _, err := w.bw.Write(key, ext*1000/int64(w.clockRate), data); err != nil {
		w.err = fmt.Errorf("record: %s: write frame: %w", w.path, err)
		return
	}
	if ticks == 0 && w.frames > 0 && ext > w.ext && ext-w.ext < int64(w.clockRate) {
		ticks = ext - w.ext // video: assume it lasts as long as the gap to the previous one
	}
	if ticks > 0 {
		w.lastTicks = ticks
	}
	w.frames++
	w.ext, w.lastTS, w.lastLen = ext, ts, len(data)
	if w.kind == kindH264 {
		w.h264.flip() // the buffer just written stays untouched until the next Write returns
	}
	if key {
		w.needKey = false
		if width > 0 && height > 0 {
			w.width, w.height = width, height
		}
	}
}
