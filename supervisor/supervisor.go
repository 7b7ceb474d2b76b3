// Package supervisor holds the actor that owns a pool's connection actors.
//
// The supervisor carries out the lives of the connection actors; it
// decides nothing. It spawns them when the broker asks (*Spawn), tells the
// broker when one crashes (*ConnFailed, the actor staying suspended) or
// stops (*ConnStopped), and restarts or stops it when the broker says so
// (*Restart, *StopChild). When to redial, with what backoff, and whether
// the backend is down (the circuit) is the broker's decision alone.
package supervisor

import (
	"errors"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/proto"
)

// Config is what a supervisor needs; read-only after spawn.
type Config struct {
	Broker     *actor.PID
	Connection *actor.Props // props of one connection actor
	Logger     *slog.Logger
}

// Supervisor is both the actor and the supervision strategy of its
// children. Its one field is owned by Receive and HandleFailure, which
// protoactor runs on the same mailbox, one at a time.
type Supervisor struct {
	cfg      Config
	stopping bool // set at Stopping: the children stop with it
}

var _ actor.SupervisorStrategy = (*Supervisor)(nil)

// New returns the producer for a pool's supervisor.
func New(cfg Config) actor.Producer {
	return func() actor.Actor { return &Supervisor{cfg: cfg} }
}

func (s *Supervisor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Stopping:
		s.stopping = true
	case *actor.Terminated:
		if !s.stopping {
			ctx.Send(s.cfg.Broker, &proto.ConnStopped{Child: msg.Who})
		}
	case *proto.Spawn:
		for range msg.N {
			if !s.stopping {
				ctx.Spawn(s.cfg.Connection)
			}
		}
	case *proto.Restart:
		if !s.stopping && s.isChild(ctx, msg.Child) {
			ctx.(actor.Supervisor).RestartChildren(msg.Child)
		}
	case *proto.StopChild:
		if !s.stopping && s.isChild(ctx, msg.Child) {
			ctx.Stop(msg.Child)
		}
	}
}

// isChild reports whether pid is one of ctx's children still.
func (s *Supervisor) isChild(ctx actor.Context, pid *actor.PID) bool {
	for _, c := range ctx.Children() {
		if c.Equal(pid) {
			return true
		}
	}
	return false
}

// HandleFailure is the pool's supervision strategy, run by protoactor when
// a connection actor crashes: the actor stays suspended and the broker
// hears why; it answers with *Restart (now, or after its backoff) or
// *StopChild.
func (s *Supervisor) HandleFailure(sys *actor.ActorSystem, _ actor.Supervisor, pid *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	if s.stopping {
		return // the stop under way ends the child too
	}
	kind, err := decide(reason)
	if _, ok := proto.AsFailure(reason); !ok {
		s.cfg.Logger.Error("actorpool: connection actor crashed", "reason", reason)
	}
	sys.Root.Send(s.cfg.Broker, &proto.ConnFailed{Child: pid, Lost: kind == proto.ConnLost, Err: err})
}

// decide maps a crash reason to a failure kind. Anything that is not a
// pool failure (a panic inside backend code) counts as a failed dial, so it
// backs off rather than spinning.
func decide(reason any) (proto.FailureKind, error) {
	if f, ok := proto.AsFailure(reason); ok {
		return f.Kind, f.Err
	}
	if err, ok := reason.(error); ok {
		return proto.DialFailed, err
	}
	return proto.DialFailed, errors.New("panic in connection actor")
}
