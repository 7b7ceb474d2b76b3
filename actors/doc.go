// Package actors holds the pool's two working actors: the connection actor,
// which owns one backend connection, and the broker, which decides who holds
// what.
//
// The guarantee: a connection is touched only by its own connection actor,
// or by the one lease holder it was granted to, never by both at once. The
// actor dials, resets, pings and closes; the holder uses it between grant
// and Release. The broker is the single authority on the leases out, on
// the waiters' deadlines, and on what callers may do without it
// (core.Idle): while no waiter is queued, a caller takes an idle
// connection; while others wait and the pool can neither grow nor fail
// fast, a caller joins the line behind them; a holder gives a clean
// connection back, to the oldest waiter or to the stack. None of these
// sends a message to the broker.
//
// The connection lifecycle is driven by the broker, because only it knows
// which connections are idle: its maintenance tick (one timer per pool)
// takes an idle connection off the idle stack and sends its actor *Ping,
// for a keepalive or before lending one idle past ValidateAfterIdle; the
// actor answers *Checked, or, when the ping failed, also closes the
// connection and crashes so that the supervisor dials a new one. A
// connection being pinged is never lent, and a leased one is never pinged.
// Idle eviction and max lifetime retire idle connections (*Retire); a
// leased connection past its lifetime is retired when it comes back.
package actors
