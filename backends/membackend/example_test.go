package membackend_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

func ExampleNew() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	b := membackend.New()
	b.FailDials(nil) // the server is down before the pool starts

	// A short backoff, so that the pool notices the server's return soon.
	p, err := actorpool.New(sys, b, actorpool.Config{
		MinConns: 1, MaxConns: 2, BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// No connection is alive and dials fail: Acquire fails at once, not at
	// its deadline, and the error wraps the dial error.
	_, err = p.Acquire(ctx)
	fmt.Println(err)
	fmt.Println(errors.Is(err, actorpool.ErrBackendUnavailable), errors.Is(err, membackend.ErrDialRefused))

	// The server comes back; the pool redials by itself. Wait, within a
	// bound, until its connection is ready.
	b.Heal()
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Idle() < 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	lease, err := p.Acquire(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("leased connection", lease.Conn().ID, "command:", lease.Conn().Do())
	fmt.Println("release:", lease.Release())
	// Output:
	// actorpool: backend unavailable: membackend: dial refused
	// true true
	// leased connection 1 command: <nil>
	// release: <nil>
}
