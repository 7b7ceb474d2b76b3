package actorpool_test

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// newSystem returns an actor system that logs nowhere, as a library's host
// would configure it.
func newSystem() *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.DiscardHandler)
		}),
		// A dead letter starts a throttle goroutine that lives this long;
		// keep it short so that goleak, run right after Close, sees it end.
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
}
