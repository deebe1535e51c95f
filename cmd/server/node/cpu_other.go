//go:build !unix

package node

import "time"

// processCPU is not measured on this platform: the node reports no load and keeps its GOMAXPROCS.
func processCPU() (time.Duration, bool) { return 0, false }
