package actorpool

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The messages of the actor API. Actor code names them through package
// messages (messages.Acquire, messages.Granted, messages.AcquireFailed);
// they are declared here, beside Lease, which Granted carries.

// Acquire asks a pool's broker (Pool.Broker) for a lease on behalf of the
// sending actor; send it with ctx.Request so that the broker knows the
// sender. The reply is *Granted[C] or *AcquireFailed, carrying the
// request's Tag. The broker watches the owner: when it stops, its leases
// are reclaimed and its requests leave the line.
type Acquire struct {
	// Timeout bounds the wait; zero means the pool's AcquireTimeout.
	Timeout time.Duration
	// Owner is the actor whose stop reclaims the lease; nil means the
	// sender. Set it to ctx.Self() when sending with RequestFuture (so that
	// the broker watches the actor, not the future), and give the future a
	// timeout longer than Timeout, or a grant may reach an expired future.
	Owner *actor.PID
	// Tag is the actor's own: the answer carries it back, so that an actor
	// with several requests out knows which one is answered.
	Tag any
}

// Granted carries a lease to the actor that asked. The actor now holds it
// and must end it with Release or MarkBroken.
type Granted[C any] struct {
	Lease Lease[C]
	Tag   any // the request's
}

// AcquireFailed tells the actor that asked that no lease will come. Err
// matches (errors.Is) ErrAcquireTimeout, ErrPoolClosed,
// ErrBackendUnavailable or ErrTooManyWaiters.
type AcquireFailed struct {
	Err error
	Tag any // the request's
}
