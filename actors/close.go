package actors

// This file is the broker's side of Close: stop lending, wait until every
// lease is back (or revoke what is left), then stop the supervisor and with
// it every connection actor. The broker itself stays, holding no
// goroutine, to answer an actor's late Acquire with ErrPoolClosed.

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/proto"
)

// handleClose fails every waiter and every later acquire with
// ErrPoolClosed, stops the timers, and closes msg.Done once drained.
func (b *broker[C]) handleClose(ctx actor.Context, msg *proto.Close) {
	if !b.closing {
		b.closing = true
		b.stopTimers()
		b.l.Close()
		b.waiters = deadlines[C]{}
		for _, pid := range b.owners {
			ctx.Unwatch(pid)
		}
		clear(b.owners)
	}
	b.closeDone = msg.Done
	b.checkDrained()
}

// checkDrained closes Close's Done once no lease is out and no connection
// is being reset or pinged.
func (b *broker[C]) checkDrained() {
	if b.closeDone != nil && b.l.Drained() {
		close(b.closeDone)
		b.closeDone = nil
	}
}

// handleShutdown stops the supervisor; its Terminated closes msg.Done.
func (b *broker[C]) handleShutdown(ctx actor.Context, msg *proto.Shutdown) {
	b.shutdownDone = msg.Done
	b.dialer.stopTimers()
	ctx.Stop(b.supervisor)
}
