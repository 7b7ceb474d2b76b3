package actors

// This file is the broker's dialer: the one owner of how many connection
// actors exist, when each dials, its backoff, and the circuit. The
// supervisor only carries its decisions out; callers read the circuit's
// verdict from the ledger (SetCircuit). The circuit is in circuit.go.

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/backoff"
	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// RefillDials bounds the dials in flight while the pool refills after the
// circuit closed: the backend that just came back is not stormed.
const RefillDials = 2

type childState int

const (
	dialing    childState = iota // started or restarted; its dial is under way
	connected                    // dialled; its connection is in the ledger
	backingOff                   // its dial failed; a timer redials it
	parked                       // its dial failed while the circuit was open
	leaving                      // being stopped (retired, or not needed)
)

// child is what the dialer knows of one connection actor, from its first
// report (Ready or ConnFailed) on.
type child struct {
	pid      *actor.PID
	state    childState
	failures int  // consecutive failed dials
	dialed   int  // successful dials: a second one is a restart
	refill   bool // its redial is one of the refill's
	counted  bool // leaving with its connection, counted in the ledger's leaving
	replaced bool // leaving; a replacement counted in Total waits for its stop
	timer    *time.Timer
	seq      uint64    // names the last timer armed (RedialDue.Seq)
	due      time.Time // when timer fires
	failedAt time.Time // when its last dial failed
}

// dialer is the broker's; every field is owned by its Receive.
type dialer struct {
	settings *proto.Settings // BackoffMin and BackoffMax in force
	children map[string]*child
	spawning int // spawned, not heard from yet

	open          bool
	openedAt      time.Time
	lastErr       error // the last dial error; nil after a successful dial
	probe         *child
	probeFailures int      // consecutive failed dials while open
	parked        []*child // first parked first
	refilling     int      // refill dials in flight
	demanded      bool     // callers were failed fast since the last failed dial
}

func (d *dialer) init(s *proto.Settings) {
	d.settings, d.children = s, map[string]*child{}
}

// policy is the redial backoff in force.
func (d *dialer) policy() backoff.Policy {
	s := d.settings.Load()
	return backoff.Policy{Min: s.BackoffMin, Max: s.BackoffMax}
}

// child returns the record of pid, creating it at its first report.
func (d *dialer) child(pid *actor.PID) *child {
	if c := d.children[pid.Id]; c != nil {
		return c
	}
	d.spawning = max(d.spawning-1, 0)
	c := &child{pid: pid, state: dialing}
	d.children[pid.Id] = c
	return c
}

// grow asks the supervisor for the connection actors the ledger's growth
// rule (ledger.Grow) counts in Total. While the circuit is open only the
// probe dials.
func (b *broker[C]) grow(ctx actor.Context) {
	d := &b.dialer
	if b.closing() {
		return
	}
	if d.open {
		b.ensureProbe(ctx)
		return
	}
	b.spawn(ctx, b.l.Grow())
}

// spawn starts n connection actors, counted in Total already.
func (b *broker[C]) spawn(ctx actor.Context, n int) {
	if n > 0 {
		b.dialer.spawning += n
		ctx.Send(b.supervisor, &proto.Spawn{N: n})
	}
}

// afterLoss follows a connection leaving the ledger (retired, revoked,
// reclaimed, lost): the circuit opens if it was the last and the last dial
// failed, and the pool may need another.
func (b *broker[C]) afterLoss(ctx actor.Context) {
	d := &b.dialer
	if !d.open && d.lastErr != nil && !b.closing() && b.l.Counts().Alive == 0 {
		b.openCircuit(nil)
	}
	b.grow(ctx)
}

func (b *broker[C]) handleReady(ctx actor.Context, s *ledger.Slot[C]) {
	d := &b.dialer
	c := d.child(s.Actor)
	if c.state == leaving {
		return // its actor closes the connection as it stops
	}
	restarted := c.dialed > 0
	c.dialed++
	c.failures, c.state = 0, connected
	d.doneRefilling(c)
	// Log lines first, then what callers see (the circuit, Stats): a
	// caller that sees the change finds its log line written.
	if d.open {
		d.open, d.probe, d.probeFailures = false, nil, 0
		b.cfg.Logger.Info("actorpool: backend available again; serving acquires",
			"down_for", time.Since(d.openedAt).Round(time.Millisecond))
		b.cfg.Logger.Debug("actorpool: backend reachable again; refilling", "parked", len(d.parked))
	}
	if d.lastErr != nil {
		d.lastErr = nil
		b.l.SetCircuit(nil, nil)
	}
	b.l.Count(func(n *ledger.Counters) {
		n.Dials++
		if restarted {
			n.Restarts++
		}
	})
	now := time.Now()
	s.IdleSince, s.CheckedAt = now, now
	if l := b.cfg.Settings.Load().MaxLifetime; l > 0 {
		// Up to a tenth earlier, so that connections dialled together
		// are not all replaced together.
		s.RetireAt = now.Add(l - rand.N(l/10+1))
	}
	if retire, replace := b.l.Add(s); retire {
		b.retire(ctx, ones(replace), s)
	}
	b.refill(ctx)
	b.grow(ctx) // MinConns may have risen while the circuit was open
}

// handleConnFailed decides what becomes of a crashed connection actor: a
// lost connection is redialled at once; a failed dial after its backoff,
// or, while the circuit is open, when it is the probe's turn; and an actor
// the pool does not need any more (closing, above MaxConns) is stopped.
func (b *broker[C]) handleConnFailed(ctx actor.Context, msg *proto.ConnFailed) {
	d := &b.dialer
	c := d.child(msg.Child)
	if c.state == leaving {
		// It crashed before it took its Retire (a failed ping): it stays
		// suspended until stopped. Its stop spawns its replacement.
		if !b.closing() {
			ctx.Send(b.supervisor, &proto.StopChild{Child: c.pid})
		}
		return
	}
	d.doneRefilling(c)
	counts := b.l.Counts()
	if b.closing() {
		// Shutdown stops it with the supervisor; a Stop now could race
		// that one.
		b.l.Unreserve()
		d.forget(c.pid)
		return
	}
	if counts.Total > counts.Max {
		b.stopChild(ctx, c)
		b.afterLoss(ctx)
		return
	}
	if msg.Lost {
		c.state = dialing
		ctx.Send(b.supervisor, &proto.Restart{Child: c.pid})
		b.afterLoss(ctx)
		return
	}
	d.lastErr, d.demanded = msg.Err, false
	c.failures++
	c.failedAt = time.Now()
	var delay time.Duration
	switch {
	case counts.Alive > 0:
		delay = d.policy().Delay(c.failures)
		b.schedule(c, delay)
	case d.probe == nil || d.probe == c:
		if !d.open {
			b.openCircuit(c)
		}
		d.probeFailures++
		d.probe = c
		delay = d.policy().Delay(d.probeFailures)
		b.schedule(c, delay)
	default:
		if !d.open {
			b.openCircuit(c)
		}
		d.park(c)
	}
	if c.state == parked {
		b.cfg.Logger.Debug("actorpool: dial failed; waiting for the probe", "attempt", c.failures, "err", msg.Err)
	} else {
		b.cfg.Logger.Debug("actorpool: dial failed", "attempt", c.failures, "retry_in", delay, "err", msg.Err)
	}
	b.l.Count(func(n *ledger.Counters) { n.DialErrors++ }) // after its log line
	if d.open {
		b.l.SetCircuit(b.unavailable(), d.lastErr)
	} else {
		b.l.SetCircuit(nil, d.lastErr)
	}
	b.refill(ctx)
}

func (b *broker[C]) handleRedialDue(ctx actor.Context, msg *proto.RedialDue) {
	d := &b.dialer
	c := d.children[msg.Child.Id]
	if c == nil || b.closing() || c.state != backingOff || msg.Seq != c.seq {
		return // gone, closing, or a timer since stopped or replaced
	}
	c.timer = nil
	if d.open && d.probe != c {
		d.park(c)
		b.ensureProbe(ctx)
		return
	}
	c.state = dialing
	ctx.Send(b.supervisor, &proto.Restart{Child: c.pid})
}

// schedule redials c after delay.
func (b *broker[C]) schedule(c *child, delay time.Duration) {
	c.state = backingOff
	c.seq++
	c.due = time.Now().Add(delay)
	c.timer = time.AfterFunc(delay, b.timerFunc(&proto.RedialDue{Child: c.pid, Seq: c.seq}))
}

// shrinkDialing stops actors without a connection while the pool is above
// MaxConns, parked ones first. Those dialling now are stopped or retired
// when they report.
func (b *broker[C]) shrinkDialing(ctx actor.Context) {
	for _, want := range []childState{parked, backingOff} {
		for _, c := range b.dialer.children {
			if counts := b.l.Counts(); counts.Total <= counts.Max {
				return
			}
			if c.state == want {
				b.stopChild(ctx, c)
			}
		}
	}
}

// stopChild stops an actor that has no connection and takes it out of
// Total.
func (b *broker[C]) stopChild(ctx actor.Context, c *child) {
	b.dialer.leave(c)
	b.l.Unreserve()
	ctx.Send(b.supervisor, &proto.StopChild{Child: c.pid})
}

// leaving marks the actor of a connection the ledger let go as leaving;
// replaced says a replacement is spawned once it stopped. It reports
// whether the actor was known (and so will be replaced when replaced).
func (d *dialer) leaving(pid *actor.PID, replaced bool) bool {
	c := d.children[pid.Id]
	if c == nil {
		return false
	}
	d.leave(c)
	c.counted, c.replaced = true, replaced
	return true
}

// handleConnStopped forgets an actor that stopped (its connection is
// closed) and spawns its replacement, if it has one.
func (b *broker[C]) handleConnStopped(ctx actor.Context, pid *actor.PID) {
	c := b.dialer.children[pid.Id]
	b.dialer.forget(pid)
	if c != nil && c.counted {
		b.l.Closed()
	}
	switch {
	case c == nil || !c.counted:
	case c.replaced && b.closing():
		b.l.Unreserve()
	case c.replaced:
		b.spawn(ctx, 1)
	default:
		b.grow(ctx) // its room under MaxConns is free: waiters may need a dial
	}
}

func (d *dialer) leave(c *child) {
	d.stopTimer(c)
	d.parked = slices.DeleteFunc(d.parked, func(p *child) bool { return p == c })
	if d.probe == c {
		d.probe = nil
	}
	d.doneRefilling(c)
	c.state = leaving
}

// forget drops an actor that stopped.
func (d *dialer) forget(pid *actor.PID) {
	if c := d.children[pid.Id]; c != nil {
		d.leave(c)
		delete(d.children, pid.Id)
	}
}

func (d *dialer) anyLeaving() bool {
	for _, c := range d.children {
		if c.state == leaving {
			return true
		}
	}
	return false
}

func (d *dialer) anyDialing() bool {
	for _, c := range d.children {
		if c.state == dialing {
			return true
		}
	}
	return false
}

func (d *dialer) park(c *child) {
	d.stopTimer(c)
	c.state = parked
	d.parked = append(d.parked, c)
}

func (d *dialer) doneRefilling(c *child) {
	if c.refill {
		c.refill = false
		d.refilling--
	}
}

func (d *dialer) stopTimer(c *child) {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

func (d *dialer) stopTimers() {
	for _, c := range d.children {
		d.stopTimer(c)
	}
}
