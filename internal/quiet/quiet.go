// Package quiet makes the actor system of a pool (or a set of pools) that
// the library starts for itself, for callers that bring none.
package quiet

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// System returns an actor system that logs nothing. Its owner shuts it
// down when it closes.
func System() *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		// A dead letter starts a goroutine that lives this long; keep it
		// short so that none outlives Close by much.
		actor.WithDeadLetterThrottleInterval(100*time.Millisecond),
	)
}
