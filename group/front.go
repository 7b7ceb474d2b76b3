package group

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
)

// AcquireReadRequest asks a group's front actor (Group.Broker) for a lease
// for a read, as *actorpool.AcquireRequest asks it for a lease from a
// primary. Send it with ctx.Request; the reply is *actorpool.Granted[C]
// or *actorpool.AcquireFailed, from the chosen endpoint's broker.
type AcquireReadRequest struct {
	// Timeout bounds the wait; zero means the endpoint pool's
	// AcquireTimeout.
	Timeout time.Duration
	// Owner is the actor whose stop reclaims the lease; nil means the
	// sender (see actorpool.AcquireRequest).
	Owner *actor.PID
}

// Broker is the PID of the group's front actor. Actors lease from the
// group by message as from a pool: *actorpool.AcquireRequest for a
// primary, *AcquireReadRequest for a read. The front picks an endpoint as
// Acquire does, without waiting, and passes the request on to that
// endpoint's broker with the sender kept, so the grant (or the failure)
// comes from there and the lease is the endpoint pool's. When no endpoint
// can serve, the front answers *actorpool.AcquireFailed with
// ErrBackendUnavailable at once; after Close, with ErrPoolClosed (the
// front stays to answer; an idle actor costs no goroutine).
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
	case *actorpool.AcquireRequest:
		f.forward(ctx, false, m)
	case *AcquireReadRequest:
		f.forward(ctx, true, &actorpool.AcquireRequest{Timeout: m.Timeout, Owner: m.Owner})
	}
}

// forward passes req on to the picked endpoint's broker, as if the sender
// had sent it there.
func (f *front[C]) forward(ctx actor.Context, read bool, req *actorpool.AcquireRequest) {
	if f.g.closed.Load() {
		ctx.Respond(&actorpool.AcquireFailed{Err: actorpool.ErrPoolClosed})
		return
	}
	cands, down, _ := f.g.eligible(read, nil)
	if len(cands) == 0 {
		ctx.Respond(&actorpool.AcquireFailed{Err: unavailable(read, nil, down)})
		return
	}
	m := cands[f.g.cfg.Picker.Pick(cands)]
	ctx.RequestWithCustomSender(m.pool.Broker(), req, ctx.Sender())
}
