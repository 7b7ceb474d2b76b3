package actorpool_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

func ExamplePool_SetLifecycle() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{})
	defer p.Close(context.Background())
	ctx := context.Background()

	// Start from the settings in force and change what is needed.
	lc := p.Lifecycle()
	lc.AcquireTimeout = 2 * time.Second
	lc.LeaseTimeout = time.Minute
	fmt.Println(p.SetLifecycle(ctx, lc))
	fmt.Println(p.Lifecycle().AcquireTimeout, p.Lifecycle().LeaseTimeout)

	// A value New would reject changes nothing.
	lc.MaxWaiters = -1
	fmt.Println(p.SetLifecycle(ctx, lc))
	fmt.Println(p.Lifecycle().MaxWaiters)
	// Output:
	// <nil>
	// 2s 1m0s
	// actorpool: invalid config: MaxWaiters is -1, must not be negative
	// 0
}
