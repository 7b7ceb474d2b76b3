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

	b.l.SetLeasePolicy(c.MaxWaiters, c.LeaseTimeout > 0 || c.LeakWarnAfter > 0, time.Now())
	b.sweepEvery = checkEvery(c.IdleTimeout, c.MaxLifetime, c.KeepaliveInterval, c.ValidateAfterIdle)
	b.armMaintenance()
	b.armLeases()
	msg.Done <- nil
}
