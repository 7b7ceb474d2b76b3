package redisbackend_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
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
	srv, stop, err := redisserver.StartDetached("example") // any Redis will do; this one is the tests' redis-server
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

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
	srv, stop, err := redisserver.StartDetached("example") // any Redis will do; this one is the tests' redis-server
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

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

// printHook is a hook in the style of redisotel's: it wraps next and
// reports each command, and each pipeline, with its result.
type printHook struct{}

func (printHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (printHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		fmt.Println("hook:", cmd.String())
		return err
	}
}

func (printHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		fmt.Printf("hook: pipeline of %d commands, err %v\n", len(cmds), err)
		return err
	}
}

// dialCounter counts the connections dialled.
type dialCounter struct{ dials atomic.Int32 }

func (d *dialCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.dials.Add(1)
		return next(ctx, network, addr)
	}
}
func (d *dialCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (d *dialCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func ExampleCommands_AddHook() {
	srv, stop, err := redisserver.StartDetached("example") // any Redis will do; this one is the tests' redis-server
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	pool, err := actorpool.New(sys, redisbackend.New(redisbackend.Options{Addr: srv.Addr()}), actorpool.Config{MaxConns: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close(context.Background())

	// The hook runs once per command and once per pipeline, around
	// command mode, and sees each reply.
	rc := redisbackend.NewCommands(pool)
	rc.AddHook(printHook{})
	ctx := context.Background()
	rc.Set(ctx, "visits", 41, 0)
	rc.Incr(ctx, "visits")
	rc.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Incr(ctx, "visits")
		pipe.Get(ctx, "visits")
		return nil
	})
	// Output:
	// hook: set visits 41: OK
	// hook: incr visits: 42
	// hook: pipeline of 2 commands, err <nil>
}

func ExampleOptions_hooks() {
	srv, stop, err := redisserver.StartDetached("example") // any Redis will do; this one is the tests' redis-server
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	// Options.Hooks go on every connection the pool dials, once.
	dials := &dialCounter{}
	backend := redisbackend.New(redisbackend.Options{Addr: srv.Addr(), Hooks: []redis.Hook{dials}})
	pool, err := actorpool.New(sys, backend, actorpool.Config{MaxConns: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close(context.Background())

	// A hook added to a leased connection lasts for that lease only.
	ctx := context.Background()
	_ = pool.With(ctx, func(c *redisbackend.Conn) error {
		c.AddHook(printHook{})
		return c.Set(ctx, "k", "v", 0).Err()
	})
	_ = pool.With(ctx, func(c *redisbackend.Conn) error {
		return c.Get(ctx, "k").Err() // the same connection, without the hook
	})
	fmt.Println("dials:", dials.dials.Load())
	// Output:
	// hook: set k v: OK
	// dials: 1
}

func ExampleCommands_PID() {
	srv, stop, err := redisserver.StartDetached("example") // any Redis will do; this one is the tests' redis-server
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	pool, err := actorpool.Open(redisbackend.New(redisbackend.Options{Addr: srv.Addr()}), actorpool.Config{MaxConns: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close(context.Background())
	rc := redisbackend.NewCommands(pool)

	// An actor sends commands by message and gets the reply, with its
	// tag, in its mailbox; it never blocks and starts no goroutine.
	replies := make(chan string, 2)
	counter := pool.ActorSystem().Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			incr := redis.NewIntCmd(context.Background(), "incr", "example:hits")
			ctx.Request(rc.PID(), &redisbackend.Request{Tag: "first", Cmds: []redis.Cmder{incr}})
			pipe := rc.Pipeline() // builds commands without running them
			pipe.Incr(context.Background(), "example:hits")
			pipe.Get(context.Background(), "example:hits")
			ctx.Request(rc.PID(), &redisbackend.Request{Tag: "pipeline", Cmds: pipe.Cmds()})
		case *redisbackend.Reply:
			replies <- fmt.Sprintf("%v: %v, err %v", m.Tag, m.Cmds[len(m.Cmds)-1], m.Err)
		}
	}))
	defer pool.ActorSystem().Root.Stop(counter)
	for range 2 {
		select {
		case r := <-replies:
			fmt.Println(r)
		case <-time.After(10 * time.Second):
			fmt.Println("no reply")
		}
	}
	// Output:
	// first: incr example:hits: 1, err <nil>
	// pipeline: get example:hits: 2, err <nil>
}
