package proto

import (
	"sync/atomic"
	"time"
)

// Lifecycle is the settings a pool takes while it runs (SetLifecycle); 0
// is off. actorpool.Lifecycle has the same fields, in the same order, and
// converts to it.
type Lifecycle struct {
	AcquireTimeout    time.Duration
	LeaseTimeout      time.Duration
	LeakWarnAfter     time.Duration
	MaxWaiters        int
	IdleTimeout       time.Duration
	MaxLifetime       time.Duration
	KeepaliveInterval time.Duration
	ValidateAfterIdle time.Duration
	QueueTarget       time.Duration
	QueueInterval     time.Duration
	DialTimeout       time.Duration
	BackoffMin        time.Duration
	BackoffMax        time.Duration
}

// Settings is the one record of the lifecycle settings in force. The
// broker alone writes it, as it applies SetLifecycle; the pool's callers,
// the broker and the connection actors read it without a lock.
type Settings struct{ p atomic.Pointer[Lifecycle] }

// NewSettings returns settings holding l.
func NewSettings(l Lifecycle) *Settings {
	s := &Settings{}
	s.p.Store(&l)
	return s
}

// Load returns the settings in force; never change what it points to.
func (s *Settings) Load() *Lifecycle { return s.p.Load() }

// Store puts l in force (the broker only).
func (s *Settings) Store(l Lifecycle) { s.p.Store(&l) }

// SetLifecycle changes the broker's lifecycle settings, which
// Pool.SetLifecycle validated. Sender: Pool.SetLifecycle. Reply: Done gets
// nil, or ErrPoolClosed.
type SetLifecycle struct {
	Lifecycle
	Done chan error // buffered(1)
}
