package messages

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/core"
)

// Acquire asks the broker for a lease on behalf of the sending actor.
// Sender: any actor, with ctx.Request(pool.Broker(), &Acquire{}).
// Reply to the sender: *Granted[C] or *AcquireFailed.
type Acquire struct {
	// Timeout bounds the wait; zero means the pool's AcquireTimeout.
	Timeout time.Duration
	// Owner is the actor whose stop reclaims the lease; nil means the
	// sender. Set it to ctx.Self() when sending with RequestFuture (so that
	// the broker watches the actor, not the future), and give the future a
	// timeout longer than Timeout, or a grant may reach an expired future.
	Owner *actor.PID
}

// Granted carries a lease to the actor that sent *Acquire.
// Sender: broker. The receiving actor now holds the lease and must end it
// with Lease.Release or Lease.MarkBroken.
type Granted[C any] struct {
	Lease core.Lease[C]
}

// AcquireFailed tells the actor that sent *Acquire that no lease will come.
// Sender: broker. Err matches (errors.Is) ErrAcquireTimeout, ErrPoolClosed,
// ErrBackendUnavailable or ErrTooManyWaiters.
type AcquireFailed struct {
	Err error
}

// CancelAcquire withdraws a goroutine caller's request whose ctx ended.
// Sender: Pool.Acquire, after it won Request.Cancel. No reply.
type CancelAcquire[C any] struct {
	Request *core.Request[C]
}

// GetStats asks the broker for a snapshot. Sender: Pool.Stats via
// RequestFuture. Reply: *Stats.
type GetStats struct{}

// Stats is the broker's snapshot. Total = Idle + Leased + Dialing holds in
// every snapshot.
type Stats struct {
	MinConns, MaxConns int
	Total              int // connection actors alive (or asked for)
	Idle               int // connected and not leased: ready to lend, or being pinged
	Leased             int // held by a lease (including one being reset)
	Dialing            int // dialling, waiting to redial after a failure
	Waiting            int // acquirers in the queue

	Acquired     uint64 // leases granted
	Timeouts     uint64 // acquires failed with ErrAcquireTimeout
	FailedFast   uint64 // acquires failed with ErrBackendUnavailable
	Rejected     uint64 // acquires failed with ErrTooManyWaiters
	Dials        uint64 // successful dials
	DialErrors   uint64 // failed dials
	Restarts     uint64 // connection actor restarts (a new connection each)
	Broken       uint64 // leases ended with MarkBroken
	Revoked      uint64 // leases revoked for LeaseTimeout or Close
	Reclaimed    uint64 // leases reclaimed because the owner actor stopped
	LeakWarnings uint64 // leases reported held past LeakWarnAfter

	RetiredIdle       uint64 // idle connections closed after IdleTimeout, above MinConns
	RetiredLifetime   uint64 // connections closed after MaxLifetime (less its jitter)
	FailedPings       uint64 // keepalive pings that failed; the connection was replaced
	FailedValidations uint64 // pings before lending that failed; the connection was replaced
	CircuitOpens      uint64 // times the pool went from some connection alive to none, with dials failing

	LastDialError error // the last dial error while no connection is alive
}

// Close tells the broker the pool is closing: it fails every waiter and
// every later acquire with ErrPoolClosed, and closes Done when no lease is
// out. Sender: Pool.Close. Reply: Done is closed.
type Close struct {
	Done chan struct{}
}

// ForceClose revokes the leases still out once Close's ctx has ended.
// Sender: Pool.Close. Reply: Done is closed; Revoked says how many.
type ForceClose struct {
	Done    chan struct{}
	Revoked int
}

// LeaseEnded tells a connection actor that the lease on its connection
// ended (released or marked broken; the slot's state says which).
// Sender: the lease holder, from Lease.Release or Lease.MarkBroken; one
// pre-allocated value per slot. No reply; the connection actor answers the
// broker with the slot's Returned.
type LeaseEnded struct{}

// Returned gives a connection back to the broker after a lease ended: reset
// and reusable if Slot.Reusable(), else lost (the actor is redialling).
// Sender: connection actor; one pre-allocated value per slot. No reply.
type Returned[C any] struct {
	Slot *core.Slot[C]
}

// Dialed announces a new connection. Sender: connection actor, to its
// supervisor, after a successful dial. The supervisor forwards it to the
// broker as *Ready.
type Dialed[C any] struct {
	Slot *core.Slot[C]
}

// Ready offers a new connection to the broker. Sender: supervisor.
// Restarted says it replaces an earlier connection of the same actor.
type Ready[C any] struct {
	Slot      *core.Slot[C]
	Restarted bool
}

// DialFailed reports a failed dial. Sender: supervisor, to the broker, when
// its strategy handles the failure. Attempt counts consecutive failures of
// that actor; RetryIn is the backoff before its next dial, or zero when the
// actor waits for the probe's dial instead (the circuit is open).
type DialFailed struct {
	Err     error
	Attempt int
	RetryIn time.Duration
}

// Demand tells the supervisor that callers are being failed fast while the
// circuit is open. Sender: broker, to the supervisor, at most once per
// failed dial. No reply: the supervisor brings the probe's redial forward
// to BackoffMin after its last failed dial.
type Demand struct{}

// Grow asks the supervisor for N more connection actors. Sender: broker.
// The new actors answer with *Dialed (or fail and are restarted).
type Grow struct {
	N int
}

// Revoke tells a connection actor that the broker took its lease back: it
// closes the connection and crashes, so the supervisor dials a new one.
// Sender: broker.
type Revoke struct {
	Reason string
}

// Retire tells a connection actor to close its connection and stop.
// Sender: broker, only for a connection it took off the idle stack.
type Retire struct{}

// Ping asks a connection actor to ping its idle connection. Sender: broker,
// only for a connection it took off the idle stack (so it is not leased, and
// is not lent while the ping runs). Validation says the ping is the check
// before lending (ValidateAfterIdle) rather than a keepalive. Reply to the
// broker: *Checked[C]; after a failure the actor also closes the connection
// and crashes, so the supervisor dials a new one.
type Ping struct {
	Validation bool
}

// Checked reports the result of a *Ping. Sender: connection actor, to the
// broker. Err nil: the connection is alive and idle again; otherwise it is
// closed and being replaced.
type Checked[C any] struct {
	Slot       *core.Slot[C]
	Err        error
	Validation bool
}

// SetLimits changes MinConns and MaxConns at run time. Sender:
// Pool.SetLimits, with limits it has validated. Reply: Done gets nil once
// the broker applied them, or ErrPoolClosed.
type SetLimits struct {
	Min, Max int
	Done     chan error // buffered(1)
}

// Shrink asks the supervisor to stop up to N connection actors that have no
// connection (waiting to redial, or held back while the circuit is open),
// because the pool is above MaxConns. Sender: broker. Reply: *Shrunk.
type Shrink struct {
	N int
}

// Retired tells the broker that a connection actor it retired (with
// *Retire) has stopped and its supervisor has forgotten it. Close waits for
// these, so that stopping the pool never races an actor stopping itself.
// Sender: supervisor, to the broker.
type Retired struct{}

// Shrunk says how many connection actors a *Shrink stopped; Asked repeats
// the request's N. Sender: supervisor, to the broker.
type Shrunk struct {
	Asked, Stopped int
}

// MaintenanceTick wakes the broker to stamp idle connections and to ping,
// validate-flag or retire those that are due. Sender: the broker's own
// timer.
type MaintenanceTick struct{}

// StampSoon asks the broker to arm its maintenance tick within the idle-age
// resolution, so that it stamps a connection a holder put back on the idle
// stack without the broker. Sender: Lease.Release on the fast path, once
// until the tick (core.Idle.StampSoon). No reply.
type StampSoon struct{}

// WatchLeases asks the broker to arm its lease timer (LeaseTimeout,
// LeakWarnAfter) for a lease a caller took on the fast path while the timer
// was off. Sender: Pool.Acquire on the fast path, once until the broker
// finds no lease out (core.Idle.Watching). No reply.
type WatchLeases struct{}

// WaiterTick wakes the broker at the earliest waiter deadline.
// Sender: the broker's own timer.
type WaiterTick struct{}

// LeaseTick wakes the broker to check lease timeouts and leak warnings.
// Sender: the broker's own timer.
type LeaseTick struct{}

// RestartChild restarts a connection actor whose backoff has elapsed.
// Sender: the supervisor's own timer, to the supervisor. Seq names the
// timer: one that was stopped or replaced after it fired sends a stale Seq,
// which is ignored.
type RestartChild struct {
	Child *actor.PID
	Seq   uint64
}
