package actors

// This file is the broker's side of Close: stop lending, wait until every
// lease is back (or revoke what is left), then stop the supervisor and with
// it every connection actor. The broker itself stays, holding no
// goroutine, to answer an actor's late Acquire with ErrPoolClosed.

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// handleClose stops the timers and closes msg.Done once drained; the
// ledger, closed first by Pool.Close, fails every waiter and every later
// acquire with ErrPoolClosed.
func (b *broker[C]) handleClose(ctx actor.Context, msg *proto.Close) {
	b.stopTimers()
	b.waiters = deadlines[C]{} // the ledger failed every waiter
	// Owners stay watched until Shutdown: one that stops now still has
	// its leases reclaimed, so Close does not wait for them.
	b.closeDone = msg.Done
	b.checkDrained()
}

// closing reports that the pool is closing: the ledger's flag, the one
// record of it.
func (b *broker[C]) closing() bool { return b.l.IsClosed() }

// checkDrained closes Close's Done once no lease is out and no connection
// is being reset or pinged.
func (b *broker[C]) checkDrained() {
	if b.closeDone != nil && b.l.Drained() {
		close(b.closeDone)
		b.closeDone = nil
	}
}

// handleShutdown stops the supervisor, whose Terminated closes msg.Done,
// once the connection actors already told to stop have stopped: the
// supervisor's own stop would otherwise send them a second Stop, a dead
// letter. If they take longer than shutdownWait, it stops it anyway.
func (b *broker[C]) handleShutdown(ctx actor.Context, msg *proto.Shutdown) {
	if msg.Done != nil {
		b.shutdownDone = msg.Done
		b.dialer.stopTimers()
		for _, pid := range b.owners {
			ctx.Unwatch(pid)
		}
		clear(b.owners)
		b.shutdownTimer = time.AfterFunc(shutdownWait, b.timerFunc(&proto.Shutdown{}))
	}
	b.stopSupervisor(ctx, msg.Done == nil)
}

// shutdownWait bounds how long Close waits for connection actors that are
// stopping already.
const shutdownWait = 2 * time.Second

// stopSupervisor stops the supervisor once Shutdown asked for it, no
// connection actor is still leaving, and the ledger is drained (a lease
// ended just before Close revoked the rest has its actor sent LeaseEnded,
// which must not reach a stopped actor); or when force is set. Once.
func (b *broker[C]) stopSupervisor(ctx actor.Context, force bool) {
	if b.shutdownDone == nil || b.supervisorStopping || (!force && (b.dialer.anyLeaving() || !b.l.Drained())) {
		return
	}
	b.supervisorStopping = true
	ctx.Stop(b.supervisor)
}

// handleSupervisorStopped ends Shutdown: every connection actor stopped.
func (b *broker[C]) handleSupervisorStopped() {
	if b.shutdownDone != nil {
		b.stopped = true
		b.shutdownTimer.Stop()
		b.l.Stopped()
		close(b.shutdownDone)
		b.shutdownDone = nil
	}
}

// receiveStopped is the broker after Close: it answers acquires,
// SetLimits and SetLifecycle with ErrPoolClosed and ignores the rest, such as the last
// reports of connection actors that stopped with the supervisor.
func (b *broker[C]) receiveStopped(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *proto.SetLimits:
		msg.Done <- ledger.ErrPoolClosed
	case *proto.SetLifecycle:
		msg.Done <- ledger.ErrPoolClosed
	default:
		if a, ok := b.cfg.AsAcquire(msg); ok && ctx.Sender() != nil {
			ctx.Respond(b.cfg.Failed(ledger.ErrPoolClosed, a.Tag))
		}
	}
}
