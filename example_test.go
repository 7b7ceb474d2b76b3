package actorpool_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

func ExampleNew() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler) // protoactor logs nothing of its own
	}))
	p, err := actorpool.New(sys, membackend.New(), actorpool.Config{MinConns: 1, MaxConns: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(context.Background())

	_, err = actorpool.New(sys, membackend.New(), actorpool.Config{MinConns: 5, MaxConns: 2})
	fmt.Println(err)
	// Output:
	// actorpool: invalid config: MinConns (5) is above MaxConns (2)
}

func ExamplePool_Acquire() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MaxConns: 2})
	defer p.Close(context.Background())

	lease, err := p.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("command:", lease.Conn().Do())
	fmt.Println("release:", lease.Release())
	fmt.Println("again:", lease.Release())
	// Output:
	// command: <nil>
	// release: <nil>
	// again: actorpool: lease already released
}

func ExamplePool_With() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MaxConns: 1})
	defer p.Close(context.Background())

	// A fatal error (the backend's IsFatal) marks the connection broken:
	// it is closed and replaced, never lent again.
	err := p.With(context.Background(), func(c *membackend.Conn) error {
		c.Break()
		return c.Do()
	})
	fmt.Println(err)
	err = p.With(context.Background(), func(c *membackend.Conn) error { return c.Do() })
	fmt.Println(err, p.Stats().Broken())
	// Output:
	// membackend: connection broken
	// <nil> 1
}
