package group

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
)

// AcquireRead asks a group's front actor (Group.Broker) for a lease
// for a read, as *actorpool.Acquire (messages.Acquire) asks it for a lease
// from a primary, with the same fields (Timeout, Owner, Tag). Send it with
// ctx.Request; the reply is *actorpool.Granted[C] or
// *actorpool.AcquireFailed with the request's Tag, from the chosen
// endpoint's broker.
type AcquireRead struct {
	actorpool.Acquire
}

// Broker is the PID of the group's front actor. Actors lease from the
// group by message as from a pool: *actorpool.Acquire for a
// primary, *AcquireRead for a read. The front picks an endpoint as
// Acquire does (waiting for one round of role checks when no role is known
// yet, without blocking its mailbox), and passes the request on to that
// endpoint's broker with the sender kept, so the grant (or the failure)
// comes from there and the lease is the endpoint pool's. When no endpoint
// can serve, the front answers *actorpool.AcquireFailed at once with the
// error Acquire would return (ErrBackendUnavailable joined with each
// endpoint's own error); after Close, with ErrPoolClosed (the front stays
// to answer; an idle actor costs no goroutine).
func (g *Group[C]) Broker() *actor.PID { return g.front }

// front is the group's front actor. It keeps no state of its own (it
// reads the group's endpoints as Acquire does); its Receive only
// dispatches.
type front[C any] struct{ g *Group[C] }

func spawnFront[C any](g *Group[C]) *actor.PID {
	return g.sys.Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return &front[C]{g: g} }), "actorpool-group")
}

func (f *front[C]) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actorpool.Acquire:
		f.forward(ctx, &pendingAcquire{req: m, sender: ctx.Sender()})
	case *AcquireRead:
		f.forward(ctx, &pendingAcquire{read: true, req: &m.Acquire, sender: ctx.Sender()})
	case *pendingAcquire:
		f.forward(ctx, m)
	}
}

// pendingAcquire is a request the front took, with its sender; the front
// sends it to itself again once a round of role checks has ended, when no
// endpoint's role was known yet.
type pendingAcquire struct {
	read   bool
	req    *actorpool.Acquire
	sender *actor.PID
	waited bool
}

// forward passes a.req on to the picked endpoint's broker, as if the
// sender had sent it there. When no endpoint can serve because a role is
// not known yet, it waits for one round of role checks, as Acquire does,
// on a goroutine of its own, so that the front's mailbox never blocks.
func (f *front[C]) forward(ctx actor.Context, a *pendingAcquire) {
	if f.g.closed.Load() {
		a.fail(ctx, actorpool.ErrPoolClosed)
		return
	}
	m, pending := f.g.pick(a.read, nil)
	if m == nil && pending && !a.waited {
		a.waited = true
		root, self, limit := ctx.ActorSystem().Root, ctx.Self(), a.req.Timeout
		if limit <= 0 {
			limit = f.g.cfg.RoleCheckTimeout
		}
		go func() {
			wctx, cancel := context.WithTimeout(context.Background(), limit)
			_ = f.g.checker.await(wctx)
			cancel()
			root.Send(self, a)
		}()
		return
	}
	if m == nil {
		a.fail(ctx, f.g.unavailable(a.read, nil, nil))
		return
	}
	ctx.RequestWithCustomSender(m.pool.Broker(), a.req, a.sender)
}

// fail answers the sender, if any, with err.
func (a *pendingAcquire) fail(ctx actor.Context, err error) {
	if a.sender != nil {
		ctx.Send(a.sender, &actorpool.AcquireFailed{Err: err, Tag: a.req.Tag})
	}
}
