package actors

// The broker owns the pool's decisions: what happens over time (lease
// timeouts, leak warnings, keepalive, validation, idle and lifetime
// retirement, actors' acquires and their owners' deaths, Close), and how
// many connections exist (growth, backoff, the circuit; dialer.go). It
// creates the ledger and alone changes its policy; callers, holders and
// connection actors use the ledger directly for everything else.
//
// Files: broker.go (the actor, dispatch), requests.go (actors' acquires
// and owners), leases.go (the periodic lease check), maintenance.go (idle connections,
// limits), dialer.go (connection actors, backoff), circuit.go (fail fast,
// probe, refill), close.go.

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// BrokerConfig is read-only after spawn, but for the settings it points
// to, which the broker replaces when they change (settings.go).
type BrokerConfig[C any] struct {
	MinConns, MaxConns int
	// Settings are the lifecycle settings in force; the broker alone
	// writes them (SetLifecycle). 0 is off (MaxWaiters 0: unbounded).
	Settings *proto.Settings
	Logger   *slog.Logger
	FIFO     bool // lend the connection idle longest first

	// NeedsReset, LeaseUsed, LeaseWaited, Granted and Failed go to the
	// ledger (ledger.Config; LeaseUsed is its Used, LeaseWaited its Waited).
	NeedsReset  func(C) bool
	LeaseUsed   func(held time.Duration)
	LeaseWaited func(wait time.Duration)
	Granted     func(s *ledger.Slot[C], gen uint64, tag any) any
	Failed      func(err error, tag any) any
	// AsAcquire recognises an actor's acquire message and reads it.
	AsAcquire func(msg any) (Acquire, bool)
	// Supervisor builds the supervisor's props, given the broker's PID and
	// the ledger.
	Supervisor func(broker *actor.PID, l *ledger.Ledger[C]) *actor.Props
}

// Acquire is what the broker reads from an actor's acquire message.
type Acquire struct {
	Timeout time.Duration // 0: the pool's AcquireTimeout
	Owner   *actor.PID    // nil: the sender
	Tag     any           // echoed in the answer
	// Internal: the pool's own request (command mode growing), not
	// counted as a caller's timeout.
	Internal bool
}

// broker: every field is owned by Receive.
type broker[C any] struct {
	cfg        *BrokerConfig[C]
	l          *ledger.Ledger[C]
	root       *actor.RootContext
	self       *actor.PID
	supervisor *actor.PID

	owners  map[string]*actor.PID // actors that acquired by message, watched
	waiters deadlines[C]          // actors' requests in line, by deadline
	dialer  dialer

	maint, leases, waiterTimer *time.Timer
	waiterAt                   time.Time // when waiterTimer fires; zero: not armed
	sweepEvery                 time.Duration

	closeDone    chan struct{} // Close's, closed once drained
	shutdownDone chan struct{} // Shutdown's, closed once the supervisor stopped

	supervisorStopping bool
	stopped            bool        // every connection actor has stopped
	shutdownTimer      *time.Timer // forces the supervisor's stop
}

// Spawn creates the ledger and starts the broker (which starts the
// supervisor and MinConns connection actors) on root.
func Spawn[C any](root *actor.RootContext, cfg *BrokerConfig[C]) (*actor.PID, *ledger.Ledger[C]) {
	l := ledger.New(ledger.Config[C]{
		Policy:     leasePolicy(cfg.Settings.Load()),
		NeedsReset: cfg.NeedsReset, Used: cfg.LeaseUsed, Waited: cfg.LeaseWaited, Granted: cfg.Granted, Failed: cfg.Failed,
		Nudge: &proto.Nudge{}, Logger: cfg.Logger, FIFO: cfg.FIFO,
	}, cfg.MinConns, cfg.MaxConns)
	s := cfg.Settings.Load()
	b := &broker[C]{
		cfg: cfg, l: l, owners: map[string]*actor.PID{},
		sweepEvery: checkEvery(s.IdleTimeout, s.MaxLifetime, s.KeepaliveInterval, s.ValidateAfterIdle),
	}
	b.dialer.init(cfg.Settings)
	pid := root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return b }), "actorpool")
	l.Bind(root, pid)
	return pid, l
}

func (b *broker[C]) Receive(ctx actor.Context) {
	if b.stopped {
		b.receiveStopped(ctx)
		return
	}
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		b.root, b.self = ctx.ActorSystem().Root, ctx.Self()
		b.supervisor = ctx.Spawn(b.cfg.Supervisor(ctx.Self(), b.l))
		b.armMaintenance()
		b.armLeases()
		b.spawn(ctx, b.cfg.MinConns) // counted by ledger.New
		b.grow(ctx)
	case *actor.Terminated:
		if msg.Who.Equal(b.supervisor) {
			b.handleSupervisorStopped()
		} else {
			b.handleOwnerStopped(ctx, msg.Who)
		}
	case *actor.Stopping:
		b.stopTimers()
	case *proto.Nudge:
		b.handleNudge(ctx)
	case *proto.Returned[C]:
		b.handleReturned(ctx, msg.Slot)
	case *proto.Ready[C]:
		b.handleReady(ctx, msg.Slot)
	case *proto.ConnFailed:
		b.handleConnFailed(ctx, msg)
	case *proto.ConnStopped:
		b.handleConnStopped(ctx, msg.Child)
	case *proto.RedialDue:
		b.handleRedialDue(ctx, msg)
	case *proto.WaiterTick:
		b.handleWaiterTick(ctx)
	case *proto.LeaseTick:
		b.handleLeaseTick(ctx)
	case *proto.MaintenanceTick:
		b.handleMaintenance(ctx)
	case *proto.SetLimits:
		b.handleSetLimits(ctx, msg)
	case *proto.SetLifecycle:
		b.handleSetLifecycle(msg)
	case *proto.Close:
		b.handleClose(ctx, msg)
	case *proto.ForceClose:
		msg.Done <- b.l.RevokeAll()
		b.checkDrained()
	case *proto.Shutdown:
		b.handleShutdown(ctx, msg)
	default:
		if a, ok := b.cfg.AsAcquire(msg); ok {
			b.handleActorAcquire(ctx, a)
		}
	}
	if b.closeDone != nil {
		b.checkDrained()
	}
	if b.shutdownDone != nil {
		b.stopSupervisor(ctx, false)
	}
}

// handleNudge answers a caller's nudge: ping the stale connections when
// callers wait, grow when the waiters outnumber what is coming, and, while
// callers are failed fast, let the probe redial sooner.
func (b *broker[C]) handleNudge(ctx actor.Context) {
	for _, s := range b.l.Nudged() {
		ctx.Send(s.Actor, &proto.Ping{Validation: true})
	}
	if b.dialer.open {
		b.demand(ctx)
		return
	}
	b.grow(ctx)
}

// handleReturned places an idle connection that a holder or a connection
// actor could not put back itself.
func (b *broker[C]) handleReturned(ctx actor.Context, s *ledger.Slot[C]) {
	if retire, replace := b.l.Place(s); retire {
		b.retire(ctx, ones(replace), s)
	}
}

// retire stops the actors of connections the ledger let go, and lets the
// pool react to the loss (the circuit, growth for waiters). The
// replacements the ledger already counted in Total (one for each of the
// first replace slots) are spawned as the actors they replace stop, their
// connections closed: the server never sees a replacement beside the
// connection it replaces.
func (b *broker[C]) retire(ctx actor.Context, replace int, slots ...*ledger.Slot[C]) {
	now := replace
	for i, s := range slots {
		switch {
		case !b.dialer.leaving(s.Actor, i < replace):
			b.l.Closed() // an actor already gone: nothing to wait for
		case i < replace:
			now-- // spawned by handleConnStopped
		}
		ctx.Send(s.Actor, &proto.Retire{})
	}
	b.spawn(ctx, now)
	if len(slots) > 0 {
		b.afterLoss(ctx)
	}
}

// ones is 1 for true: a replacement to spawn.
func ones(replace bool) int {
	if replace {
		return 1
	}
	return 0
}

// timerFunc returns what a broker timer runs when it fires: send msg to
// the broker, which outlives its timers (Close stops them; the broker
// itself stays to answer late acquires).
func (b *broker[C]) timerFunc(msg any) func() {
	root, self := b.root, b.self
	return func() { root.Send(self, msg) }
}

// checkEvery is a quarter of the shortest enabled limit, between 1 ms and
// 1 s: what a periodic check misses is at most that late.
func checkEvery(limits ...time.Duration) time.Duration {
	every := time.Second
	for _, l := range limits {
		if l > 0 {
			every = min(every, l/4)
		}
	}
	return max(every, time.Millisecond)
}

// armMaintenance arms the maintenance timer for the settings in force:
// created on first use, reset to the sweep period, stopped while every
// setting it serves is off.
func (b *broker[C]) armMaintenance() {
	c := b.cfg.Settings.Load()
	on := c.IdleTimeout > 0 || c.MaxLifetime > 0 || c.KeepaliveInterval > 0 || c.ValidateAfterIdle > 0
	b.maint = b.arm(b.maint, on, b.sweepEvery, &proto.MaintenanceTick{})
}

// armLeases arms the lease timer likewise, while LeaseTimeout or
// LeakWarnAfter is on.
func (b *broker[C]) armLeases() {
	c := b.cfg.Settings.Load()
	b.leases = b.arm(b.leases, c.LeaseTimeout > 0 || c.LeakWarnAfter > 0, checkEvery(c.LeaseTimeout, c.LeakWarnAfter), &proto.LeaseTick{})
}

// arm returns t set to post msg after every (a new timer when t is nil),
// or stopped when not on.
func (b *broker[C]) arm(t *time.Timer, on bool, every time.Duration, msg any) *time.Timer {
	switch {
	case !on:
		if t != nil {
			t.Stop()
		}
	case t == nil:
		return time.AfterFunc(every, b.timerFunc(msg))
	default:
		t.Reset(every)
	}
	return t
}

func (b *broker[C]) stopTimers() {
	for _, t := range []*time.Timer{b.maint, b.leases, b.waiterTimer} {
		if t != nil {
			t.Stop()
		}
	}
	b.dialer.stopTimers()
}
