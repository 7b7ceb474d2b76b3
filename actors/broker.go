package actors

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/core"
	"github.com/actorpool/actorpool/messages"
)

// BrokerConfig is read-only after spawn.
type BrokerConfig struct {
	MinConns, MaxConns int
	AcquireTimeout     time.Duration
	LeaseTimeout       time.Duration // 0: off
	LeakWarnAfter      time.Duration // 0: off
	MaxWaiters         int           // 0: unbounded
	// Lifecycle of idle connections; 0: off.
	IdleTimeout       time.Duration
	MaxLifetime       time.Duration
	KeepaliveInterval time.Duration
	ValidateAfterIdle time.Duration
	// Returning is shared with the connection actors' slots: leases their
	// holders ended that have not come back yet. grow counts them as
	// connections about to be free.
	Returning *atomic.Int64
	// Supervisor builds the supervisor's props, given the broker's PID.
	Supervisor func(broker *actor.PID) *actor.Props
	// Post, when set, puts a message straight into the broker's own
	// mailbox. The broker's timers use it, so that a timer firing while the
	// pool shuts down is dropped with the mailbox instead of becoming a
	// dead letter. nil: timers send to the broker's PID.
	Post   func(msg any)
	Logger *slog.Logger
}

// owner is an actor that acquired through *messages.Acquire and is watched.
type owner[C any] struct {
	pid    *actor.PID
	leases []*core.Slot[C]
}

// broker is the single authority on who holds what: the line of waiters
// (who is put in it, unless a caller joins behind others by itself, and
// who is failed out of it at a timeout, at Close or when the circuit
// opens), the leases out, the circuit (fail fast while no connection is
// alive and dials fail), and what callers may do without it.
//
// Every field is owned by Receive, except idle: callers take connections
// from it while nobody waits, and holders give clean ones back without a
// message, to the oldest waiter or to the stack (the fast path, see
// core.Idle). The broker tells them when they must not (see publish)
// under the stack's lock, and counts idle and leased connections from the
// stack's size: every
// connection it knows alive is idle (on the stack, flagged stale, or being
// pinged) or leased (including one being reset). Slots are shared with
// holders and connection actors only through their atomic state (see
// core.Slot).
type broker[C any] struct {
	cfg        *BrokerConfig
	root       *actor.RootContext
	self       *actor.PID
	supervisor *actor.PID

	idle   *core.Idle[C]              // idle connections ready to lend; shared with callers
	stale  []*core.Slot[C]            // idle past ValidateAfterIdle: off the stack, ping before lending
	live   map[*core.Slot[C]]struct{} // connected: idle, stale, leased and pinged
	owners map[string]*owner[C]       // watched actors, by PID id

	min, max  int // limits in force; SetLimits changes them
	total     int // connection actors alive or asked for
	checking  int // connections off the stack for a ping
	retiring  int // actors told to Retire that have not stopped yet
	shrinking int // actors without a connection the supervisor was asked to stop

	lastDialErr error     // set by a failed dial, cleared by a successful one
	circuitOpen bool      // no connection alive and the last dial failed
	openedAt    time.Time // when the circuit last opened
	demanded    bool      // Demand sent since the last failed dial
	closing     bool
	closeDone   chan struct{}

	// What was last published to idle (see publish).
	pub core.Published

	// The maintenance timer: one for the whole pool, armed only when some
	// idle connection has something due (a stamp, a ping, a retirement).
	maint      *time.Timer
	maintAt    time.Time     // when maint fires, unless idle.StampSoon; zero: not armed
	stampEvery time.Duration // resolution of idle ages
	needStamp  bool          // IdleTimeout, KeepaliveInterval or ValidateAfterIdle is on
	maintTick  *messages.MaintenanceTick

	waiterTimer   *time.Timer
	waiterTimerAt time.Time
	leaseTimer    *time.Timer
	waiterTick    *messages.WaiterTick
	leaseTick     *messages.LeaseTick

	st messages.Stats // cumulative counters
}

// NewBrokerProducer returns the producer for a pool's broker.
// idle is the stack the pool's callers take connections from.
func NewBrokerProducer[C any](cfg *BrokerConfig, idle *core.Idle[C]) actor.Producer {
	return func() actor.Actor {
		return &broker[C]{
			cfg:        cfg,
			min:        cfg.MinConns,
			max:        cfg.MaxConns,
			live:       map[*core.Slot[C]]struct{}{},
			owners:     map[string]*owner[C]{},
			idle:       idle,
			waiterTick: &messages.WaiterTick{},
			leaseTick:  &messages.LeaseTick{},
			maintTick:  &messages.MaintenanceTick{},
			needStamp:  cfg.IdleTimeout > 0 || cfg.KeepaliveInterval > 0 || cfg.ValidateAfterIdle > 0,
			stampEvery: leaseCheckEvery(cfg.IdleTimeout, cfg.MaxLifetime, cfg.KeepaliveInterval, cfg.ValidateAfterIdle),
		}
	}
}

func (b *broker[C]) Receive(ctx actor.Context) {
	b.dispatch(ctx)
	b.publish()
}

func (b *broker[C]) dispatch(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *core.Request[C]:
		b.handleAcquire(ctx, msg)
	case *messages.Returned[C]:
		b.handleReturned(ctx, msg.Slot)
	case *messages.Acquire:
		b.handleActorAcquire(ctx, msg)
	case *messages.CancelAcquire[C]:
		b.handleCancel(ctx, msg.Request)
	case *messages.Ready[C]:
		b.handleReady(ctx, msg)
	case *messages.DialFailed:
		b.handleDialFailed(ctx, msg)
	case *messages.Checked[C]:
		b.handleChecked(ctx, msg)
	case *messages.MaintenanceTick:
		b.handleMaintenance(ctx)
	case *messages.StampSoon:
		b.handleStampSoon()
	case *messages.WatchLeases:
		b.armLeaseTimer()
	case *messages.SetLimits:
		b.handleSetLimits(ctx, msg)
	case *messages.Shrunk:
		b.handleShrunk(ctx, msg)
	case *messages.Retired:
		b.retiring = max(b.retiring-1, 0)
		b.signalClosed()
	case *messages.WaiterTick:
		b.handleWaiterTick(ctx)
	case *messages.LeaseTick:
		b.handleLeaseTick(ctx)
	case *messages.GetStats:
		ctx.Respond(b.snapshot())
	case *messages.Close:
		b.handleClose(ctx, msg)
	case *messages.ForceClose:
		b.handleForceClose(ctx, msg)
	case *actor.Terminated:
		b.handleOwnerStopped(ctx, msg.Who)
	case *actor.Started:
		b.root, b.self = ctx.ActorSystem().Root, ctx.Self()
		b.supervisor = ctx.Spawn(b.cfg.Supervisor(ctx.Self()))
		b.grow(ctx)
	case *actor.Stopping:
		b.stopTimers()
		b.failAll(ctx, core.ErrPoolClosed)
		b.unwatchOwners(ctx)
	}
}

// publish tells callers and holders, when it changed, what they may do
// without a message: nothing after Close; no returns while the pool is
// above MaxConns (so that the broker retires them); no joining the line
// while the pool may grow (so that the broker dials for the waiter) or no
// connection is alive after a failed dial (so that the caller fails fast).
// Whether waiters are queued follows the line itself (core.Idle). A change
// that lifts a restriction may reach callers a little late, which only
// sends them the slow way; closing and opening the circuit are published
// before the line is emptied (handleClose, updateCircuit), and growth
// before the waiters are counted (grow), so nobody joins it afterwards.
func (b *broker[C]) publish() {
	p := core.Published{
		Closed:    b.closing,
		Divert:    b.total-b.shrinking > b.max,
		QueueHere: b.total-b.shrinking < b.max || b.failingFast(),
	}
	if p == b.pub {
		return
	}
	b.pub = p
	b.idle.Publish(p)
}

// unwatchOwners stops watching the actors that leased, so that they do not
// notify a stopped broker when they stop later.
func (b *broker[C]) unwatchOwners(ctx actor.Context) {
	for _, o := range b.owners {
		ctx.Unwatch(o.pid)
	}
	clear(b.owners)
}

// handleAcquire is the slow path, for callers that found the idle stack
// empty or waiters queued, and for actors: a free connection and nobody
// ahead means one message in, one answer out, no allocation, no clock.
// Otherwise the request waits in line. Connections the maintenance tick
// flagged stale (idle past ValidateAfterIdle) are pinged when no other is
// free; the caller then waits for the ping (or the replacement, when the
// ping fails).
func (b *broker[C]) handleAcquire(ctx actor.Context, req *core.Request[C]) {
	if !req.Pending() {
		return // the caller gave up already
	}
	if b.closing {
		b.fail(ctx, req, core.ErrPoolClosed)
		return
	}
	if b.failingFast() {
		b.st.FailedFast++
		b.fail(ctx, req, b.unavailable())
		if !b.demanded {
			// Someone wants a connection: probe sooner than the
			// grown backoff (see supervisor.Supervisor).
			b.demanded = true
			ctx.Send(b.supervisor, &messages.Demand{})
		}
		return
	}
	timeout := b.cfg.AcquireTimeout
	if req.Timeout > 0 {
		timeout = req.Timeout
	}
	slot, deadline, queued := b.idle.TakeOrEnqueue(req, timeout, b.cfg.MaxWaiters)
	switch {
	case slot != nil:
		b.grant(ctx, slot, req)
		return
	case queued == 0:
		b.st.Rejected++
		b.fail(ctx, req, core.ErrTooManyWaiters)
		return
	case queued == 1:
		// The first in line: the connections flagged stale are all
		// that is left to lend; ping them now.
		for _, slot := range b.stale {
			b.check(ctx, slot, true)
		}
		clear(b.stale)
		b.stale = b.stale[:0]
	}
	if b.waiterTimerAt.IsZero() || deadline.Before(b.waiterTimerAt) {
		b.armWaiterTimer(ctx)
	}
	b.grow(ctx)
}

func (b *broker[C]) handleActorAcquire(ctx actor.Context, msg *messages.Acquire) {
	sender := ctx.Sender()
	if sender == nil {
		b.cfg.Logger.Warn("actorpool: Acquire message without a sender; send it with ctx.Request")
		return
	}
	owner := msg.Owner
	if owner == nil {
		owner = sender
	}
	b.watch(ctx, owner)
	req := &core.Request[C]{ReplyTo: sender, Owner: owner, Timeout: msg.Timeout}
	b.handleAcquire(ctx, req)
}

// grant lends slot to req, or, when req was cancelled in the meantime, puts
// slot back at once.
func (b *broker[C]) grant(ctx actor.Context, slot *core.Slot[C], req *core.Request[C]) {
	watch := b.cfg.LeaseTimeout > 0 || b.cfg.LeakWarnAfter > 0
	var now int64
	if watch {
		now = core.Now()
	}
	slot.Prepare(req.Owner != nil, watch, now, req.Stack)
	lease := slot.Grant()
	if watch {
		b.armLeaseTimer()
	}
	if !req.Resolve(lease, nil) {
		// The caller gave up between queueing and now: the lease was
		// never seen by anyone; end it the ordinary way, through a reset.
		_ = lease.Release()
		return
	}
	b.st.Acquired++
	if req.ReplyTo != nil {
		slot.Owner = req.Owner
		if o := b.owners[req.Owner.Id]; o != nil {
			o.leases = append(o.leases, slot)
		}
		ctx.Send(req.ReplyTo, &messages.Granted[C]{Lease: lease})
	}
}

// fail answers req, which is not in line, with err.
func (b *broker[C]) fail(ctx actor.Context, req *core.Request[C], err error) {
	if req.Resolve(core.Lease[C]{}, err) && req.ReplyTo != nil {
		ctx.Send(req.ReplyTo, &messages.AcquireFailed{Err: err})
	}
}

// handleReturned takes a connection back after a lease ended by its holder.
func (b *broker[C]) handleReturned(ctx actor.Context, slot *core.Slot[C]) {
	b.cfg.Returning.Add(-1)
	b.disown(slot)
	if slot.Warned() {
		b.cfg.Logger.Info("actorpool: connection reported as leaked was returned", "conn", slot.ID,
			"held", slot.Held(core.Now()).Round(time.Millisecond))
	}
	if !slot.Reusable() {
		// Marked broken or failed its reset: the actor is redialling.
		b.st.Broken++
		b.lost(ctx, slot)
		return
	}
	b.place(ctx, slot, false)
	b.signalClosed()
}

// place puts a live, idle connection back to use, unless it has to go: past
// its lifetime (replaced when the pool needs it), or above MaxConns.
// Returning connections go on top of the idle stack, pinged ones (which sat
// idle longest) at the bottom. No clock: this is the release path.
func (b *broker[C]) place(ctx actor.Context, slot *core.Slot[C], bottom bool) {
	switch {
	case b.closing:
		// Close finds it on the idle stack; no message to an actor now.
	case slot.Expired():
		b.st.RetiredLifetime++
		b.retire(ctx, slot)
		b.grow(ctx)
		return
	case b.total-b.shrinking > b.max:
		b.retire(ctx, slot)
		return
	}
	b.offer(ctx, slot, bottom)
}

// offer puts a connection to use: the oldest live waiter gets it, otherwise
// it goes on the idle stack (where Close finds it when the actors stop).
func (b *broker[C]) offer(ctx actor.Context, slot *core.Slot[C], bottom bool) {
	if req := b.idle.Offer(slot, bottom); req != nil {
		b.grant(ctx, slot, req)
		return
	}
	if b.needStamp && !b.idle.StampSoon.Load() {
		// The next tick stamps it as idle; it comes within stampEvery.
		b.idle.StampSoon.Store(true)
		b.resetMaint(b.stampEvery)
	}
}

func (b *broker[C]) handleReady(ctx actor.Context, msg *messages.Ready[C]) {
	b.st.Dials++
	if msg.Restarted {
		b.st.Restarts++
	}
	b.lastDialErr = nil
	if b.circuitOpen {
		b.circuitOpen = false
		b.cfg.Logger.Info("actorpool: backend available again; serving acquires",
			"down_for", time.Since(b.openedAt).Round(time.Millisecond))
	}
	slot := msg.Slot
	b.live[slot] = struct{}{}
	now := time.Now()
	slot.IdleSince, slot.CheckedAt = now, now
	if l := b.cfg.MaxLifetime; l > 0 {
		// Up to a tenth earlier, so that connections dialled together
		// are not all replaced together.
		slot.RetireAt = now.Add(l - rand.N(l/10+1))
	}
	b.place(ctx, slot, false)
	b.armMaint(b.dueOf(slot), now)
}

// handleDialFailed opens the circuit when no connection is alive: every
// waiter fails now with ErrBackendUnavailable wrapping the dial error,
// instead of waiting for its timeout.
func (b *broker[C]) handleDialFailed(ctx actor.Context, msg *messages.DialFailed) {
	b.st.DialErrors++
	b.lastDialErr = msg.Err
	b.demanded = false
	b.updateCircuit(ctx)
	b.shrinkDialing(ctx)
}

// updateCircuit opens the circuit when no connection is alive and the last
// dial failed: every waiter fails now with ErrBackendUnavailable wrapping
// the dial error, instead of waiting for its timeout, and so does every
// acquire until a dial succeeds (handleReady closes it). The supervisor
// meanwhile lets one connection actor at a time probe the backend.
func (b *broker[C]) updateCircuit(ctx actor.Context) {
	if !b.failingFast() {
		return
	}
	if !b.circuitOpen {
		b.circuitOpen = true
		b.openedAt = time.Now()
		b.st.CircuitOpens++
		b.cfg.Logger.Warn("actorpool: backend unavailable; acquires fail fast until a dial succeeds",
			"err", b.lastDialErr)
	}
	b.publish()
	err := b.unavailable()
	for req := b.idle.DequeueFront(); req != nil; req = b.idle.DequeueFront() {
		b.st.FailedFast++
		b.fail(ctx, req, err)
	}
}

// failingFast: no connection is alive and the last dial failed, so an
// acquire fails at once instead of waiting (the circuit is open, or opens
// with this call to updateCircuit).
func (b *broker[C]) failingFast() bool { return b.alive() == 0 && b.lastDialErr != nil }

func (b *broker[C]) unavailable() error {
	return fmt.Errorf("%w: %w", core.ErrBackendUnavailable, b.lastDialErr)
}

func (b *broker[C]) handleCancel(_ actor.Context, req *core.Request[C]) {
	b.idle.Dequeue(req)
}

// handleWaiterTick fails the waiters whose deadline passed.
func (b *broker[C]) handleWaiterTick(ctx actor.Context) {
	b.waiterTimerAt = time.Time{}
	now := time.Now()
	for req := b.idle.DequeueExpired(now); req != nil; req = b.idle.DequeueExpired(now) {
		timeout := b.cfg.AcquireTimeout
		if req.Timeout > 0 {
			timeout = req.Timeout
		}
		if req.Pending() {
			b.st.Timeouts++
		}
		b.fail(ctx, req, fmt.Errorf("%w after %s", core.ErrAcquireTimeout, timeout))
	}
	b.armWaiterTimer(ctx)
}

// armWaiterTimer makes sure the broker wakes at the earliest deadline.
// Waiters leave the line without the broker (holders hand connections on),
// so the timer may fire for nobody; the tick then only re-arms it.
func (b *broker[C]) armWaiterTimer(_ actor.Context) {
	deadline, ok := b.idle.Earliest()
	if !ok {
		return // a stale wake-up is harmless: the tick finds nothing due
	}
	if !b.waiterTimerAt.IsZero() && !deadline.Before(b.waiterTimerAt) {
		return
	}
	b.waiterTimerAt = deadline
	d := time.Until(deadline)
	if b.waiterTimer == nil {
		b.waiterTimer = time.AfterFunc(d, b.timerFunc(b.waiterTick))
		return
	}
	b.waiterTimer.Reset(d)
}

// timerFunc returns what a broker timer runs when it fires: deliver msg to
// the broker.
func (b *broker[C]) timerFunc(msg any) func() {
	if post := b.cfg.Post; post != nil {
		return func() { post(msg) }
	}
	root, self := b.root, b.self
	return func() { root.Send(self, msg) }
}

// alive counts connected connections.
func (b *broker[C]) alive() int { return len(b.live) }

// idleCount counts idle connections: on the stack, flagged stale, or being
// pinged.
func (b *broker[C]) idleCount() int { return b.idle.Len() + len(b.stale) + b.checking }

// leased counts the rest of alive(): connections out on a lease, or being
// reset after one.
func (b *broker[C]) leased() int { return b.alive() - b.idleCount() }

// grow asks the supervisor for connection actors: up to MinConns always,
// and one per waiter not already covered by a dial in flight, up to
// MaxConns.
func (b *broker[C]) grow(ctx actor.Context) {
	if b.closing || b.total >= b.max {
		return // nothing to add: no need to count the waiters (a lock)
	}
	// The pool may grow: from now on callers queue here, not by
	// themselves (Idle.Join), so every waiter not counted below comes
	// through handleAcquire and grow again.
	b.publish()
	want := max(b.min-(b.total-b.shrinking), 0)
	// Being pinged counts as coming back: most pings succeed, and a failed
	// one is already being replaced.
	coming := b.total - b.shrinking - b.alive() + b.checking + int(b.cfg.Returning.Load())
	if extra := b.idle.Waiting() - coming; extra > want {
		want = extra
	}
	want = min(want, b.max-b.total)
	if want <= 0 {
		return
	}
	b.total += want
	ctx.Send(b.supervisor, &messages.Grow{N: want})
}

// retire stops an idle connection's actor; the slot must be off the idle
// stack, and not leased or pinged.
func (b *broker[C]) retire(ctx actor.Context, slot *core.Slot[C]) {
	delete(b.live, slot)
	b.total--
	b.retiring++
	ctx.Send(slot.Actor, &messages.Retire{})
}

func (b *broker[C]) failAll(ctx actor.Context, err error) {
	for req := b.idle.DequeueFront(); req != nil; req = b.idle.DequeueFront() {
		b.fail(ctx, req, err)
	}
}

func (b *broker[C]) snapshot() *messages.Stats {
	s := b.st
	s.MinConns, s.MaxConns = b.min, b.max
	s.Acquired += b.idle.Acquired.Load()
	s.Total, s.Idle = b.total, b.idleCount()
	s.Leased = b.alive() - s.Idle
	s.Dialing = b.total - b.alive()
	s.Waiting = b.idle.Waiting()
	if b.alive() == 0 {
		s.LastDialError = b.lastDialErr
	}
	return &s
}

func (b *broker[C]) stopTimers() {
	if b.waiterTimer != nil {
		b.waiterTimer.Stop()
	}
	if b.leaseTimer != nil {
		b.leaseTimer.Stop()
	}
	b.stopMaint()
}

// watch makes sure the broker hears when an acquiring actor stops.
func (b *broker[C]) watch(ctx actor.Context, who *actor.PID) {
	if b.owners[who.Id] != nil {
		return
	}
	b.owners[who.Id] = &owner[C]{pid: who}
	ctx.Watch(who)
}

// disown forgets the owner actor of a lease that ended.
func (b *broker[C]) disown(slot *core.Slot[C]) {
	if slot.Owner == nil {
		return
	}
	if o := b.owners[slot.Owner.Id]; o != nil {
		for i, s := range o.leases {
			if s == slot {
				o.leases = append(o.leases[:i], o.leases[i+1:]...)
				break
			}
		}
	}
	slot.Owner = nil
}

// handleOwnerStopped reclaims the leases of an actor that stopped while
// holding them: their connections are closed and replaced, since whatever
// the actor left running may still touch them. Its waiters are dropped.
func (b *broker[C]) handleOwnerStopped(ctx actor.Context, who *actor.PID) {
	o := b.owners[who.Id]
	if o == nil {
		return
	}
	delete(b.owners, who.Id)
	for _, slot := range o.leases {
		slot.Owner = nil
		if slot.Revoke(true) {
			b.st.Reclaimed++
			b.takeBack(ctx, slot, "owner actor stopped")
		}
	}
	b.idle.DequeueIf(func(req *core.Request[C]) bool {
		return req.Owner != nil && req.Owner.Id == who.Id
	})
}

// takeBack ends the accounting of a lease the broker revoked: the
// connection actor closes the connection and redials.
func (b *broker[C]) takeBack(ctx actor.Context, slot *core.Slot[C], reason string) {
	ctx.Send(slot.Actor, &messages.Revoke{Reason: reason})
	b.lost(ctx, slot)
}

// lost forgets a connection that is gone (broken, failed its reset or ping,
// revoked) while its actor redials: the circuit opens if it was the last,
// waiters may need more dials, and Close may be done waiting for it.
func (b *broker[C]) lost(ctx actor.Context, slot *core.Slot[C]) {
	delete(b.live, slot)
	b.updateCircuit(ctx)
	b.grow(ctx)
	b.signalClosed()
}

// armLeaseTimer schedules the next lease check when timeouts or leak
// warnings are on and none is pending. While it is armed, the fast path
// need not ask for it (idle.Watching).
func (b *broker[C]) armLeaseTimer() {
	if b.leaseTimer != nil {
		return
	}
	b.idle.Watching.Store(true)
	every := leaseCheckEvery(b.cfg.LeaseTimeout, b.cfg.LeakWarnAfter)
	b.leaseTimer = time.AfterFunc(every, b.timerFunc(b.leaseTick))
}

// leaseCheckEvery is a quarter of the shortest enabled limit, between 1 ms
// and 1 s: a lease is revoked at most 25% (or 1 s) after its timeout.
func leaseCheckEvery(limits ...time.Duration) time.Duration {
	every := time.Second
	for _, l := range limits {
		if l > 0 {
			every = min(every, l/4)
		}
	}
	return max(every, time.Millisecond)
}

// handleLeaseTick revokes leases held past LeaseTimeout and logs leases held
// past LeakWarnAfter, with the acquirer's stack.
func (b *broker[C]) handleLeaseTick(ctx actor.Context) {
	b.leaseTimer = nil
	now := core.Now()
	for slot := range b.live {
		cur, at, stack, ok := slot.LeaseInfo()
		if !ok {
			continue
		}
		held := time.Duration(now - at)
		if b.cfg.LeaseTimeout > 0 && held >= b.cfg.LeaseTimeout {
			if slot.RevokeFrom(cur, false) {
				b.st.Revoked++
				b.disown(slot)
				b.cfg.Logger.Warn("actorpool: lease revoked after LeaseTimeout; closing its connection",
					"conn", slot.ID, "held", held.Round(time.Millisecond))
				b.takeBack(ctx, slot, "lease timeout")
			}
			continue
		}
		if b.cfg.LeakWarnAfter > 0 && held >= b.cfg.LeakWarnAfter && slot.WarnFrom(cur) {
			// From now on the lease ends through the broker, which logs
			// its return.
			b.st.LeakWarnings++
			b.cfg.Logger.Warn("actorpool: connection leak suspected: lease held past LeakWarnAfter",
				"conn", slot.ID, "held", held.Round(time.Millisecond), "acquired_at", string(stack))
		}
	}
	if b.leased() > 0 {
		b.armLeaseTimer()
		return
	}
	// No lease out: stop watching. A caller that takes a lease on the fast
	// path from now on sees Watching unset and asks for the timer; one that
	// took it before this line is counted by the check below.
	b.idle.Watching.Store(false)
	if b.leased() > 0 {
		b.armLeaseTimer()
	}
}

// handleClose stops taking acquires; Done closes when no lease is out and
// no ping is under way.
func (b *broker[C]) handleClose(ctx actor.Context, msg *messages.Close) {
	if !b.closing {
		b.closing = true
		b.stopMaint()
		// From now on the fast path is shut: every lease ends here.
		b.publish()
		b.failAll(ctx, core.ErrPoolClosed)
	}
	if b.closeDone != nil {
		close(msg.Done) // a second Close: the first one waits
		return
	}
	b.closeDone = msg.Done
	b.signalClosed()
}

// handleForceClose revokes every lease still out. Their connections are
// closed when the actors stop.
func (b *broker[C]) handleForceClose(_ actor.Context, msg *messages.ForceClose) {
	// Under the idle lock: a caller or holder lending a connection on the
	// fast path does so under it, so every lease is seen here.
	b.idle.Lock()
	defer b.idle.Unlock()
	for slot := range b.live {
		if slot.Revoke(false) {
			b.st.Revoked++
			msg.Revoked++
			delete(b.live, slot)
		}
	}
	close(msg.Done)
}

func (b *broker[C]) signalClosed() {
	if b.closing && b.closeDone != nil && b.checking == 0 && b.retiring == 0 && b.leased() == 0 {
		close(b.closeDone)
		b.closeDone = nil
	}
}
