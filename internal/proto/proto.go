// Package proto is the actors' internal protocol: the messages the broker,
// the supervisor and the connection actors send one another. Users never
// see them; what users send and receive is in package messages. Every
// message is sent as a pointer.
package proto

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/cmdq"
	"github.com/actorpool/actorpool/internal/ledger"
)

// To the broker.

// Nudge tells the broker it has something to decide: the waiters may need
// more connections, stale connections need a ping, or callers are being
// failed fast (the probe may redial sooner). Sender: a caller, through the
// ledger, at most one in flight. No reply.
type Nudge struct{}

// Returned brings an idle connection to the broker, which places or
// retires it: the pool is closing, above MaxConns, or the connection is
// past its lifetime. Sender: a holder or a connection actor, through the
// ledger; one value per slot. No reply.
type Returned[C any] struct{ Slot *ledger.Slot[C] }

// Ready offers a newly dialled connection. Sender: its connection actor.
type Ready[C any] struct{ Slot *ledger.Slot[C] }

// ConnFailed reports a connection actor that crashed: its dial failed, or
// (Lost) its live connection was lost and closed. The actor is suspended
// until the broker answers the supervisor with *Restart or *StopChild.
// Sender: the supervisor's strategy.
type ConnFailed struct {
	Child *actor.PID
	Lost  bool
	Err   error
}

// ConnStopped reports that a connection actor stopped. Sender: supervisor.
type ConnStopped struct{ Child *actor.PID }

// RedialDue fires when a connection actor's backoff ends. Seq names the
// timer; a stale one is ignored. Sender: the broker's own timer.
type RedialDue struct {
	Child *actor.PID
	Seq   uint64
}

// MaintenanceTick, LeaseTick and WaiterTick are the broker's periodic
// maintenance, its lease check, and the deadline of the first actor in
// line. Sender: the broker's own timers.
type (
	MaintenanceTick struct{}
	LeaseTick       struct{}
	WaiterTick      struct{}
)

// SetLimits changes MinConns and MaxConns. Sender: Pool.SetLimits, with
// limits it validated. Reply: Done gets nil, or ErrPoolClosed.
type SetLimits struct {
	Min, Max int
	Done     chan error // buffered(1)
}

// Close starts closing: waiters and later acquires fail with
// ErrPoolClosed. Reply: Done is closed once no lease is out.
type Close struct{ Done chan struct{} }

// ForceClose revokes the leases still out. Reply: Done gets how many.
type ForceClose struct{ Done chan int }

// Shutdown stops the supervisor and every connection actor, closing every
// connection. Reply: Done is closed once they all stopped. Sender:
// Pool.Close; with Done nil, the broker's own timer, to stop the
// supervisor even if a connection actor is slow to stop.
type Shutdown struct{ Done chan struct{} }

// To the supervisor, from the broker.

// Spawn starts N connection actors; each dials, then sends *Ready or
// crashes.
type Spawn struct{ N int }

// Restart restarts a crashed connection actor now: a new dial.
type Restart struct{ Child *actor.PID }

// StopChild stops a connection actor that has no connection.
type StopChild struct{ Child *actor.PID }

// To a connection actor.

// LeaseEnded says the lease on its connection ended and the connection
// needs it: a reset (then ledger.Returned) or a close (marked broken).
// Sender: the holder, through the ledger; one value per slot.
type LeaseEnded struct{}

// Ping asks for a ping of its idle connection, which the broker took off
// the stack. Validation: the check before lending, not a keepalive. The
// actor answers the ledger (Pinged); a failed ping also closes the
// connection and crashes the actor.
type Ping struct{ Validation bool }

// Revoke says the broker took the lease back: close and crash, so that the
// connection is replaced. Sender: broker.
type Revoke struct{ Reason string }

// Retire says: close the connection and stop. Sender: broker, for an idle
// connection it took out of the ledger.
type Retire struct{}

// Drain asks a connection actor to write the next batch of its command
// queue. Sender: a caller whose push found no drain on its way, or the
// actor itself when it left work behind. Every value is the same.
type Drain struct{}

// CommandsEnded tells a connection actor that its pump (a Duplexer's
// command mode) is done with the connection under lease Gen: Err is nil
// when the queue was closed and emptied, else why the connection broke.
// Sender: the pump, named by From, so that the actor ignores the word of a
// pump of an earlier incarnation.
type CommandsEnded struct {
	From any
	Gen  uint64
	Err  error
}

// To the command dispatcher.

// Grow asks for another connection in command mode: no queue takes work,
// or a batch left work behind. Sender: a caller or a connection actor,
// through cmdq.Set (one in flight).
type Grow struct{}

// CommandTick is the dispatcher's periodic look at its queues. Sender: its
// own timer.
type CommandTick struct{}

// Park hands the dispatcher a message's command-mode op that found no
// queue taking work. Sender: the pool, on the sending actor's goroutine.
type Park struct{ Op *cmdq.Op }

// LimitsChanged tells the dispatcher that MaxConns changed, so that it
// gives back at once the connections above the new limit. Sender:
// Pool.SetLimits, after the broker applied the limits.
type LimitsChanged struct{}

// CloseCommands stops command mode: queues take no more work and give
// their connections back once written. Reply: Done is closed.
type CloseCommands struct{ Done chan struct{} }
