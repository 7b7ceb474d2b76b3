package actorpool

import "github.com/actorpool/actorpool/internal/ledger"

// Errors returned by the pool; match them with errors.Is. Context errors
// come back as themselves. Each is declared once, in the pool's ledger, and
// exported here.
var (
	// ErrAcquireTimeout: no connection became free within AcquireTimeout.
	ErrAcquireTimeout = ledger.ErrAcquireTimeout
	// ErrPoolClosed: the pool is closing or closed.
	ErrPoolClosed = ledger.ErrPoolClosed
	// ErrBackendUnavailable: no connection is alive and the last dial
	// failed; the error also wraps that dial error.
	ErrBackendUnavailable = ledger.ErrBackendUnavailable
	// ErrLeaseReleased: the lease had already ended; nothing changed.
	ErrLeaseReleased = ledger.ErrLeaseReleased
	// ErrLeaseRevoked: the pool took the lease back (LeaseTimeout, owner
	// actor stopped, or Close); its connection was closed.
	ErrLeaseRevoked = ledger.ErrLeaseRevoked
	// ErrTooManyWaiters: MaxWaiters callers are already waiting.
	ErrTooManyWaiters = ledger.ErrTooManyWaiters
	// ErrOverloaded: overload control (Config.QueueTarget) failed the
	// acquire early; it also matches ErrAcquireTimeout.
	ErrOverloaded = ledger.ErrOverloaded
	// ErrInvalidConfig: a Config field or backend option is invalid; the
	// message names it.
	ErrInvalidConfig = ledger.ErrInvalidConfig
)
