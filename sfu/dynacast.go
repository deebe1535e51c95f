package sfu

import (
	"sync"
	"time"
)

// dynacastDowngradeDelay is how long a layer nobody needs keeps flowing before the publisher is told to
// pause it: a subscriber flapping between layers must not make the publisher's encoder flap too.
const dynacastDowngradeDelay = 3 * time.Second

// dynacast pauses, at the publisher, simulcast layers above the highest one any subscriber is forwarded
// or about to be, and resumes them as soon as one is wanted. The lowest layer always flows, so a new
// subscriber starts without waiting for an encoder to wake up.
//
// Locking: mu guards the fields; notify is called without it held (it only queues a message).
type dynacast struct {
	r *Receiver

	mu      sync.Mutex
	notify  func(trackID string, layers []LayerState)
	sent    int // highest layer the publisher was last told to send; -1 before the first message
	timer   *time.Timer
	stopped bool
}

func (d *dynacast) init(r *Receiver) { d.r, d.sent = r, -1 }

// setNotify wires the publisher's event; dynacast is off until it is set.
func (d *dynacast) setNotify(f func(trackID string, layers []LayerState)) {
	d.mu.Lock()
	d.notify = f
	d.mu.Unlock()
	d.update()
}

// wanted is the highest layer any DownTrack's allocation chose or a recording needs (at least the
// lowest layer).
func (d *dynacast) wanted() int {
	want := 0
	for _, dt := range *d.r.downTracks.Load() {
		want = max(want, int(dt.want.Load()))
	}
	if t := d.r.tap.Load(); t != nil {
		want = max(want, t.want())
	}
	return min(want, d.r.layerCount()-1)
}

// update re-evaluates after a DownTrack's target changed: more layers at once, fewer after a delay.
func (d *dynacast) update() {
	if d.r.layerCount() < 2 {
		return
	}
	want := d.wanted()
	d.mu.Lock()
	if d.stopped || d.notify == nil {
		d.mu.Unlock()
		return
	}
	switch {
	case want == d.sent:
		if d.timer != nil {
			d.timer.Stop()
			d.timer = nil
		}
		d.mu.Unlock()
	case want > d.sent:
		if d.timer != nil {
			d.timer.Stop()
			d.timer = nil
		}
		d.applyLocked(want)
	default:
		if d.timer == nil {
			d.timer = time.AfterFunc(dynacastDowngradeDelay, d.fire)
		}
		d.mu.Unlock()
	}
}

// fire applies a downgrade that stayed wanted for dynacastDowngradeDelay.
func (d *dynacast) fire() {
	want := d.wanted()
	d.mu.Lock()
	d.timer = nil
	if d.stopped || want == d.sent {
		d.mu.Unlock()
		return
	}
	d.applyLocked(want)
}

// applyLocked records and announces the new highest layer; it releases d.mu before notifying.
func (d *dynacast) applyLocked(want int) {
	d.sent = want
	notify := d.notify
	d.mu.Unlock()
	layers := make([]LayerState, 0, len(d.r.info.Layers))
	for i, l := range d.r.info.Layers {
		layers = append(layers, LayerState{RID: l.RID, Active: i <= want})
	}
	d.r.log.Debug("dynacast", "highest", want)
	notify(d.r.info.ID, layers)
}

func (d *dynacast) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}
