package supervisor

import (
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/backoff"
	"github.com/actorpool/actorpool/internal/core"
	"github.com/actorpool/actorpool/messages"
)

// Config is what a supervisor needs; read-only after spawn.
type Config struct {
	Broker     *actor.PID
	Connection *actor.Props // props of one connection actor
	Backoff    backoff.Policy
	Logger     *slog.Logger
}

// RefillDials bounds the dials in flight while the pool refills after the
// circuit closed: the backend just came back and is not stormed by every
// connection at once.
const RefillDials = 2

// childState is where one connection actor stands.
type childState int

const (
	dialing    childState = iota // started or restarted; its dial is under way
	connected                    // dialled; the broker has (or gets) its connection
	backingOff                   // its dial failed; a timer restarts it
	parked                       // its dial failed while the circuit was open; waits for the probe
	leaving                      // stopped by Shrink
)

// child is what the supervisor remembers of one connection actor.
type child struct {
	pid         *actor.PID
	state       childState
	failures    int         // consecutive dial failures; reset by a successful dial
	incarnation int         // successful dials so far
	refill      bool        // its dial was released by the refill, which counts it
	timer       *time.Timer // pending restart, while backing off
	timerSeq    uint64      // names the last timer armed (RestartChild.Seq)
	due         time.Time   // when timer fires
	failedAt    time.Time   // when its last dial failed
}

// Supervisor owns the connection actors. All fields are owned by Receive and
// HandleFailure, which protoactor runs on the same mailbox, one at a time.
//
// The circuit: when a dial fails while no child is connected, the circuit
// opens. From then on one child at a time (the probe) redials, after the
// backoff of the probes that failed before it; every other child that has
// no connection is parked, and new children asked for by Grow are held
// back. While callers keep asking (Demand), the probe redials BackoffMin
// after its last failure instead, so that the pool is back within
// BackoffMin of the backend; with nobody asking, the backoff grows to
// BackoffMax. The first successful dial closes the circuit, and the parked
// and held-back children dial again, RefillDials at a time.
type Supervisor[C any] struct {
	cfg      Config
	self     *actor.PID
	children map[string]*child
	stopping bool
	// timers counts the restart timers armed and not yet done: stopped,
	// or their send to self made. Stopping waits for it, so that no timer
	// sends to a supervisor that has stopped.
	timers sync.WaitGroup

	connected     int      // children in state connected
	open          bool     // the circuit: no child connected and the last dial failed
	probe         *child   // while open: the one child allowed to dial
	probeFailures int      // consecutive failed dials while open
	parked        []*child // children waiting for the circuit to close, first parked first
	heldSpawns    int      // Grow requests waiting for the circuit to close
	refilling     int      // refill dials in flight
}

var _ actor.SupervisorStrategy = (*Supervisor[int])(nil)

// New returns the producer for a pool's supervisor.
func New[C any](cfg Config) actor.Producer {
	return func() actor.Actor {
		return &Supervisor[C]{cfg: cfg, children: map[string]*child{}}
	}
}

func (s *Supervisor[C]) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.self = ctx.Self()
	case *actor.Stopping:
		s.stopping = true
		for _, c := range s.children {
			s.stopTimer(c)
		}
		// A timer that fired already is sending to us now: let it land
		// while we are still here to ignore it.
		s.timers.Wait()
	case *actor.Terminated:
		s.handleTerminated(ctx, msg.Who)
	case *messages.Grow:
		s.handleGrow(ctx, msg)
	case *messages.Shrink:
		s.handleShrink(ctx, msg)
	case *messages.Dialed[C]:
		s.handleDialed(ctx, msg)
	case *messages.RestartChild:
		s.handleRestartChild(ctx, msg)
	case *messages.Demand:
		s.handleDemand(ctx)
	}
}

// handleDemand brings the probe's pending redial forward to BackoffMin
// after its last failed dial, when that is sooner.
func (s *Supervisor[C]) handleDemand(ctx actor.Context) {
	c := s.probe
	if !s.open || s.stopping || c == nil || c.state != backingOff || c.timer == nil {
		return
	}
	due := c.failedAt.Add(s.cfg.Backoff.Min)
	if !due.Before(c.due) || !s.stopTimer(c) {
		return // due sooner anyway, or firing now
	}
	delay := time.Until(due)
	s.cfg.Logger.Debug("actorpool: callers are waiting; probe redial brought forward", "retry_in", max(delay, 0))
	s.schedule(ctx.ActorSystem().Root, c, delay)
}

func (s *Supervisor[C]) handleGrow(ctx actor.Context, msg *messages.Grow) {
	if s.open || len(s.parked)+s.heldSpawns > 0 {
		// The circuit is open, or the refill after it is not done: wait
		// in line rather than dial alongside.
		s.heldSpawns += msg.N
		s.ensureProbe(ctx)
		s.refill(ctx)
		return
	}
	for range msg.N {
		s.spawn(ctx, false)
	}
}

func (s *Supervisor[C]) spawn(ctx actor.Context, refill bool) *child {
	pid := ctx.Spawn(s.cfg.Connection)
	c := &child{pid: pid, state: dialing, refill: refill}
	s.children[pid.Id] = c
	if refill {
		s.refilling++
	}
	return c
}

// handleShrink stops up to msg.N children that have no connection and are
// not dialling (held-back spawns first, then parked children, then those
// backing off), and tells the broker how many.
func (s *Supervisor[C]) handleShrink(ctx actor.Context, msg *messages.Shrink) {
	stopped := min(msg.N, s.heldSpawns)
	s.heldSpawns -= stopped
	for _, want := range []childState{parked, backingOff} {
		for _, c := range s.children {
			if stopped == msg.N {
				break
			}
			if c.state == want {
				s.leave(c)
				ctx.Stop(c.pid)
				stopped++
			}
		}
	}
	ctx.Send(s.cfg.Broker, &messages.Shrunk{Asked: msg.N, Stopped: stopped})
	s.ensureProbe(ctx)
}

// leave forgets a child that is being stopped, except for its entry, which
// Terminated removes.
func (s *Supervisor[C]) leave(c *child) {
	s.stopTimer(c)
	s.parked = slices.DeleteFunc(s.parked, func(p *child) bool { return p == c })
	if s.probe == c {
		s.probe = nil
	}
	if c.state == connected {
		s.connected--
	}
	c.state = leaving
}

func (s *Supervisor[C]) handleTerminated(ctx actor.Context, who *actor.PID) {
	c := s.children[who.Id]
	if c == nil {
		return
	}
	if c.state != leaving {
		// It stopped by itself: the broker retired it.
		s.leave(c)
		if !s.stopping {
			ctx.Send(s.cfg.Broker, &messages.Retired{})
		}
	}
	if c.refill {
		s.refilling--
	}
	delete(s.children, who.Id)
	s.ensureProbe(ctx)
	s.refill(ctx)
}

func (s *Supervisor[C]) handleDialed(ctx actor.Context, msg *messages.Dialed[C]) {
	c := s.children[msg.Slot.Actor.Id]
	if c == nil || c.state == leaving {
		return // a child that is gone or going; it closes its connection
	}
	restarted := c.incarnation > 0
	c.incarnation++
	c.failures = 0
	c.state = connected
	s.connected++
	s.doneRefilling(c)
	if s.open {
		s.open, s.probe, s.probeFailures = false, nil, 0
		s.cfg.Logger.Debug("actorpool: backend reachable again; refilling", "parked", len(s.parked)+s.heldSpawns)
	}
	ctx.Send(s.cfg.Broker, &messages.Ready[C]{Slot: msg.Slot, Restarted: restarted})
	s.refill(ctx)
}

func (s *Supervisor[C]) doneRefilling(c *child) {
	if c.refill {
		c.refill = false
		s.refilling--
	}
}

func (s *Supervisor[C]) handleRestartChild(ctx actor.Context, msg *messages.RestartChild) {
	c := s.children[msg.Child.Id]
	if c == nil || s.stopping || c.state != backingOff || msg.Seq != c.timerSeq {
		return // gone, stopping, or from a timer since stopped or replaced
	}
	c.timer = nil
	if s.open && s.probe != c {
		s.park(c)
		s.ensureProbe(ctx)
		return
	}
	c.state = dialing
	ctx.(actor.Supervisor).RestartChildren(msg.Child)
}

func (s *Supervisor[C]) park(c *child) {
	s.stopTimer(c)
	c.state = parked
	s.parked = append(s.parked, c)
}

// ensureProbe makes sure that, while the circuit is open, one child has
// its redial scheduled.
func (s *Supervisor[C]) ensureProbe(ctx actor.Context) {
	if !s.open || s.probe != nil || s.stopping {
		return
	}
	if len(s.parked) > 0 {
		c := s.parked[0]
		s.parked = s.parked[1:]
		s.probe = c
		delay := s.cfg.Backoff.Delay(max(s.probeFailures, 1))
		s.schedule(ctx.ActorSystem().Root, c, delay)
		s.cfg.Logger.Debug("actorpool: a parked connection actor is the probe now", "retry_in", delay)
		return
	}
	if s.heldSpawns > 0 {
		s.heldSpawns--
		s.probe = s.spawn(ctx, false)
	}
}

// refill lets parked children and held-back spawns dial again once the
// circuit is closed, RefillDials at a time.
func (s *Supervisor[C]) refill(ctx actor.Context) {
	for !s.open && !s.stopping && s.refilling < RefillDials {
		switch {
		case len(s.parked) > 0:
			c := s.parked[0]
			s.parked = s.parked[1:]
			c.state, c.refill = dialing, true
			s.refilling++
			ctx.(actor.Supervisor).RestartChildren(c.pid)
		case s.heldSpawns > 0:
			s.heldSpawns--
			s.spawn(ctx, true)
		default:
			return
		}
	}
}

func (s *Supervisor[C]) schedule(root *actor.RootContext, c *child, delay time.Duration) {
	c.state = backingOff
	c.due = time.Now().Add(delay)
	c.timerSeq++
	self, msg := s.self, &messages.RestartChild{Child: c.pid, Seq: c.timerSeq}
	s.timers.Add(1)
	c.timer = time.AfterFunc(delay, func() {
		defer s.timers.Done()
		root.Send(self, msg)
	})
}

// stopTimer stops c's restart timer, if any. It reports whether it stopped
// it before it fired.
func (s *Supervisor[C]) stopTimer(c *child) bool {
	if c.timer == nil {
		return false
	}
	stopped := c.timer.Stop()
	if stopped {
		s.timers.Done()
	}
	c.timer = nil
	return stopped
}

// HandleFailure is the pool's supervision strategy, run by protoactor when a
// connection actor crashes. A lost connection restarts at once; a failed
// dial restarts after Backoff.Delay(consecutive failures) and is reported to
// the broker, which fails waiters fast while no connection is alive. While
// the circuit is open only the probe redials (see Supervisor).
func (s *Supervisor[C]) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, pid *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	if s.stopping {
		return // the stop already under way ends the child too
	}
	c := s.children[pid.Id]
	if c == nil {
		sup.StopChildren(pid)
		return
	}
	if c.state == leaving {
		return // Shrink stopped it; Terminated follows
	}
	if c.state == connected {
		s.connected--
	}
	kind, err := decide(reason)
	if kind == core.ConnLost {
		c.state = dialing
		sup.RestartChildren(pid)
		return
	}
	c.failures++
	c.failedAt = time.Now()
	s.doneRefilling(c)
	if kind != core.DialFailed {
		s.cfg.Logger.Error("actorpool: connection actor crashed", "reason", reason)
	}
	var delay time.Duration
	switch {
	case s.connected > 0:
		delay = s.cfg.Backoff.Delay(c.failures)
		s.schedule(sys.Root, c, delay)
	case s.probe == nil || s.probe == c:
		if !s.open {
			s.openCircuit(c)
		}
		s.probeFailures++
		s.probe = c
		delay = s.cfg.Backoff.Delay(s.probeFailures)
		s.schedule(sys.Root, c, delay)
	default:
		if !s.open {
			s.openCircuit(c)
		}
		s.park(c)
	}
	if c.state == parked {
		s.cfg.Logger.Debug("actorpool: dial failed; waiting for the probe", "attempt", c.failures, "err", err)
	} else {
		s.cfg.Logger.Debug("actorpool: dial failed", "attempt", c.failures, "retry_in", delay, "err", err)
	}
	sys.Root.Send(s.cfg.Broker, &messages.DialFailed{Err: err, Attempt: c.failures, RetryIn: delay})
	if ctx, ok := sup.(actor.Context); ok {
		s.refill(ctx)
	}
}

// openCircuit parks every child waiting to redial: from now on only the
// probe dials. The probe's backoff carries on from the failures of the child
// that opened the circuit.
func (s *Supervisor[C]) openCircuit(opener *child) {
	s.open = true
	s.probeFailures = opener.failures - 1
	for _, c := range s.children {
		if c.state == backingOff && c != opener {
			s.park(c)
		}
	}
}

// decide maps a crash reason to a failure kind. Anything that is not a pool
// failure (a panic inside backend code) is treated as a failed dial, so it
// backs off rather than spinning.
func decide(reason any) (core.FailureKind, error) {
	if f, ok := core.AsFailure(reason); ok {
		return f.Kind, f.Err
	}
	if err, ok := reason.(error); ok {
		return 0, err
	}
	return 0, errors.New("panic in connection actor")
}
