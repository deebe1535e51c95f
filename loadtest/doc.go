// Package loadtest will drive a server with synthetic publishers and subscribers and report what it
// costs (issue: load tester). Today it holds the synthetic media source in loadtest/media, which the
// integration tests already use, so the tests and the load tester send the same kind of packets.
//
// Locking: no state yet.
package loadtest
