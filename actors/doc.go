// Package actors holds the pool's working actors: the broker, which
// decides, and the connection actor, which owns one backend connection.
//
// The guarantee: a connection is touched only by its own connection actor,
// or by the one lease holder it was granted to, never by both at once. The
// actor dials, resets, pings and closes; the holder uses it between grant
// and the end of its lease. Who holds what is recorded in one place, the
// ledger (internal/ledger), under one lock: a connection is granted and a
// lease ends only under that lock, and a connection the ledger has handed
// to its actor (reset, ping, close) is in no one else's hands until the
// actor gives it back to the ledger.
//
// The broker owns every decision over time: actors' acquires and their
// deadlines, owners' deaths, lease timeouts and leak warnings, keepalive,
// validation, idle and lifetime retirement, run-time limits, Close; and,
// as the dialer, how many connection actors exist, when each dials, its
// backoff and the circuit. The supervisor (package supervisor) carries out
// the dialer's decisions. Callers and holders reach the broker only
// through the ledger, which nudges it when the pool should grow.
//
// In command mode the dispatcher (commands.go) decides how many of the
// pool's connections serve it: it leases them from the broker like any
// actor and gives them back. A connection in command mode is used by
// batches written one at a time: by its connection actor (pipeline.go), or,
// when the connection is idle and nothing waits, by the caller whose
// command meets it; the queue's busy flag keeps the two apart.
//
// The package's exported names (Spawn, BrokerConfig, ConnectionConfig,
// NewConnectionProducer, SpawnDispatcher, DispatcherConfig, CommandMode) serve package actorpool, which assembles a pool
// from them, and RefillDials its tests; they name the pool's internal
// types and are not an API of their own.
package actors
