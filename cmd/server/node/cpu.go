package node

import (
	"runtime"
	"sync"
	"time"
)

// CPUMeter measures the share of the machine's CPU this process used since the last call: the load a
// cluster node reports, and what the server's GOMAXPROCS adapts to. Safe for concurrent use.
type CPUMeter struct {
	mu       sync.Mutex
	lastCPU  time.Duration
	lastWall time.Time
}

// Share returns the CPU used since the previous call as a share of all cores (0..1); the first call
// returns 0.
func (m *CPUMeter) Share() float64 {
	cpu, ok := processCPU()
	if !ok {
		return 0
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	used, wall := cpu-m.lastCPU, now.Sub(m.lastWall)
	m.lastCPU, m.lastWall = cpu, now
	if wall <= 0 || wall > 24*time.Hour { // the first call
		return 0
	}
	return min(1, float64(used)/float64(wall)/float64(runtime.NumCPU()))
}
