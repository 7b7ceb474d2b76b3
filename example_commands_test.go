package actorpool_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

func ExamplePool_Do() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	// membackend implements backends.Pipeliner, so the pool runs command
	// mode; for Redis, redisbackend.NewCommands wraps Do in a go-redis client.
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MaxConns: 4})
	defer p.Close(context.Background())

	cmd := &membackend.Command{Fn: func(c *membackend.Conn) error { return c.Do() }}
	err := p.Do(context.Background(), cmd, 16) // 16: roughly the bytes it writes
	fmt.Println("err:", err, "command's own:", cmd.Err, "batch:", cmd.Batch)
	st := p.Stats()
	fmt.Println("commands:", st.Commands(), "connections in command mode:", st.CommandConns())
	// Output:
	// err: <nil> command's own: <nil> batch: 1
	// commands: 1 connections in command mode: 1
}
