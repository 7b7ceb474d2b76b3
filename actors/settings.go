package actors

// This file is the broker's side of lifecycle settings changed at run
// time: it takes the new values into its own copy of the configuration,
// hands the ledger its part (MaxWaiters, lease start times), and re-arms
// its timers for the new periods.

import (
	"time"

	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// handleSetLifecycle applies msg. A new MaxLifetime applies to
// connections dialled from now on; the others apply at once (an idle
// connection is judged by the new limits at the next maintenance tick, a
// lease out by the new LeaseTimeout at the next lease check).
func (b *broker[C]) handleSetLifecycle(msg *proto.SetLifecycle) {
	if b.closing {
		msg.Done <- ledger.ErrPoolClosed
		return
	}
	c := *b.cfg
	c.Lifecycle = msg.Lifecycle
	b.cfg = &c

	watch := c.LeaseTimeout > 0 || c.LeakWarnAfter > 0
	b.l.SetLeasePolicy(c.MaxWaiters, watch, time.Now())
	b.sweepEvery = checkEvery(c.IdleTimeout, c.MaxLifetime, c.KeepaliveInterval, c.ValidateAfterIdle)
	// A timer whose settings are all off keeps ticking, at most once a
	// second, and finds nothing to do.
	if c.IdleTimeout > 0 || c.MaxLifetime > 0 || c.KeepaliveInterval > 0 || c.ValidateAfterIdle > 0 {
		if b.maint == nil {
			b.maint = time.AfterFunc(b.sweepEvery, b.timerFunc(&proto.MaintenanceTick{}))
		} else {
			b.maint.Reset(b.sweepEvery)
		}
	}
	if watch {
		every := checkEvery(c.LeaseTimeout, c.LeakWarnAfter)
		if b.leases == nil {
			b.leases = time.AfterFunc(every, b.timerFunc(&proto.LeaseTick{}))
		} else {
			b.leases.Reset(every)
		}
	}
	msg.Done <- nil
}
