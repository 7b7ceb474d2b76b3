package actors

// This file is the broker's side of actors that acquire by message: their
// requests, their deadlines (one timer for all of them), and their deaths.

import (
	"container/heap"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// handleActorAcquire serves an actor's acquire: a lease at once when one
// is idle and nobody waits, else a place in line until the timeout (the
// pool's AcquireTimeout unless the message sets one), else an error. The
// owner (the sender unless the message names one) is watched from now on:
// when it stops, its leases are reclaimed.
func (b *broker[C]) handleActorAcquire(ctx actor.Context, a Acquire) {
	sender := ctx.Sender()
	if sender == nil {
		b.cfg.Logger.Warn("actorpool: Acquire message without a sender; send it with ctx.Request")
		return
	}
	owner, timeout := a.Owner, a.Timeout
	if owner == nil {
		owner = sender
	}
	if timeout <= 0 {
		timeout = b.cfg.Settings.Load().AcquireTimeout
	}
	if !b.closing() && !isFuture(owner) {
		// A future completes on any system message, Watch included: it
		// is never watched (set Owner to the actor instead).
		b.watch(ctx, owner)
	}
	s, gen, queued, err := b.l.Admit(sender, owner, timeout, a.Internal, a.Tag)
	switch {
	case err != nil:
		ctx.Send(sender, b.cfg.Failed(err, a.Tag))
		b.demand(ctx)
	case s != nil:
		ctx.Send(sender, b.cfg.Granted(s, gen, a.Tag))
	default:
		b.waiters.push(b.l, queued)
		b.armWaiterTimer()
		b.handleNudge(ctx)
	}
}

// isFuture reports whether pid names a protoactor future (RequestFuture's
// reply address) rather than an actor.
func isFuture(pid *actor.PID) bool { return strings.HasPrefix(pid.Id, "future") }

// watch makes sure the broker hears when an acquiring actor stops.
func (b *broker[C]) watch(ctx actor.Context, who *actor.PID) {
	if _, ok := b.owners[who.Id]; ok {
		return
	}
	b.owners[who.Id] = who
	ctx.Watch(who)
}

// handleOwnerStopped: an actor that acquired stopped. Its leases are
// reclaimed: their connections are closed and replaced, since whatever the
// actor left running may still touch them. Its requests leave the line.
func (b *broker[C]) handleOwnerStopped(ctx actor.Context, who *actor.PID) {
	if _, ok := b.owners[who.Id]; !ok {
		return
	}
	delete(b.owners, who.Id)
	for _, s := range b.l.DropOwner(who) {
		ctx.Send(s.Actor, &proto.Revoke{Reason: "owner actor stopped"})
	}
	b.afterLoss(ctx)
}

// handleWaiterTick fails the actors' requests whose deadline passed.
func (b *broker[C]) handleWaiterTick(ctx actor.Context) {
	b.waiterAt = time.Time{}
	now := time.Now()
	for b.waiters.Len() > 0 && !b.waiters.rs[0].Deadline.After(now) {
		r := heap.Pop(&b.waiters).(*ledger.Request[C])
		if err := b.l.Expire(r); err != nil {
			ctx.Send(r.ReplyTo, b.cfg.Failed(err, r.Tag))
		}
	}
	b.armWaiterTimer()
}

// armWaiterTimer makes sure the broker wakes at the earliest deadline of
// an actor in line.
func (b *broker[C]) armWaiterTimer() {
	if b.waiters.Len() == 0 || b.closing() {
		return
	}
	first := b.waiters.rs[0].Deadline
	if !b.waiterAt.IsZero() && !first.Before(b.waiterAt) {
		return
	}
	b.waiterAt = first
	if b.waiterTimer == nil {
		b.waiterTimer = time.AfterFunc(time.Until(first), b.timerFunc(&proto.WaiterTick{}))
		return
	}
	b.waiterTimer.Reset(time.Until(first))
}

// deadlines is a min-heap of actors' requests by deadline. Requests that a
// holder answered stay in it until their deadline passes or a prune drops
// them.
type deadlines[C any] struct {
	rs      []*ledger.Request[C]
	pruneAt int
}

func (h *deadlines[C]) Len() int           { return len(h.rs) }
func (h *deadlines[C]) Less(i, j int) bool { return h.rs[i].Deadline.Before(h.rs[j].Deadline) }
func (h *deadlines[C]) Swap(i, j int)      { h.rs[i], h.rs[j] = h.rs[j], h.rs[i] }
func (h *deadlines[C]) Push(x any)         { h.rs = append(h.rs, x.(*ledger.Request[C])) }
func (h *deadlines[C]) Pop() any {
	n := len(h.rs) - 1
	r := h.rs[n]
	h.rs[n] = nil
	h.rs = h.rs[:n]
	return r
}

// push adds r, first dropping the requests already answered when the heap
// has doubled since the last prune, so that it stays about as long as the
// line.
func (h *deadlines[C]) push(l *ledger.Ledger[C], r *ledger.Request[C]) {
	if len(h.rs) >= max(h.pruneAt, 64) {
		h.rs = l.Queued(h.rs)
		heap.Init(h)
		h.pruneAt = 2 * len(h.rs)
	}
	heap.Push(h, r)
}
