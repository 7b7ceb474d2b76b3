// Package actorpool is a connection pool built as a small actor system on
// protoactor-go.
//
// A broker actor decides who holds which connection; a supervisor actor
// owns one connection actor per backend connection and restarts them when
// they fail; each connection actor dials, pings, resets and closes its one
// connection. Callers lease connections through Pool.Acquire (goroutines)
// or by sending messages to the broker (actors; see package messages).
//
// The guarantees: a connection is held by at most one lease at a time;
// every lease ends exactly once (released, marked broken, revoked or
// reclaimed); a connection whose lease was revoked or marked broken is
// closed and replaced, never lent again; waiters are served first come,
// first served; after Close every connection is closed and every call
// returns ErrPoolClosed.
package actorpool
