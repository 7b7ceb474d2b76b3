package actorpool_test

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/pooltest"
)

// newSystem returns an actor system that logs nowhere, as a library's host
// would configure it.
func newSystem() *actor.ActorSystem { return pooltest.NewSystem() }

// requireStatsAddUp checks invariant 5 on one snapshot.
var requireStatsAddUp = pooltest.RequireStatsAddUp
