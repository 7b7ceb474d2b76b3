// Package messages holds every message the pool's actors exchange. Each is a
// plain struct, always sent as a pointer. Each comment says who sends it to
// whom and what comes back.
//
// An actor-based service leases through two of them: it sends *Acquire to
// the broker with ctx.Request (so the broker knows the sender), and receives
// *Granted[C] or *AcquireFailed in its own mailbox; it never blocks. It ends
// the lease with Lease.Release or Lease.MarkBroken, which never block either.
// The broker watches the requesting actor: when it stops, the leases it
// still holds are reclaimed (their connections closed and replaced).
//
// Goroutine callers use Pool.Acquire, which sends a *core.Request (a
// pre-allocated request with its own reply channel) instead of *Acquire, so
// that the grant path allocates nothing.
//
// The other messages are the pool's internal protocol; they are exported so
// that the actors packages can share them, not for users to send.
package messages
