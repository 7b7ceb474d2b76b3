// Package group puts several endpoints behind one front: one
// actorpool.Pool per endpoint (its own broker, supervisor, connection
// actors and circuit), all on one actor system, and a Picker that chooses
// the endpoint for each lease.
//
// Acquire and With lease from a primary (read-write); AcquireRead and
// WithRead from a replica, or from a primary when no replica can serve
// (unless Config.StrictReads). Roles come from the servers when the backend
// is a backends.RoleReader (Redis ROLE, MySQL @@read_only), read on an
// interval and again after a failure, so that a promoted replica takes the
// writes; otherwise from Endpoint.Replica.
//
// An endpoint whose pool fails fast (its circuit is open) is skipped while
// another can serve; when none can, Acquire fails with an error matching
// actorpool.ErrBackendUnavailable that joins every endpoint's error. A
// lease comes from one endpoint's pool and ends there: Release and
// MarkBroken are the pool's own.
//
// Who owns what: each endpoint's pool owns its connections, its line of
// waiters and its circuit, as a single pool does; the group owns only the
// list of endpoints (changed under its mutex, read without a lock), each
// endpoint's role and weight (atomics, written by the role checker and
// SetWeight), and the role checker goroutine. Loads for the picker are
// read from each pool's Stats, never counted twice.
package group
