package main

// This file is the load from actors: each acquires by message, uses the
// connection inside its Receive and releases it; every seventh grant it
// stops while holding the lease, which the pool must reclaim.

import (
	"context"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/messages"
)

// acquirer is one actor of the load. Every field is owned by its Receive.
type acquirer[C comparable] struct {
	ld     *load
	target int
	who    string
	broker *actor.PID
	use    func(context.Context, C) error
	fatal  func(error) bool
	done   chan struct{} // closed when the actor has stopped

	asked  moment // when the pending Acquire was sent
	grants int
}

type askAgain struct{}

func (a *acquirer[C]) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started, *askAgain:
		if a.ld.stopped() {
			ctx.Stop(ctx.Self())
			return
		}
		a.asked = a.ld.t.now()
		ctx.Request(a.broker, &messages.Acquire{Timeout: acquireTimeout})
	case *messages.Granted[C]:
		a.granted(ctx, msg.Lease)
	case *messages.AcquireFailed:
		a.ld.t.timed(a.asked, acquireTimeout, a.who)
		a.ld.t.op(a.target, a.who, a.asked.at, msg.Err)
		a.later(ctx, 5*time.Millisecond) // failing fast: not in a busy loop
	case *actor.Stopped:
		close(a.done)
	}
}

func (a *acquirer[C]) granted(ctx actor.Context, l actorpool.Lease[C]) {
	a.ld.t.timed(a.asked, acquireTimeout, a.who)
	conn := l.Conn()
	a.ld.taken(conn, a.who)
	a.grants++
	if a.grants%7 == 0 {
		// Stop while holding: the broker must reclaim the lease.
		a.ld.t.op(a.target, a.who+" (stops holding)", a.asked.at, nil)
		orphan(a.ld, l, a.who)
		ctx.Stop(ctx.Self())
		return
	}
	opCtx, cancel := context.WithTimeout(context.Background(), opTimeout)
	err := a.use(opCtx, conn)
	cancel()
	a.ld.t.give(conn)
	if err != nil && a.fatal(err) {
		a.ld.t.ending(l.MarkBroken(err), a.who)
	} else {
		a.ld.t.ending(l.Release(), a.who)
	}
	a.ld.t.op(a.target, a.who, a.asked.at, err)
	a.later(ctx, time.Millisecond)
}

// later asks again after d, or stops the actor when the run has ended.
func (a *acquirer[C]) later(ctx actor.Context, d time.Duration) {
	if a.ld.stopped() {
		ctx.Stop(ctx.Self())
		return
	}
	root, self := a.ld.ps.sys.Root, ctx.Self()
	time.AfterFunc(d, func() { root.Send(self, &askAgain{}) })
}

// orphan checks that the lease of an actor that stopped holding it is
// reclaimed: within 5 s it is no longer valid, and ending it then says
// it was revoked. Until then its connection counts as held.
func orphan[C comparable](ld *load, l actorpool.Lease[C], who string) {
	conn := l.Conn()
	ld.wg.Go(func() {
		deadline := time.Now().Add(5 * time.Second)
		for l.Valid() {
			if time.Now().After(deadline) {
				ld.t.violate("%s: the lease of a stopped actor was not reclaimed in 5 s", who)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		ld.revokedMu.Lock()
		ld.revoked[conn] = true
		ld.revokedMu.Unlock()
		ld.t.give(conn)
		if err := l.Release(); !errors.Is(err, actorpool.ErrLeaseRevoked) {
			ld.t.violate("%s: releasing a reclaimed lease returned %v", who, err)
			return
		}
		ld.t.ended.Add(1)
	})
}

// actors keeps n acquirers on p running, one replacing each that stops,
// until the run ends.
func actors[C comparable](ld *load, n, target int, who string, p *actorpool.Pool[C],
	use func(context.Context, C) error, fatal func(error) bool) {
	for range n {
		ld.loop(func(int) {
			a := &acquirer[C]{ld: ld, target: target, who: who, broker: p.Broker(), use: use, fatal: fatal,
				done: make(chan struct{})}
			pid := ld.ps.sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return a }))
			select {
			case <-a.done:
			case <-ld.stop:
				// It stops at its next answer, at most AcquireTimeout away.
				select {
				case <-a.done:
				case <-time.After(5 * time.Second):
					ld.t.violate("%s: no answer to an actor's Acquire in 5 s", who)
					ld.ps.sys.Root.Stop(pid)
				}
			}
		})
	}
}

// pingRedis and pingMaria are what the actors do with a lease.
func pingRedis(ctx context.Context, c *redisbackend.Conn) error { return c.Ping(ctx).Err() }

func pingMaria(ctx context.Context, c *mysqlbackend.Conn) error { return c.PingContext(ctx) }
