package redisbackend_test

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// BenchmarkReset measures what Reset adds to each lease.
//
//   - Clean: the holder changed no session state (the common case).
//     NeedsReset says so and the pool skips Reset: this is the whole cost
//     per lease.
//   - CleanReset: Reset called anyway on a clean connection (a pool that
//     ignores NeedsReset): no round trip either.
//   - AfterSelect: the holder ran SELECT, so Reset sends one pipelined round
//     trip. Each iteration is the holder's SELECT plus Reset; compare with
//     SelectAlone for Reset's share.
//   - AfterEverything: SELECT, CLIENT SETNAME, WATCH and an open MULTI, all
//     undone in the same single round trip.
func BenchmarkReset(b *testing.B) {
	s := redisserver.Start(b)
	be := redisbackend.New(redisbackend.Options{Addr: s.Addr(), DB: 1, ClientName: "bench"})
	ctx := context.Background()
	c, err := be.Dial(ctx)
	require.NoError(b, err)
	b.Cleanup(func() { _ = be.Close(c) })

	require.NoError(b, c.Set(ctx, "k", "v", 0).Err())
	b.Run("Clean", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if be.NeedsReset(c) {
				b.Fatal("a clean connection needs no reset")
			}
		}
	})
	b.Run("CleanReset", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := be.Reset(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SelectAlone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Do(ctx, "SELECT", 2).Err(); err != nil {
				b.Fatal(err)
			}
		}
		require.NoError(b, be.Reset(ctx, c))
	})
	b.Run("AfterSelect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Do(ctx, "SELECT", 2).Err(); err != nil {
				b.Fatal(err)
			}
			if err := be.Reset(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AfterEverything", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Do(ctx, "SELECT", 2)
				p.Do(ctx, "CLIENT", "SETNAME", "holder")
				p.Do(ctx, "WATCH", "k")
				p.Do(ctx, "MULTI")
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if err := be.Reset(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCommand compares a GET on a pooled Conn (its go-redis client goes
// through the tracking hook) with a GET on a plain go-redis client of one
// connection: the difference is what the hook costs per command.
func BenchmarkCommand(b *testing.B) {
	s := redisserver.Start(b)
	ctx := context.Background()
	be := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	c, err := be.Dial(ctx)
	require.NoError(b, err)
	b.Cleanup(func() { _ = be.Close(c) })
	plain := redis.NewClient(&redis.Options{Addr: s.Addr(), PoolSize: 1, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	b.Cleanup(func() { _ = plain.Close() })
	require.NoError(b, plain.Set(ctx, "k", "v", 0).Err())

	for _, bc := range []struct {
		name string
		c    *redis.Client
	}{{"Conn", c.Client}, {"GoRedisClient", plain}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.c.Get(ctx, "k").Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRequestByMessage is one actor's request → reply loop of GET by
// message (msg), beside the command client's GET from one goroutine
// (client): allocs/op are each path's whole cost, the Request, the
// command and the Reply included.
func BenchmarkRequestByMessage(b *testing.B) {
	s := redisserver.Start(b)
	p, err := actorpool.Open(redisbackend.New(redisbackend.Options{Addr: s.Addr()}), actorpool.Config{MaxConns: 2})
	require.NoError(b, err)
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	rc := redisbackend.NewCommands(p)
	ctx := context.Background()
	require.NoError(b, rc.Set(ctx, "k", "v", 0).Err())

	b.Run("msg", func(b *testing.B) {
		b.ReportAllocs()
		replies := make(chan error, 1)
		pid := p.ActorSystem().Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			switch m := c.Message().(type) {
			case string:
				c.Request(rc.PID(), &redisbackend.Request{Cmds: []redis.Cmder{redis.NewStringCmd(ctx, "get", m)}})
			case *redisbackend.Reply:
				replies <- m.Err
			}
		}))
		defer p.ActorSystem().Root.Stop(pid)
		for b.Loop() {
			p.ActorSystem().Root.Send(pid, "k")
			if err := <-replies; err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rc.Get(ctx, "k").Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
