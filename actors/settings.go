package actors

// This file is the broker's side of lifecycle settings changed at run
// time: it puts the new values in force (proto.Settings, read by the
// pool's callers and the connection actors), hands the ledger its policy
// (MaxWaiters, overload control, lease start times), and re-arms its
// timers for the new periods.

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
	if b.closing() {
		msg.Done <- ledger.ErrPoolClosed
		return
	}
	c := msg.Lifecycle
	b.cfg.Settings.Store(c)
	b.l.SetPolicy(leasePolicy(&c), time.Now())
	b.sweepEvery = checkEvery(c.IdleTimeout, c.MaxLifetime, c.KeepaliveInterval, c.ValidateAfterIdle)
	b.armMaintenance()
	b.armLeases()
	msg.Done <- nil
}

// leasePolicy is the ledger's part of s.
func leasePolicy(s *proto.Lifecycle) ledger.Policy {
	return ledger.Policy{
		MaxWaiters:  s.MaxWaiters,
		WatchLeases: s.LeaseTimeout > 0 || s.LeakWarnAfter > 0,
		QueueTarget: s.QueueTarget, QueueInterval: s.QueueInterval,
	}
}
