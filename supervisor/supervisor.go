package supervisor

import (
	"errors"
	"log/slog"
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

// child is what the supervisor remembers of one connection actor.
type child struct {
	failures    int         // consecutive dial failures; reset by a successful dial
	incarnation int         // successful dials so far
	timer       *time.Timer // pending restart, while backing off
}

// Supervisor owns the connection actors. All fields are owned by Receive and
// HandleFailure, which protoactor runs on the same mailbox, one at a time.
type Supervisor[C any] struct {
	cfg      Config
	self     *actor.PID
	children map[string]*child
	stopping bool
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
			if c.timer != nil {
				c.timer.Stop()
			}
		}
	case *actor.Terminated:
		if c := s.children[msg.Who.Id]; c != nil && c.timer != nil {
			c.timer.Stop()
		}
		delete(s.children, msg.Who.Id)
	case *messages.Grow:
		s.handleGrow(ctx, msg)
	case *messages.Dialed[C]:
		s.handleDialed(ctx, msg)
	case *messages.RestartChild:
		s.handleRestartChild(ctx, msg)
	}
}

func (s *Supervisor[C]) handleGrow(ctx actor.Context, msg *messages.Grow) {
	for range msg.N {
		pid := ctx.Spawn(s.cfg.Connection)
		s.children[pid.Id] = &child{}
	}
}

func (s *Supervisor[C]) handleDialed(ctx actor.Context, msg *messages.Dialed[C]) {
	c := s.children[msg.Slot.Actor.Id]
	if c == nil {
		return // a child that is already gone
	}
	restarted := c.incarnation > 0
	c.incarnation++
	c.failures = 0
	ctx.Send(s.cfg.Broker, &messages.Ready[C]{Slot: msg.Slot, Restarted: restarted})
}

func (s *Supervisor[C]) handleRestartChild(ctx actor.Context, msg *messages.RestartChild) {
	c := s.children[msg.Child.Id]
	if c == nil || s.stopping {
		return
	}
	c.timer = nil
	ctx.(actor.Supervisor).RestartChildren(msg.Child)
}

// HandleFailure is the pool's supervision strategy, run by protoactor when a
// connection actor crashes. A lost connection restarts at once; a failed
// dial restarts after Backoff.Delay(consecutive failures) and is reported to
// the broker, which fails waiters fast while no connection is alive.
func (s *Supervisor[C]) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, pid *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	if s.stopping {
		return // the stop already under way ends the child too
	}
	c := s.children[pid.Id]
	if c == nil {
		sup.StopChildren(pid)
		return
	}
	kind, err := decide(reason)
	switch kind {
	case core.ConnLost:
		sup.RestartChildren(pid)
	default:
		c.failures++
		delay := s.cfg.Backoff.Delay(c.failures)
		if kind != core.DialFailed {
			s.cfg.Logger.Error("actorpool: connection actor crashed", "reason", reason)
		}
		s.cfg.Logger.Debug("actorpool: dial failed", "attempt", c.failures, "retry_in", delay, "err", err)
		sys.Root.Send(s.cfg.Broker, &messages.DialFailed{Err: err, Attempt: c.failures, RetryIn: delay})
		self, root := s.self, sys.Root
		c.timer = time.AfterFunc(delay, func() {
			root.Send(self, &messages.RestartChild{Child: pid})
		})
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
