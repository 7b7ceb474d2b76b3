package ledger

import "errors"

// Errors returned by the pool. Declared once, here; package actorpool exports each of them;
// match with errors.Is.
var (
	// ErrAcquireTimeout: no connection became free within AcquireTimeout.
	ErrAcquireTimeout = errors.New("actorpool: acquire timeout")
	// ErrPoolClosed: the pool is closing or closed.
	ErrPoolClosed = errors.New("actorpool: pool closed")
	// ErrBackendUnavailable: no connection is alive and the last dial
	// failed; the error wraps the dial error.
	ErrBackendUnavailable = errors.New("actorpool: backend unavailable")
	// ErrLeaseReleased: the lease has already ended (released or marked
	// broken); the call changed nothing.
	ErrLeaseReleased = errors.New("actorpool: lease already released")
	// ErrLeaseRevoked: the pool took the lease back (lease timeout, owner
	// actor stopped, or Close); its connection was closed.
	ErrLeaseRevoked = errors.New("actorpool: lease revoked")
	// ErrTooManyWaiters: MaxWaiters callers are already waiting.
	ErrTooManyWaiters = errors.New("actorpool: too many waiters")
	// ErrOverloaded: the pool was overloaded (QueueTarget) and the caller
	// had waited past twice the target; the error also matches
	// ErrAcquireTimeout.
	ErrOverloaded = errors.New("actorpool: overloaded")
	// ErrInvalidConfig: a Config field or a backend option is invalid; the
	// error names the field.
	ErrInvalidConfig = errors.New("actorpool: invalid config")
)
