package backends

import "context"

// Backend opens and maintains connections of type C.
//
// Every method is called from the connection actor that owns the connection,
// one call at a time. A Backend value itself is shared by all connection
// actors of a pool, so its methods must be safe for concurrent use across
// different connections.
type Backend[C any] interface {
	// Dial opens one new connection. ctx carries the pool's DialTimeout and
	// is cancelled when the pool closes; it is never a caller's Acquire ctx.
	// The returned error must not contain a password.
	Dial(ctx context.Context) (C, error)

	// Ping checks that conn is alive. Called on keepalive and before lending
	// a connection that sat idle longer than ValidateAfterIdle. An error
	// retires the connection; it is closed and replaced.
	Ping(ctx context.Context, conn C) error

	// Reset undoes whatever a holder left on conn (selected database, open
	// transaction, session state), so nothing reaches the next holder. Called
	// after every lease that ended with Release. An error retires the
	// connection; it is closed and replaced, never lent again.
	Reset(ctx context.Context, conn C) error

	// Close closes conn. Called exactly once per connection returned by Dial.
	Close(conn C) error

	// IsFatal reports whether err, seen by a holder while using a connection,
	// means the connection can no longer be used (a network error, a closed
	// connection). Pool.With marks the lease broken when it returns true; a
	// plain error reply from the server (a missing key, a duplicate row)
	// must return false.
	IsFatal(err error) bool
}

// Validator is implemented by backends whose configuration can be checked
// before any dial (an empty address, a malformed DSN). actorpool.New calls
// Validate and wraps its error in actorpool.ErrInvalidConfig.
type Validator interface {
	Validate() error
}

// ResetTracker is implemented by backends that can tell whether a holder
// may have changed a connection's session (a selected database, an open
// transaction). NeedsReset is called on the releasing goroutine, while the
// lease still owns conn; when it returns false, the connection goes straight
// back to the idle connections without a Reset. It must be cheap: it sits on every
// Release.
type ResetTracker[C any] interface {
	NeedsReset(conn C) bool
}
