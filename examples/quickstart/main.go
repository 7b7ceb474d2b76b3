// Command quickstart pools Redis connections with actorpool.
//
//	go run ./examples/quickstart
//	REDIS_URL=redis://:secret@127.0.0.1:6379/0 go run ./examples/quickstart
//
// Without REDIS_URL it starts an in-process Redis (miniredis), so it needs
// nothing but Go. It leases a connection and runs commands on it, runs a
// pipeline and a transaction, has eight goroutines share the pool, shows
// that an error reply keeps the connection, prints the pool's stats, and
// exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	backend, stopServer, err := newBackend()
	if err != nil {
		return err
	}
	defer stopServer()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	pool, err := actorpool.New(sys, backend, actorpool.Config{MinConns: 2, MaxConns: 4, Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		if err := pool.Close(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "close:", err)
		}
		fmt.Println("pool closed")
	}()
	fmt.Println("pooling", backend) // the password, if any, is redacted

	// Acquire a lease, use it as a go-redis client, give it back.
	lease, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	c := lease.Conn()
	if err := c.Set(ctx, "greeting", "hello", 0).Err(); err != nil {
		_ = lease.Release()
		return err
	}
	v, err := c.Get(ctx, "greeting").Result()
	fmt.Printf("leased connection %d: SET greeting, GET greeting = %q (err %v)\n", lease.ID(), v, err)
	if err := lease.Release(); err != nil {
		return err
	}

	// With: acquire, run, release in one call. A pipeline and a
	// transaction run on the one leased connection.
	err = pool.With(ctx, func(c *redisbackend.Conn) error {
		cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, "visits")
			p.RPush(ctx, "queue", "a", "b", "c")
			p.LLen(ctx, "queue")
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Printf("pipeline: %d commands in one round trip, queue length %d\n",
			len(cmds), cmds[2].(*redis.IntCmd).Val())
		_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.LPop(ctx, "queue")
			p.Incr(ctx, "popped")
			return nil
		})
		if err == nil {
			fmt.Println("transaction: LPOP queue and INCR popped, atomically")
		}
		return err
	})
	if err != nil {
		return err
	}

	// Eight goroutines share the pool's (at most four) connections.
	var wg sync.WaitGroup
	var errs [8]error
	for i := range errs {
		wg.Go(func() {
			for range 25 {
				errs[i] = pool.With(ctx, func(c *redisbackend.Conn) error {
					return c.Incr(ctx, "visits").Err()
				})
				if errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return err
	}
	err = pool.With(ctx, func(c *redisbackend.Conn) error {
		n, err := c.Get(ctx, "visits").Int()
		fmt.Printf("8 goroutines x 25 INCR visits: visits = %d\n", n)
		return err
	})
	if err != nil {
		return err
	}

	// An error reply is an ordinary error: the connection stays in the pool.
	err = pool.With(ctx, func(c *redisbackend.Conn) error {
		return c.Incr(ctx, "greeting").Err()
	})
	fmt.Printf("INCR on a string: %v (fatal for the connection: %v)\n", err, backend.IsFatal(err))

	st := pool.Stats()
	fmt.Printf("stats: total %d, idle %d, leased %d, acquired %d, dials %d, broken %d\n",
		st.Total(), st.Idle(), st.Leased(), st.Acquired(), st.Dials(), st.Broken())
	return nil
}

// newBackend dials REDIS_URL when it is set, and otherwise an in-process
// Redis that stopServer shuts down.
func newBackend() (backend *redisbackend.Backend, stopServer func(), err error) {
	if url := os.Getenv("REDIS_URL"); url != "" {
		b := redisbackend.NewFromURL(url)
		return b, func() {}, b.Validate()
	}
	mr, err := miniredis.Run()
	if err != nil {
		return nil, nil, err
	}
	fmt.Println("REDIS_URL is not set: using an in-process Redis (miniredis) at", mr.Addr())
	return redisbackend.New(redisbackend.Options{Addr: mr.Addr()}), mr.Close, nil
}
