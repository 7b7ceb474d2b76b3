package actorpool_test

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
)

// newSystem returns an actor system that logs nowhere, as a library's host
// would configure it.
func newSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}
