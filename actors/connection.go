package actors

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/internal/core"
	"github.com/actorpool/actorpool/messages"
)

// ConnectionConfig is shared, read-only, by every connection actor of a pool.
type ConnectionConfig[C any] struct {
	Backend backends.Backend[C]
	Broker  *actor.PID
	Slots   core.SlotConfig[C]
	// Ctx lives as long as the pool; Close cancels it, so dials in flight
	// give up instead of holding the shutdown.
	Ctx context.Context
	// OpTimeout bounds each Dial, Reset and Ping.
	OpTimeout time.Duration
	Logger    *slog.Logger
	// IDs numbers connections across the pool, for logs and leases.
	IDs *atomic.Uint64
}

// errRevoked is the failure a connection actor crashes with when the broker
// took its lease back.
var errRevoked = errors.New("lease revoked")

// connection owns one backend connection for one incarnation: it dials in
// Started and closes in Restarting or Stopping. A new connection is always a
// restart by the supervisor, never a silent redial.
//
// Every field is owned by Receive; holders reach the connection only through
// the slot, between grant and the end of their lease.
type connection[C any] struct {
	cfg  *ConnectionConfig[C]
	slot *core.Slot[C]
	open bool
}

// NewConnectionProducer returns the producer for connection actors.
func NewConnectionProducer[C any](cfg *ConnectionConfig[C]) actor.Producer {
	return func() actor.Actor { return &connection[C]{cfg: cfg} }
}

func (a *connection[C]) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.dial(ctx)
	case *actor.Restarting, *actor.Stopping:
		a.close()
	case *messages.LeaseEnded:
		a.handleLeaseEnded(ctx)
	case *messages.Ping:
		a.handlePing(ctx, msg)
	case *messages.Revoke:
		a.close()
		panic(&core.Failure{Kind: core.ConnLost, Err: errRevoked})
	case *messages.Retire:
		a.close()
		ctx.Stop(ctx.Self())
	default:
		_ = msg
	}
}

// dial opens the connection. A failure crashes the actor; the supervisor
// restarts it after a backoff.
func (a *connection[C]) dial(ctx actor.Context) {
	dctx, cancel := context.WithTimeout(a.cfg.Ctx, a.cfg.OpTimeout)
	conn, err := a.cfg.Backend.Dial(dctx)
	cancel()
	if err != nil {
		panic(&core.Failure{Kind: core.DialFailed, Err: err})
	}
	slot := core.NewSlot(a.cfg.Slots, ctx.Self(), a.cfg.IDs.Add(1), conn, &messages.LeaseEnded{},
		func(s *core.Slot[C]) any { return &messages.Returned[C]{Slot: s} })
	a.slot, a.open = slot, true
	ctx.Send(ctx.Parent(), &messages.Dialed[C]{Slot: slot})
}

// handleLeaseEnded resets a released connection and hands it back to the
// broker; a connection marked broken, or whose reset fails, is closed and
// the actor crashes so that the supervisor dials a new one.
func (a *connection[C]) handleLeaseEnded(ctx actor.Context) {
	slot := a.slot
	if slot.Reusable() {
		rctx, cancel := context.WithTimeout(a.cfg.Ctx, a.cfg.OpTimeout)
		err := a.cfg.Backend.Reset(rctx, slot.Conn)
		cancel()
		if err == nil {
			ctx.Send(a.cfg.Broker, slot.Returned)
			return
		}
		slot.Cause = err
		slot.MarkLost()
		a.logReplaced("actorpool: reset failed; replacing connection", err)
	}
	a.close()
	// The broker counts the lease as ended before the actor redials.
	ctx.Send(a.cfg.Broker, slot.Returned)
	panic(&core.Failure{Kind: core.ConnLost, Err: slot.Cause})
}

// handlePing checks the idle connection the broker took off the idle stack,
// for a keepalive or before lending it. The answer goes back to the broker;
// a failed ping closes the connection and crashes the actor, so that the
// supervisor dials a new one before anyone leases the dead one.
func (a *connection[C]) handlePing(ctx actor.Context, msg *messages.Ping) {
	slot := a.slot
	pctx, cancel := context.WithTimeout(a.cfg.Ctx, a.cfg.OpTimeout)
	err := a.cfg.Backend.Ping(pctx, slot.Conn)
	cancel()
	ctx.Send(a.cfg.Broker, &messages.Checked[C]{Slot: slot, Err: err, Validation: msg.Validation})
	if err == nil {
		return
	}
	what := "actorpool: keepalive ping failed; replacing connection"
	if msg.Validation {
		what = "actorpool: ping before lending failed; replacing connection"
	}
	a.logReplaced(what, err)
	a.close()
	panic(&core.Failure{Kind: core.ConnLost, Err: err})
}

// logReplaced logs why a connection is being replaced: at Warn, unless the
// backend says it is an expected replacement (backends.ErrReplace) or the
// pool is closing.
func (a *connection[C]) logReplaced(what string, err error) {
	level := slog.LevelWarn
	if errors.Is(err, backends.ErrReplace) || a.cfg.Ctx.Err() != nil {
		level = slog.LevelDebug
	}
	a.cfg.Logger.Log(context.Background(), level, what, "conn", a.slot.ID, "err", err)
}

func (a *connection[C]) close() {
	if !a.open {
		return
	}
	a.open = false
	if err := a.cfg.Backend.Close(a.slot.Conn); err != nil {
		a.cfg.Logger.Debug("actorpool: close failed", "conn", a.slot.ID, "err", err)
	}
}
