package redisbackend_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/alicebob/miniredis/v2"
	"github.com/asynkron/protoactor-go/actor"

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
