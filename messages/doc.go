// Package messages holds what an actor sends to a pool and receives from
// it. Each message is a plain struct, always sent as a pointer.
//
// An actor-based service leases by message: it sends *Acquire to the pool's
// broker (Pool.Broker) with ctx.Request, so the broker knows the sender,
// and receives *Granted[C] or *AcquireFailed in its own mailbox; it never
// blocks. It ends the lease with Lease.Release or Lease.MarkBroken, which
// never block either. The broker watches the requesting actor: when it
// stops, the leases it still holds are reclaimed (their connections closed
// and replaced) and its requests leave the line.
//
// The types are declared in package actorpool, beside Lease, which Granted
// carries; these are their names for actor code. The actors' own protocol
// is internal to the pool.
package messages
