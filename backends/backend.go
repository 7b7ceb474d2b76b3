package backends

// This file is the Backend interface a pool is built on, and the optional
// interfaces a backend may add: Validator, ResetTracker and Namer.

import "context"

// Backend opens and maintains connections of type C.
//
// Dial, Ping, Reset and Close are called by the pool's connection actor
// that owns the connection, one call at a time and never while the
// connection is leased. IsFatal is not: Pool.With calls it on the holder's
// goroutine (see IsFatal). A Backend value itself is shared by all
// connection actors and all holders of a pool, so its methods must be safe
// for concurrent use across different connections.
type Backend[C any] interface {
	// Dial opens one new connection. Called by a connection actor when it
	// starts (the connection is then that actor's). ctx carries the pool's
	// DialTimeout and is cancelled when the pool closes; it is never a
	// caller's Acquire ctx. The returned error must not contain a password.
	Dial(ctx context.Context) (C, error)

	// Ping checks that conn is alive. Called by the connection actor that
	// owns conn, while conn is idle: on keepalive, and before lending a
	// connection that sat idle longer than ValidateAfterIdle. An error
	// retires the connection; it is closed and replaced.
	Ping(ctx context.Context, conn C) error

	// Reset undoes whatever a holder left on conn (selected database, open
	// transaction, session state), so nothing reaches the next holder.
	// Called by the connection actor that owns conn, after a lease that
	// ended with Release, unless the backend is a ResetTracker whose
	// NeedsReset returned false for it. An error retires the connection; it
	// is closed and replaced, never lent again.
	Reset(ctx context.Context, conn C) error

	// Close closes conn. Called by the connection actor that owns conn,
	// exactly once per connection returned by Dial. The pool counts conn
	// against MaxConns until Close returns, and dials its replacement only
	// then: a Close that returns once the server has let the connection go
	// (bounded, as the Redis and MySQL backends do) keeps the server's
	// count within MaxConns while connections are replaced.
	Close(conn C) error

	// IsFatal reports whether err, seen by a holder while using a connection,
	// means the connection can no longer be used (a network error, a closed
	// connection). It is not called by a connection actor: Pool.With calls
	// it on the holder's goroutine, after fn returned err and before the
	// lease ends, and marks the lease broken when it returns true. Holders
	// that manage leases themselves may call it too. It can therefore run
	// on many goroutines at once; it is given no connection and decides from
	// err alone. A plain error reply from the server (a missing key, a
	// duplicate row) must return false.
	IsFatal(err error) bool
}

// Validator is implemented by backends whose configuration can be checked
// before any dial (an empty address, a malformed DSN). actorpool.New calls
// Validate, on the goroutine calling New, before any connection actor
// starts, and wraps its error in actorpool.ErrInvalidConfig.
type Validator interface {
	Validate() error
}

// ResetTracker is implemented by backends that can tell whether a holder
// may have changed a connection's session (a selected database, an open
// transaction). When it returns false, the connection goes straight back
// to the idle connections (or to the oldest waiter) without a Reset; when
// true, it goes to its connection actor for a Reset.
//
// NeedsReset is called by the pool's ledger, under the ledger's lock, on
// the goroutine that ends the lease: the one calling Release (directly or
// through Pool.With), or an Acquire that gives back a connection granted
// after its ctx ended. The lease still owns conn then. It is not called
// for a lease ended with MarkBroken. Since it holds up the lock that every
// Acquire and Release of the pool takes, it must be cheap (it runs on every
// Release), must not block (no I/O, no wait on a lock that may be held for
// long: Release never blocks), and must not call back into the pool
// (Acquire, Release, Stats, ...), which would deadlock on that lock.
type ResetTracker[C any] interface {
	NeedsReset(conn C) bool
}

// Pipeliner is implemented by backends that run command mode (Pool.Do):
// callers hand the pool work instead of leasing a connection, and the
// connection actor that owns a connection writes all the work queued for
// it while its last round trip was in flight as one batch.
//
// Pipeline is called one call at a time per connection, on a connection
// that serves command mode (leased by the pool itself, never by a holder):
// by its connection actor, or, when the connection is idle and no work
// waits for it, for the caller of Pool.Do whose work meets it (on that
// caller's goroutine, or on one of its own when the caller's ctx can end).
// work holds the values callers passed to Pool.Do, oldest first, each from
// a caller that waited for it when the batch was made. Pipeline writes
// them all in one round trip (a pipeline) and reads every reply into its
// work value: a reply that is an error of its own (a missing key, a wrong
// type) stays there, for its caller to see. A caller whose ctx ends while
// the batch is in flight returns without waiting; its reply is still read
// into its work value, which nobody reads after. Pipeline returns an error
// only when conn can no longer be used (a network error, a protocol
// error): every caller of the batch then gets that error, since its work
// may or may not have run, and the connection is closed and replaced.
type Pipeliner[C any] interface {
	Pipeline(ctx context.Context, conn C, work []any) error
}

// Duplexer is implemented by a Pipeliner whose protocol takes the next
// request while the replies to the last are on their way (Redis). Command
// mode then gives each of its connections a writer and a reader, each on a
// goroutine of its own: batch n+1 is written while batch n's replies are
// read, and a caller's work never waits for a round trip it is not part
// of. Pipeline is then not used by command mode.
//
// Split is called on a connection that enters command mode (leased by the
// pool itself, never by a holder), before its first batch. The Duplex it
// returns serves the connection until its Join; after Join the connection
// is used whole again (reset, pinged, lent). An error from Split means the
// connection cannot serve command mode: it is closed and replaced.
type Duplexer[C any] interface {
	Pipeliner[C]
	Split(conn C) (Duplex, error)
}

// Duplex is a connection split for command mode (Duplexer).
//
// Send writes the work values of a batch (as Pipeliner's work) and returns
// once they are written, without reading replies; one goroutine calls it,
// batch after batch. Receive reads the replies to the oldest batch sent
// and not yet received into its work values; another goroutine calls it,
// once per Send, in the same order, with the same work. Join is called
// once, when every batch sent has been received and neither goroutine
// uses the Duplex any more; it is not called when the connection broke.
//
// An error from Send or Receive means the connection can no longer be
// used, as for Pipeline: every caller whose work was sent and not yet
// received gets it, and the connection is closed and replaced.
type Duplex interface {
	Send(work []any) error
	Receive(ctx context.Context, work []any) error
	Join() error
}

// BatchLimiter is implemented by a Pipeliner whose protocol cannot send
// the next request before the last reply (MySQL): its batches run one
// request after the other, so a long batch only delays the requests at
// its end. MaxBatch caps Config.MaxBatch for its pools; with 1, every
// request waiting behind another makes command mode take one more
// connection, up to MaxConns.
type BatchLimiter interface {
	MaxBatch() int
}

// Namer is implemented by backends that can name what they connect to,
// for metrics and traces: actorpool.New uses Name as the pool's default
// name (Config.Name). The name must never contain a password; it should
// identify the server and database, for example "redis://127.0.0.1:6379/0".
type Namer interface {
	Name() string
}
