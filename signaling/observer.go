package signaling

import "time"

// Observer is told what operators' metrics count: how long joins take and which errors sessions are
// sent. It is called from sessions' readers, concurrently; implementations must be safe for that and
// must not block (a Prometheus histogram or counter is).
type Observer interface {
	// Joined: a session got `joined` (not a lobby wait), took after its `join` arrived.
	Joined(took time.Duration)
	// ErrorSent: a session was sent an `error` with code.
	ErrorSent(code string)
}

// noObserver counts nothing (Config.Observer nil).
type noObserver struct{}

func (noObserver) Joined(time.Duration) {}
func (noObserver) ErrorSent(string)     {}
