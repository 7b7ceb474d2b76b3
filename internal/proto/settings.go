package proto

import "time"

// SetLifecycle changes the broker's lifecycle settings (0 is off), which
// Pool.SetLifecycle validated. Sender: Pool.SetLifecycle. Reply: Done gets
// nil, or ErrPoolClosed.
type SetLifecycle struct {
	AcquireTimeout, LeaseTimeout, LeakWarnAfter                    time.Duration
	IdleTimeout, MaxLifetime, KeepaliveInterval, ValidateAfterIdle time.Duration
	MaxWaiters                                                     int
	Done                                                           chan error // buffered(1)
}
