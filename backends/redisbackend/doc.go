// Package redisbackend pools Redis connections made with go-redis v9.
//
// A leased connection is a *Conn: it embeds a *redis.Client, so the holder
// uses the ordinary go-redis API on it (Get, Set, Pipelined, TxPipelined,
// Watch, Do).
//
// # One TCP connection per Dial, never re-dialed
//
// Each Dial opens exactly one TCP (or TLS) connection and builds a go-redis
// client around it whose pool can hold one connection and whose Dialer hands
// that connection out once. go-redis is configured so that it never dials on
// its own: no retries on another connection, no idle pre-dialing, no separate
// pipeline pool, no expiry by idle time or age, no maintenance handoffs.
// When the connection breaks (the server goes away, a network error, a
// CLIENT KILL), go-redis closes it, and from then on every command on the
// Conn fails with ErrConnLost, which IsFatal reports as fatal: the pool
// closes the Conn and dials a new one, counted as a restart. go-redis asking
// for another connection is refused, so the server's CLIENT LIST shows
// exactly one client per open Conn. Pub/sub needs its own connection and is
// refused with ErrSecondConn; use a separate go-redis client for it.
//
// # What Reset undoes
//
// A hook on each Conn notes the commands that change session state, so that
// Reset, run when a lease is released, knows what the holder left behind:
//
//   - an open MULTI is discarded (DISCARD);
//   - WATCHed keys are released (UNWATCH);
//   - the configured database is selected again (SELECT);
//   - the configured client name is restored (CLIENT SETNAME, empty when
//     none is configured).
//
// Only what was changed is sent, in one pipelined round trip. When the holder
// changed none of it (the common case, including go-redis's own Watch and
// TxPipelined, which clean up after themselves) NeedsReset says so and the
// pool skips Reset altogether: a clean lease costs a few atomic loads. State
// that Reset does not undo makes it fail, and the pool replaces the
// connection: a pub/sub subscription, MONITOR, AUTH, HELLO, RESET,
// CLIENT REPLY, CLIENT TRACKING and the like (ErrNotResettable), or a
// connection still checked out of its client after the lease ended
// (ErrConnInUse).
//
// # Hooks
//
// go-redis hooks go in at three levels: Options.Hooks on every connection
// the Backend dials (dial hook included), Conn.AddHook on a leased
// connection for that lease only (Reset removes them), and
// Commands.AddHook around command mode, once per command or pipeline.
//
// # Configuration and secrets
//
// Options mirror go-redis's connection settings and can be read from a
// redis://, rediss:// or unix:// URL with go-redis's own parser (ParseURL,
// NewFromURL). The password never appears in an error or in the String,
// GoString or LogValue of Options or Backend. A refused password fails Dial
// with an error wrapping ErrAuth.
package redisbackend
