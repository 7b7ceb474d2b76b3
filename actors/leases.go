package actors

// This file is the broker's lease timer: leases held past LeaseTimeout are
// revoked, leases held past LeakWarnAfter are reported once, with the
// acquirer's stack. The timer runs while either is on, every quarter of
// the shorter (at most every second).

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/proto"
)

func (b *broker[C]) handleLeaseTick(ctx actor.Context) {
	if b.closing() {
		return
	}
	s := b.cfg.Settings.Load()
	revoked, warned := b.l.ScanLeases(time.Now(), s.LeaseTimeout, s.LeakWarnAfter)
	for _, h := range revoked {
		b.cfg.Logger.Warn("actorpool: lease revoked after LeaseTimeout; closing its connection",
			"conn", h.ID, "held", h.Held.Round(time.Millisecond))
	}
	for _, h := range warned {
		b.cfg.Logger.Warn("actorpool: connection leak suspected: lease held past LeakWarnAfter",
			"conn", h.ID, "held", h.Held.Round(time.Millisecond), "acquired_at", string(h.Stack))
	}
	for _, h := range revoked {
		ctx.Send(h.Actor, &proto.Revoke{Reason: "lease timeout"})
	}
	if len(revoked) > 0 {
		b.afterLoss(ctx)
	}
	b.armLeases()
}
