package actorpool

import (
	"context"
	"time"

	"github.com/actorpool/actorpool/internal/proto"
)

// Lifecycle is the part of Config that a pool takes while it runs
// (SetLifecycle). Each field means what the Config field of the same name
// means, with the same default for a zero value, and Off to turn off
// IdleTimeout, MaxLifetime, KeepaliveInterval or ValidateAfterIdle.
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

// lifecycleOf is cfg's lifecycle settings, as New filled them (0: off).
func lifecycleOf(cfg Config) proto.Lifecycle {
	return proto.Lifecycle{
		AcquireTimeout: cfg.AcquireTimeout, LeaseTimeout: cfg.LeaseTimeout,
		LeakWarnAfter: cfg.LeakWarnAfter, MaxWaiters: cfg.MaxWaiters,
		IdleTimeout: cfg.IdleTimeout, MaxLifetime: cfg.MaxLifetime,
		KeepaliveInterval: cfg.KeepaliveInterval, ValidateAfterIdle: cfg.ValidateAfterIdle,
		QueueTarget: cfg.QueueTarget, QueueInterval: cfg.QueueInterval,
		DialTimeout: cfg.DialTimeout, BackoffMin: cfg.BackoffMin, BackoffMax: cfg.BackoffMax,
	}
}

// withLifecycle is c with l's settings, the inverse of lifecycleOf.
func (c Config) withLifecycle(l Lifecycle) Config {
	c.AcquireTimeout, c.LeaseTimeout, c.LeakWarnAfter = l.AcquireTimeout, l.LeaseTimeout, l.LeakWarnAfter
	c.MaxWaiters, c.IdleTimeout, c.MaxLifetime = l.MaxWaiters, l.IdleTimeout, l.MaxLifetime
	c.KeepaliveInterval, c.ValidateAfterIdle = l.KeepaliveInterval, l.ValidateAfterIdle
	c.QueueTarget, c.QueueInterval = l.QueueTarget, l.QueueInterval
	c.DialTimeout, c.BackoffMin, c.BackoffMax = l.DialTimeout, l.BackoffMin, l.BackoffMax
	return c
}

// Lifecycle returns the lifecycle settings in force, defaults filled in;
// a setting that is off reads Off (0 for LeaseTimeout, LeakWarnAfter and
// MaxWaiters), so that the value given back to SetLifecycle changes
// nothing.
func (p *Pool[C]) Lifecycle() Lifecycle {
	l := Lifecycle(*p.settings.Load())
	for _, d := range []*time.Duration{&l.IdleTimeout, &l.MaxLifetime, &l.KeepaliveInterval, &l.ValidateAfterIdle} {
		if *d == 0 {
			*d = Off
		}
	}
	return l
}

// SetLifecycle changes the lifecycle settings while the pool runs; the
// broker has applied them when it returns. Values are validated as New
// validates them: one that New would reject is an error wrapping
// ErrInvalidConfig and changes nothing. After Close, ErrPoolClosed; when
// ctx ends first, ctx's error (the settings may still be applied).
//
// A new AcquireTimeout applies to acquires that start from now on;
// MaxWaiters to callers joining the line (those in it stay); LeaseTimeout
// and LeakWarnAfter at the next lease check, to leases out too (a lease
// out when they are turned on is timed from the change); IdleTimeout,
// KeepaliveInterval and ValidateAfterIdle at the next maintenance tick;
// MaxLifetime to connections dialled from now on; QueueTarget and
// QueueInterval to the line at once (turning overload control off ends an
// overload); DialTimeout to each dial, reset and ping that starts from
// now on; BackoffMin and BackoffMax to the next redial delay.
func (p *Pool[C]) SetLifecycle(ctx context.Context, l Lifecycle) error {
	c, err := p.cfg.withLifecycle(l).withDefaults()
	if err != nil {
		return err
	}
	p.setMu.Lock()
	defer p.setMu.Unlock()
	if p.ledger.IsClosed() {
		return ErrPoolClosed
	}
	msg := &proto.SetLifecycle{Lifecycle: lifecycleOf(c), Done: make(chan error, 1)}
	p.root.Send(p.broker, msg)
	select {
	case err := <-msg.Done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
