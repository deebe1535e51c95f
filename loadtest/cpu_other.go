//go:build !unix

package loadtest

// selfCPUSeconds is not measured on this platform.
func selfCPUSeconds() float64 { return 0 }
