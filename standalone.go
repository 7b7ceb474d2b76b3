package actorpool

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/backends"
)

// Open starts a pool on an actor system of its own, for a service that
// uses the pool from goroutines only (Acquire, With, Do) and has no actor
// system to give New. The system logs nothing; Close closes the pool and
// then shuts the system down. Everything else is as New: invalid
// configuration, a nil backend included, is an error wrapping
// ErrInvalidConfig, and nothing is left running.
func Open[C any](backend backends.Backend[C], cfg Config) (*Pool[C], error) {
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		// A dead letter starts a goroutine that lives this long; keep it
		// short so that none outlives Close by much.
		actor.WithDeadLetterThrottleInterval(100*time.Millisecond),
	)
	p, err := New(sys, backend, cfg)
	if err != nil {
		sys.Shutdown()
		return nil, err
	}
	p.ownSys = sys
	return p, nil
}
