package redisbackend_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/alicebob/miniredis/v2"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

func ExampleParseURL() {
	opt, err := redisbackend.ParseURL("redis://app:s3cret@cache.internal:6379/2?client_name=checkout")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(opt.Addr, opt.DB, opt.ClientName)
	fmt.Println(opt) // the password is redacted

	_, err = redisbackend.ParseURL("redis://app:s3cret@cache.internal:6379/2?pool_size=100")
	fmt.Println(err)
	// Output:
	// cache.internal:6379 2 checkout
	// redis://app:xxxxx@cache.internal:6379/2?client_name=checkout
	// redisbackend: invalid URL "redis://app:xxxxx@cache.internal:6379/2?pool_size=100": parameter pool_size configures go-redis's pool; set actorpool.Config instead
}

func Example() {
	srv, err := miniredis.Run() // any Redis will do; this one runs in-process
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	backend := redisbackend.New(redisbackend.Options{Addr: srv.Addr()})
	pool, err := actorpool.New(sys, backend, actorpool.Config{MaxConns: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close(context.Background())

	ctx := context.Background()
	err = pool.With(ctx, func(c *redisbackend.Conn) error {
		if err := c.Set(ctx, "greeting", "hello", 0).Err(); err != nil {
			return err
		}
		v, err := c.Get(ctx, "greeting").Result()
		fmt.Println("greeting:", v)
		return err
	})
	fmt.Println("err:", err)

	err = pool.With(ctx, func(c *redisbackend.Conn) error {
		return c.Incr(ctx, "greeting").Err() // an error reply: the connection stays
	})
	fmt.Println("fatal:", backend.IsFatal(err))
	fmt.Println("connections:", pool.Stats().Total())
	// Output:
	// greeting: hello
	// err: <nil>
	// fatal: false
	// connections: 1
}

func ExampleNewCommands() {
	srv, err := miniredis.Run() // any Redis will do; this one runs in-process
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	pool, err := actorpool.New(sys, redisbackend.New(redisbackend.Options{Addr: srv.Addr()}), actorpool.Config{MaxConns: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close(context.Background())

	// Commands are pipelined by the pool's connection actors; the caller
	// never holds a connection.
	rc := redisbackend.NewCommands(pool)
	ctx := context.Background()
	fmt.Println(rc.Set(ctx, "visits", 41, 0).Err())
	fmt.Println(rc.Incr(ctx, "visits").Val())
	_, err = rc.Get(ctx, "missing").Result()
	fmt.Println(err)

	// A transaction runs on a connection leased for the call.
	cmds, err := rc.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Incr(ctx, "visits")
		pipe.Get(ctx, "visits")
		return nil
	})
	fmt.Println(cmds[1].(*redis.StringCmd).Val(), err)

	// Session state cannot be shared: lease a connection for it.
	err = rc.Do(ctx, "select", 1).Err()
	fmt.Println(errors.Is(err, redisbackend.ErrNeedsLease))
	// Output:
	// <nil>
	// 42
	// redis: nil
	// 43 <nil>
	// true
}
