package main

import (
	"context"
	"runtime"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
)

// Adaptive GOMAXPROCS. A forwarding node spends much of its CPU waking threads: every packet crosses
// several goroutines in pion's receive path, and with more than one P each handoff may wake another OS
// thread (futex, a spinning M looking for work). While the node's load fits in one core, one P forwards
// 20–30 % more packets per CPU-second (make bench SERVER_PROCS=1); once it needs more than one core,
// every core is worth its wake-ups. procsController moves between the two with hysteresis, looking at
// the CPU the process used over the last interval.

const (
	procsInterval = 2 * time.Second
	// Go wide when one P is this busy (share of one core), come back when all Ps together use less
	// than this much of one core: far enough apart that a steady load does not flap.
	procsWidenAt  = 0.75
	procsNarrowAt = 0.40
)

// procsController owns GOMAXPROCS while it runs (one goroutine, from run until ctx ends). It is the
// process's, not a node's: main runs it, unless GOMAXPROCS is set in the environment (the operator's
// choice wins) or -adaptive-procs=false.
type procsController struct {
	max   int // the machine's (or container's) default
	meter node.CPUMeter
	set   func(int) int // runtime.GOMAXPROCS
}

// nextProcs decides GOMAXPROCS from the current value and the cores' worth of CPU used.
func nextProcs(current, max int, coresUsed float64) int {
	switch {
	case current == 1 && coresUsed >= procsWidenAt:
		return max
	case current > 1 && coresUsed < procsNarrowAt:
		return 1
	}
	return current
}

func (p *procsController) run(ctx context.Context, log func(msg string, args ...any)) {
	if p.max <= 1 {
		return
	}
	p.set(1)
	current := 1
	p.meter.Share() // start the first interval now
	t := time.NewTicker(procsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.set(p.max)
			return
		case <-t.C:
		}
		cores := p.meter.Share() * float64(runtime.NumCPU())
		if next := nextProcs(current, p.max, cores); next != current {
			p.set(next)
			log("GOMAXPROCS adapted to the load", "procs", next, "cores_used", cores)
			current = next
		}
	}
}
