package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// speakerInterval is how often rooms' audio levels are read and active speakers announced at most.
	speakerInterval = 200 * time.Millisecond
	// speakingLoudness is the mean loudness (0 silence … 127 loudest, i.e. 127 - dBov) over one interval
	// above which a participant counts as speaking: about -50 dBov, above room noise, below quiet speech.
	speakingLoudness = 77
	// speakerHangover keeps someone listed through the short pauses between words.
	speakerHangover = 1200 * time.Millisecond
)

// audioLevels accumulates a microphone's RFC 6464 audio levels between two reads. The layer reader adds,
// the speaker detector takes; both lock-free.
type audioLevels struct {
	sum   atomic.Uint64
	count atomic.Uint64
}

// add records one packet's audio-level byte: V flag and level in -dBov (0 loudest, 127 silence).
func (a *audioLevels) add(b byte) {
	a.sum.Add(uint64(127 - b&0x7f))
	a.count.Add(1)
}

// take returns the mean loudness (0–127) since the last take, and whether any packet carried a level.
func (a *audioLevels) take() (float64, bool) {
	n := a.count.Swap(0)
	s := a.sum.Swap(0)
	if n == 0 {
		return 0, false
	}
	return float64(s) / float64(n), true
}

// speakerDetector is one goroutine for the whole node that reads every room's microphone levels each
// speakerInterval and tells a room's participants when the set of speakers changes. It ends with close.
type speakerDetector struct {
	sfu  *SFU
	done chan struct{}
	wg   sync.WaitGroup

	// Owned by the detector goroutine.
	lastHeard map[*Receiver]time.Time
	level     map[*Receiver]float64
}

func newSpeakerDetector(s *SFU) *speakerDetector {
	d := &speakerDetector{sfu: s, done: make(chan struct{}), lastHeard: map[*Receiver]time.Time{}, level: map[*Receiver]float64{}}
	d.wg.Add(1)
	go d.run()
	return d
}

func (d *speakerDetector) run() {
	defer d.wg.Done()
	tick := time.NewTicker(speakerInterval)
	defer tick.Stop()
	for {
		select {
		case <-d.done:
			return
		case now := <-tick.C:
			d.sfu.mu.Lock()
			rooms := make([]*Room, 0, len(d.sfu.rooms))
			for _, r := range d.sfu.rooms {
				rooms = append(rooms, r)
			}
			d.sfu.mu.Unlock()
			seen := make(map[*Receiver]bool, len(d.level))
			for _, r := range rooms {
				d.detect(r, now, seen)
			}
			for rcv := range d.level { // forget tracks that are gone
				if !seen[rcv] {
					delete(d.level, rcv)
					delete(d.lastHeard, rcv)
				}
			}
		}
	}
}

// detect updates one room's speakers from its microphones' levels.
func (d *speakerDetector) detect(r *Room, now time.Time, seen map[*Receiver]bool) {
	mics := r.microphones()
	speakers := make([]Speaker, 0, 4)
	for _, rcv := range mics {
		seen[rcv] = true
		loudness, ok := rcv.audio.take()
		if ok && loudness >= speakingLoudness && !rcv.muted.Load() {
			d.lastHeard[rcv] = now
			d.level[rcv] = loudness / 127
		}
		if heard, ok := d.lastHeard[rcv]; ok && now.Sub(heard) <= speakerHangover {
			speakers = append(speakers, Speaker{ParticipantID: rcv.info.ParticipantID, Level: d.level[rcv]})
		}
	}
	slices.SortStableFunc(speakers, func(a, b Speaker) int {
		switch {
		case a.Level > b.Level:
			return -1
		case a.Level < b.Level:
			return 1
		}
		return 0
	})
	r.setSpeakers(speakers)
}

func (d *speakerDetector) close() {
	select {
	case <-d.done:
	default:
		close(d.done)
	}
	d.wg.Wait()
}
