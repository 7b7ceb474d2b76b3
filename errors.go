package actorpool

import "github.com/actorpool/actorpool/internal/core"

// Errors returned by the pool; match them with errors.Is. Context errors
// come back as themselves.
var (
	// ErrAcquireTimeout: no connection became free within AcquireTimeout.
	ErrAcquireTimeout = core.ErrAcquireTimeout
	// ErrPoolClosed: the pool is closing or closed.
	ErrPoolClosed = core.ErrPoolClosed
	// ErrBackendUnavailable: no connection is alive and the last dial
	// failed; the error also wraps that dial error.
	ErrBackendUnavailable = core.ErrBackendUnavailable
	// ErrLeaseReleased: the lease had already ended; nothing changed.
	ErrLeaseReleased = core.ErrLeaseReleased
	// ErrLeaseRevoked: the pool took the lease back (LeaseTimeout, owner
	// actor stopped, or Close); its connection was closed.
	ErrLeaseRevoked = core.ErrLeaseRevoked
	// ErrTooManyWaiters: MaxWaiters callers are already waiting.
	ErrTooManyWaiters = core.ErrTooManyWaiters
	// ErrInvalidConfig: a Config field or backend option is invalid; the
	// message names it.
	ErrInvalidConfig = core.ErrInvalidConfig
)
