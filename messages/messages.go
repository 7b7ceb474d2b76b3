package messages

import "github.com/actorpool/actorpool"

// Acquire asks the broker for a lease on behalf of the sending actor.
// Sender: any actor, with ctx.Request(pool.Broker(), &Acquire{}).
// Reply to the sender: *Granted[C] or *AcquireFailed. After the pool
// closed, the reply is *AcquireFailed with ErrPoolClosed. Fields: see
// actorpool.Acquire.
type Acquire = actorpool.Acquire

// Granted carries a lease to the actor that sent *Acquire. Sender: the
// pool. The receiving actor now holds the lease and must end it with
// Lease.Release or Lease.MarkBroken.
type Granted[C any] = actorpool.Granted[C]

// AcquireFailed tells the actor that sent *Acquire that no lease will come.
// Sender: the pool. Err matches (errors.Is) ErrAcquireTimeout,
// ErrPoolClosed, ErrBackendUnavailable or ErrTooManyWaiters.
type AcquireFailed = actorpool.AcquireFailed
