package proto

import "time"

// Lifecycle is the part of the broker's settings that SetLifecycle
// changes (0 is off). actorpool.Lifecycle has the same fields, in the same
// order, and converts to it.
type Lifecycle struct {
	AcquireTimeout    time.Duration
	LeaseTimeout      time.Duration
	LeakWarnAfter     time.Duration
	MaxWaiters        int
	IdleTimeout       time.Duration
	MaxLifetime       time.Duration
	KeepaliveInterval time.Duration
	ValidateAfterIdle time.Duration
}

// SetLifecycle changes the broker's lifecycle settings, which
// Pool.SetLifecycle validated. Sender: Pool.SetLifecycle. Reply: Done gets
// nil, or ErrPoolClosed.
type SetLifecycle struct {
	Lifecycle
	Done chan error // buffered(1)
}
