package cluster

import (
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// NewClient returns a Redis client for addr (host:port) tuned for this package: timeouts short enough
// that an unreachable Redis is noticed within a heartbeat, context deadlines honoured, no automatic
// retries (a blind retry of a command whose reply was lost may apply it twice; the heartbeat, the relay
// reader and RelayConn.Send retry by themselves, idempotently), and none of the handshakes a plain
// Redis 7.0 does not know (client identity, maintenance notifications). Any client works with the
// package; one with go-redis's default retries may turn a lost reply into a spurious ErrSessionExists
// from Dial or ErrNotOwner from Release.
func NewClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                  addr,
		DialTimeout:           time.Second,
		DialerRetries:         1,
		ReadTimeout:           2 * time.Second,
		WriteTimeout:          2 * time.Second,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1, // the package retries where that is safe, knowing what landed
		DisableIdentity:       true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
}
