//go:build unix

package loadtest

import (
	"syscall"
	"time"
)

// selfCPUSeconds is the CPU time (user and system) this process has used: the load generator's own cost,
// which on a shared machine competes with the server's.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
