package actors

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/core"
	"github.com/actorpool/actorpool/messages"
)

// This file holds the broker's side of the connection lifecycle: keepalive
// pings, the check before lending, idle eviction, max lifetime and limits
// changed at run time. Like the rest of the broker, every method runs in its
// Receive.
//
// How idle ages are known without a clock on the lease path: a connection
// going back on the idle stack only makes sure that the maintenance timer
// fires within stampEvery (the broker arms it; a holder that put the
// connection back itself asks for it with *StampSoon, once per tick). The
// tick then sees, by the slot's lease generation, which idle connections
// were lent since it last looked, and stamps them idle as of now. An idle
// age is therefore short by less than stampEvery: eviction and keepalive are
// never early, and the stale flag for ValidateAfterIdle is set stampEvery
// ahead, so that no connection idle longer than ValidateAfterIdle is lent
// unchecked. The tick walks the idle stack under its lock, so that no caller
// takes a connection it retires or pings; a connection flagged stale leaves
// the stack for b.stale, where only the broker lends it, after a ping.

// check takes an idle connection (already off the idle stack) to its actor
// for a ping. Until the answer (*Checked) it counts as idle but cannot be
// lent, evicted or pinged again.
func (b *broker[C]) check(ctx actor.Context, slot *core.Slot[C], validation bool) {
	b.checking++
	ctx.Send(slot.Actor, &messages.Ping{Validation: validation})
}

// handleChecked takes a pinged connection back: alive, it goes back to use
// (to a waiter first, such as the caller whose acquire asked for the
// check); dead, its actor is already redialling.
func (b *broker[C]) handleChecked(ctx actor.Context, msg *messages.Checked[C]) {
	b.checking--
	slot := msg.Slot
	if msg.Err != nil {
		if msg.Validation {
			b.st.FailedValidations++
		} else {
			b.st.FailedPings++
		}
		b.lost(ctx, slot)
		return
	}
	now := time.Now()
	slot.CheckedAt, slot.Stale = now, false
	if !slot.RetireAt.IsZero() && !now.Before(slot.RetireAt) {
		slot.SetExpired()
	}
	b.place(ctx, slot, true)
	b.armMaint(b.dueOf(slot), now)
	b.signalClosed()
}

// handleMaintenance is the maintenance tick: it stamps connections that
// came back since the last tick, marks those past their lifetime, then
// walks the idle connections from the longest idle up: retire what expired
// or sat idle too long (down to MinConns), ping what is due for a
// keepalive, flag (and take off the stack) what is due for a check before
// lending. Then it arms the timer for the next thing due.
func (b *broker[C]) handleMaintenance(ctx actor.Context) {
	b.maintAt = time.Time{}
	b.idle.StampSoon.Store(false)
	if b.closing {
		return
	}
	now := time.Now()
	var next time.Time
	// Under the stack's lock: no caller takes a connection this walk
	// retires or pings, and no holder puts back one it marks expired
	// without this walk seeing it.
	b.idle.Lock()
	if b.cfg.MaxLifetime > 0 {
		// A leased (or pinged) connection past its lifetime is not cut:
		// its holder gives it back to the broker, which retires it.
		for slot := range b.live {
			if slot.Expired() {
				continue
			}
			if !now.Before(slot.RetireAt) {
				slot.SetExpired()
				continue
			}
			next = earlier(next, slot.RetireAt)
		}
	}
	stale := b.stale[:0]
	for _, slot := range b.stale {
		if b.tend(ctx, slot, now) {
			stale = append(stale, slot)
			next = earlier(next, b.dueOf(slot))
		}
	}
	clear(b.stale[len(stale):])
	b.stale = stale
	validate := b.cfg.ValidateAfterIdle
	slots := b.idle.Slots()
	kept := slots[:0]
	for _, slot := range slots {
		if !b.tend(ctx, slot, now) {
			continue
		}
		if validate > 0 && now.Sub(slot.CheckedAt) >= validate-b.stampEvery {
			slot.Stale = true
			b.stale = append(b.stale, slot)
		} else {
			kept = append(kept, slot)
		}
		next = earlier(next, b.dueOf(slot))
	}
	b.idle.SetSlots(kept)
	b.idle.Unlock()
	b.grow(ctx) // replaces what expired, when the pool needs it
	if !next.IsZero() {
		b.armMaint(next, now)
	}
}

// tend is the maintenance of one idle connection: stamp it when it was lent
// since the last tick, retire it when it expired or sat idle too long, ping
// it when a keepalive is due. It reports whether the connection stays idle.
func (b *broker[C]) tend(ctx actor.Context, slot *core.Slot[C], now time.Time) bool {
	if gen := slot.Generation(); gen != slot.SeenGen {
		// Lent and given back since the last tick.
		slot.SeenGen = gen
		slot.IdleSince, slot.CheckedAt, slot.Stale = now, now, false
	}
	switch {
	case slot.Expired():
		b.st.RetiredLifetime++
		b.retire(ctx, slot)
	case b.cfg.IdleTimeout > 0 && b.total-b.shrinking > b.min && now.Sub(slot.IdleSince) >= b.cfg.IdleTimeout:
		b.st.RetiredIdle++
		b.retire(ctx, slot)
	case b.cfg.KeepaliveInterval > 0 && now.Sub(slot.CheckedAt) >= b.cfg.KeepaliveInterval:
		slot.Stale = false
		b.check(ctx, slot, false)
	default:
		return true
	}
	return false
}

// dueOf is when an idle connection next needs the maintenance tick; zero
// when never.
func (b *broker[C]) dueOf(slot *core.Slot[C]) time.Time {
	due := slot.RetireAt
	if d := b.cfg.IdleTimeout; d > 0 && b.total-b.shrinking > b.min {
		due = earlier(due, slot.IdleSince.Add(d))
	}
	if d := b.cfg.KeepaliveInterval; d > 0 {
		due = earlier(due, slot.CheckedAt.Add(d))
	}
	if d := b.cfg.ValidateAfterIdle; d > 0 && !slot.Stale {
		due = earlier(due, slot.CheckedAt.Add(d-b.stampEvery))
	}
	return due
}

// earlier returns the earlier of a and t, zero meaning never.
func earlier(a, t time.Time) time.Time {
	if a.IsZero() || (!t.IsZero() && t.Before(a)) {
		return t
	}
	return a
}

// armMaint makes sure the maintenance tick comes by at.
func (b *broker[C]) armMaint(at, now time.Time) {
	if at.IsZero() || b.closing {
		return
	}
	if b.idle.StampSoon.Load() {
		if at.Sub(now) >= b.stampEvery {
			return // the coming tick arms for it
		}
	} else if !b.maintAt.IsZero() && !at.Before(b.maintAt) {
		return
	}
	b.maintAt = at
	b.resetMaint(max(at.Sub(now), 0))
}

// resetMaint (re)arms the maintenance timer to fire in d.
func (b *broker[C]) resetMaint(d time.Duration) {
	if b.closing {
		return
	}
	if b.maint == nil {
		b.maint = time.AfterFunc(d, b.timerFunc(b.maintTick))
		return
	}
	b.maint.Reset(d)
}

func (b *broker[C]) stopMaint() {
	if b.maint != nil {
		b.maint.Stop()
	}
	b.maintAt = time.Time{}
	b.idle.StampSoon.Store(false)
}

// handleStampSoon arms the maintenance tick within stampEvery, for a
// connection a holder put back on the idle stack without the broker.
func (b *broker[C]) handleStampSoon() {
	if b.closing {
		return
	}
	d := b.stampEvery
	if !b.maintAt.IsZero() {
		d = min(d, max(time.Until(b.maintAt), 0))
	}
	b.maintAt = time.Time{}
	b.resetMaint(d)
}

// handleSetLimits applies new limits at once. Growing dials up to the new
// MinConns. Shrinking retires idle connections first (longest idle first),
// asks the supervisor to stop actors still without a connection, and
// retires leased connections when they come back.
func (b *broker[C]) handleSetLimits(ctx actor.Context, msg *messages.SetLimits) {
	if b.closing {
		msg.Done <- core.ErrPoolClosed
		return
	}
	b.min, b.max = msg.Min, msg.Max
	// Above the new maximum, holders give their connections back here, to
	// be retired; idle ones go now, longest idle first.
	b.publish()
	b.idle.Lock()
	for b.total-b.shrinking > b.max && len(b.stale) > 0 {
		slot := b.stale[0]
		b.stale = slices.Delete(b.stale, 0, 1)
		b.retire(ctx, slot)
	}
	slots := b.idle.Slots()
	n := 0
	for ; b.total-b.shrinking > b.max && n < len(slots); n++ {
		b.retire(ctx, slots[n])
	}
	b.idle.SetSlots(slices.Delete(slots, 0, n))
	b.idle.Unlock()
	b.shrinkDialing(ctx)
	b.grow(ctx)
	if b.cfg.IdleTimeout > 0 && b.idleCount() > b.checking {
		// A lower MinConns may let idle connections go now.
		now := time.Now()
		b.armMaint(now, now)
	}
	msg.Done <- nil
}

// shrinkDialing asks the supervisor to stop actors that have no connection
// while the pool is above MaxConns. The ones dialling now are retired when
// they report ready.
func (b *broker[C]) shrinkDialing(ctx actor.Context) {
	if b.closing {
		return
	}
	excess := b.total - b.shrinking - b.max
	dialing := b.total - b.shrinking - b.alive()
	if n := min(excess, dialing); n > 0 {
		b.shrinking += n
		ctx.Send(b.supervisor, &messages.Shrink{N: n})
	}
}

func (b *broker[C]) handleShrunk(ctx actor.Context, msg *messages.Shrunk) {
	b.shrinking -= msg.Asked
	b.total -= msg.Stopped
	b.grow(ctx)
}
