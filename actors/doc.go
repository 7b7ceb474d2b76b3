// Package actors holds the pool's two working actors: the connection actor,
// which owns one backend connection, and the broker, which decides who holds
// what.
//
// The guarantee: a connection is touched only by its own connection actor,
// or by the one lease holder the broker granted it to, never by both at
// once. The actor dials, resets, pings and closes; the holder uses it
// between grant and Release. The broker is the single authority on the
// free list, the waiters and the leases out.
package actors
