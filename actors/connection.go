package actors

// The connection actor owns one backend connection for one incarnation:
// it dials it, resets it after a lease, pings it, and closes it. After a
// reset it puts the connection back into the ledger itself.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/internal/cmdq"
	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// ConnectionConfig is shared, read-only, by every connection actor of a pool.
type ConnectionConfig[C any] struct {
	Backend backends.Backend[C]
	Broker  *actor.PID
	Ledger  *ledger.Ledger[C]
	// Ctx lives as long as the pool; Close cancels it, so dials in flight
	// give up instead of holding the shutdown.
	Ctx context.Context
	// Settings hold the DialTimeout in force, which bounds each Dial,
	// Reset and Ping.
	Settings *proto.Settings
	Logger   *slog.Logger
	// IDs numbers connections across the pool, for logs and leases.
	IDs *atomic.Uint64
	// Commands is command mode; nil when the backend has none.
	Commands *CommandMode[C]
}

// errRevoked is the failure a connection actor crashes with when the broker
// took its lease back.
var errRevoked = errors.New("lease revoked")

// connection dials in Started and closes in Restarting or Stopping. A new
// connection is always a restart by the supervisor, on the broker's word,
// never a silent redial.
//
// Every field is owned by Receive; holders reach the connection only
// through the ledger, between grant and the end of their lease.
type connection[C any] struct {
	cfg  *ConnectionConfig[C]
	slot *ledger.Slot[C]
	open bool

	// Buffers reused by every command batch.
	batch []*cmdq.Op
	buf   batchBuf
	// pump writes and reads the connection in command mode when the
	// backend is a Duplexer; nil otherwise.
	pump *pump
}

// NewConnectionProducer returns the producer for connection actors.
func NewConnectionProducer[C any](cfg *ConnectionConfig[C]) actor.Producer {
	return func() actor.Actor { return &connection[C]{cfg: cfg} }
}

func (a *connection[C]) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.dial(ctx)
	case *proto.Drain:
		a.handleDrain(ctx)
	case *proto.CommandsEnded:
		a.commandsEnded(msg)
	case *actor.Restarting, *actor.Stopping:
		a.bounce()
		a.close()
	case *proto.LeaseEnded:
		a.handleLeaseEnded(ctx)
	case *proto.Ping:
		a.handlePing(ctx, msg)
	case *proto.Revoke:
		a.close()
		a.fail(ctx, &proto.Failure{Kind: proto.ConnLost, Err: errRevoked})
	case *proto.Retire:
		a.close()
		ctx.Stop(ctx.Self())
	}
}

// dial opens the connection and offers it to the broker. On a failure the
// actor fails (fail); the broker decides when it redials.
func (a *connection[C]) dial(ctx actor.Context) {
	dctx, cancel := context.WithTimeout(a.cfg.Ctx, a.cfg.Settings.Load().DialTimeout)
	conn, err := a.cfg.Backend.Dial(dctx)
	cancel()
	if err != nil {
		a.fail(ctx, &proto.Failure{Kind: proto.DialFailed, Err: err})
		return
	}
	a.slot = ledger.NewSlot(a.cfg.Ledger, ctx.Self(), a.cfg.IDs.Add(1), conn, &proto.LeaseEnded{},
		func(s *ledger.Slot[C]) any { return &proto.Returned[C]{Slot: s} })
	if q := a.newQueue(ctx, conn); q != nil {
		s := a.slot
		q.Expires = func() bool { return s.PastLifetime(time.Now()) }
		s.Queue = q
	}
	a.open = true
	ctx.Send(a.cfg.Broker, &proto.Ready[C]{Slot: a.slot})
}

// handleLeaseEnded resets a released connection and puts it back into the
// ledger; a connection marked broken, or whose reset fails, is closed and
// the actor fails so that the broker has it replaced.
func (a *connection[C]) handleLeaseEnded(ctx actor.Context) {
	l := a.cfg.Ledger
	ok, cause := l.Resettable(a.slot)
	if ok {
		rctx, cancel := context.WithTimeout(a.cfg.Ctx, a.cfg.Settings.Load().DialTimeout)
		err := guard(func() error { return a.cfg.Backend.Reset(rctx, a.slot.Conn) })
		cancel()
		if err == nil {
			l.Returned(a.slot)
			return
		}
		cause = err
		a.logReplaced("actorpool: reset failed; replacing connection", err)
	}
	a.close()
	l.Lost(a.slot, ok)
	a.fail(ctx, &proto.Failure{Kind: proto.ConnLost, Err: cause})
}

// handlePing checks the idle connection the broker took off the stack, for
// a keepalive or before lending it, and tells the ledger. A failed ping
// closes the connection and fails the actor, so that it is replaced
// before anyone leases it.
func (a *connection[C]) handlePing(ctx actor.Context, msg *proto.Ping) {
	pctx, cancel := context.WithTimeout(a.cfg.Ctx, a.cfg.Settings.Load().DialTimeout)
	err := guard(func() error { return a.cfg.Backend.Ping(pctx, a.slot.Conn) })
	cancel()
	if err == nil {
		a.cfg.Ledger.Pinged(a.slot, msg.Validation, nil)
		return
	}
	what := "actorpool: keepalive ping failed; replacing connection"
	if msg.Validation {
		what = "actorpool: ping before lending failed; replacing connection"
	}
	a.logReplaced(what, err) // before the ledger counts the failure
	a.cfg.Ledger.Pinged(a.slot, msg.Validation, err)
	a.close()
	a.fail(ctx, &proto.Failure{Kind: proto.ConnLost, Err: err})
}

// fail hands a failure to the supervisor the way a panic would: the
// actor's mailbox is suspended and its parent receives an actor.Failure,
// whose strategy (supervisor.HandleFailure) tells the broker, which
// restarts or stops the actor. Unlike a panic it adds no line to the actor
// system's log: a failed dial or a lost connection is the pool's to report,
// once, on its own Logger. The caller returns right after. A panic in the
// pool's own code still goes the runtime's way, logged.
func (a *connection[C]) fail(ctx actor.Context, f *proto.Failure) {
	sys, self, parent := ctx.ActorSystem(), ctx.Self(), ctx.Parent()
	if p, ok := sys.ProcessRegistry.Get(self); ok {
		p.SendSystemMessage(self, &actor.SuspendMailbox{})
	}
	if p, ok := sys.ProcessRegistry.Get(parent); ok {
		p.SendSystemMessage(parent, &actor.Failure{Who: self, Reason: f,
			RestartStats: actor.NewRestartStatistics(), Message: ctx.Message()})
	}
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

// guard runs a backend call on a connection in the ledger, turning a panic
// into an error: the connection is then replaced the ordinary way, and the
// ledger's counts stay right.
func guard(call func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("actorpool: panic in backend: %v", r)
		}
	}()
	return call()
}

func (a *connection[C]) close() {
	a.pump.stop()
	if !a.open {
		return
	}
	a.open = false
	if err := a.cfg.Backend.Close(a.slot.Conn); err != nil {
		a.cfg.Logger.Debug("actorpool: close failed", "conn", a.slot.ID, "err", err)
	}
}
