// Package pooltest holds what the pool's test suites share: an actor system
// set up as a library's host would set it up, and the Stats invariant.
package pooltest

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
)

// NewSystem returns an actor system that logs nowhere. A dead letter starts
// a protoactor throttle goroutine that lives for the throttle interval; it is
// kept short so that goleak, run right after Close, sees it end. (The pool
// suites fail on dead letters to the pool's own actors by other means.)
func NewSystem() *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.DiscardHandler)
		}),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
}

// RequireStatsAddUp checks invariant 5 on one snapshot: Total = Idle +
// Leased + Dialing, nothing negative, nothing above MaxConns.
func RequireStatsAddUp(t testing.TB, s actorpool.Stats) {
	t.Helper()
	require.Equal(t, s.Total(), s.Idle()+s.Leased()+s.Dialing(), "stats do not add up: %+v", s)
	require.GreaterOrEqual(t, s.Dialing(), 0, "%+v", s)
	require.LessOrEqual(t, s.Total(), s.MaxConns(), "%+v", s)
}
