package actors

// This file is the broker's care of idle connections over time (keepalive
// pings, the check before lending, idle eviction, max lifetime) and of the
// limits changed at run time.
//
// Idle ages are known without a clock on the lease path: the maintenance
// tick comes every sweepEvery (a quarter of the shortest lifecycle
// setting, at most a second) and the ledger's Sweep stamps as idle now
// every connection lent since the last tick (by its lease generation). An
// idle age is therefore short by less than sweepEvery: eviction and
// keepalive are never early, and a connection is flagged for the check
// before lending sweepEvery ahead of ValidateAfterIdle, so that none idle
// longer is lent unchecked.

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

func (b *broker[C]) handleMaintenance(ctx actor.Context) {
	if b.closing() {
		return
	}
	now := time.Now()
	retire, ping, replace := b.l.Sweep(now, func(s *ledger.Slot[C], aboveMin, last bool) ledger.Verdict {
		// While dials fail, the last live connection is not let go for
		// sitting idle: that would open the circuit on a pool that works.
		return b.verdict(s, aboveMin && !(last && b.dialer.lastErr != nil), now)
	})
	for _, s := range ping {
		ctx.Send(s.Actor, &proto.Ping{})
	}
	b.retire(ctx, replace, retire...)
	b.armMaintenance()
}

// verdict decides about one idle connection, longest idle first: retire
// what expired, or sat idle past IdleTimeout while the pool is above
// MinConns; ping what is due for a keepalive; flag for a check before
// lending what will soon have sat idle past ValidateAfterIdle.
func (b *broker[C]) verdict(s *ledger.Slot[C], aboveMin bool, now time.Time) ledger.Verdict {
	c := b.cfg.Settings.Load()
	switch {
	case s.Expired():
		return ledger.RetireExpired
	case c.IdleTimeout > 0 && aboveMin && now.Sub(s.IdleSince) >= c.IdleTimeout:
		return ledger.RetireIdle
	case c.KeepaliveInterval > 0 && now.Sub(s.CheckedAt) >= c.KeepaliveInterval:
		return ledger.Ping
	case c.ValidateAfterIdle > 0 && now.Sub(s.CheckedAt) >= c.ValidateAfterIdle-b.sweepEvery:
		return ledger.Validate
	}
	return ledger.Keep
}

// handleSetLimits applies new limits at once. Growing dials up to the new
// MinConns. Shrinking retires idle connections first (longest idle first),
// stops actors still without a connection, and retires leased connections
// when they come back.
func (b *broker[C]) handleSetLimits(ctx actor.Context, msg *proto.SetLimits) {
	if b.closing() {
		msg.Done <- ledger.ErrPoolClosed
		return
	}
	b.retire(ctx, 0, b.l.SetLimits(msg.Min, msg.Max)...)
	b.shrinkDialing(ctx)
	b.afterLoss(ctx)
	msg.Done <- nil
}
