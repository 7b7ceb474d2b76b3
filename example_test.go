package actorpool_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/messages"
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

func ExampleLease_Release() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	b := membackend.New()
	p, _ := actorpool.New(sys, b, actorpool.Config{MaxConns: 1})
	defer p.Close(context.Background())

	lease, err := p.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	c := lease.Conn()
	_ = c.Do() // leaves session state behind: the connection is dirty
	fmt.Println("dirty:", c.Dirty())
	fmt.Println("release:", lease.Release(), "valid:", lease.Valid())

	// The pool resets a released connection before the next holder gets
	// it: with MaxConns 1 the next lease is the same connection, clean.
	next, err := p.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer next.Release()
	fmt.Println("same connection:", next.Conn() == c, "dirty:", next.Conn().Dirty(), "resets:", b.Resets())
	// Output:
	// dirty: true
	// release: <nil> valid: false
	// same connection: true dirty: false resets: 1
}

func ExampleLease_MarkBroken() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MaxConns: 1})
	defer p.Close(context.Background())

	lease, err := p.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	c := lease.Conn()
	fmt.Println("first connection:", c.ID)
	// The holder saw something that makes the connection unusable (here a
	// reply it could not parse): the pool closes it and dials a new one.
	fmt.Println("mark broken:", lease.MarkBroken(errors.New("reply out of sync")))
	fmt.Println("again:", lease.MarkBroken(nil))

	next, err := p.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer next.Release()
	fmt.Println("next connection:", next.Conn().ID, "old one closed:", c.Closed())
	// Output:
	// first connection: 1
	// mark broken: <nil>
	// again: actorpool: lease already released
	// next connection: 2 old one closed: true
}

func ExamplePool_Close() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	b := membackend.New()
	p, _ := actorpool.New(sys, b, actorpool.Config{MinConns: 2, MaxConns: 2})

	lease, err := p.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	// Close waits for leases to come back until its ctx ends; then it
	// revokes the ones still out. This holder never gives its lease back.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = p.Close(ctx)
	fmt.Println("close:", err)
	fmt.Println("deadline passed:", errors.Is(err, context.DeadlineExceeded))
	fmt.Println("late release:", lease.Release())
	fmt.Println("connections open:", b.Live())

	_, err = p.Acquire(context.Background())
	fmt.Println("acquire:", err)
	fmt.Println("close again:", p.Close(context.Background()))
	// Output:
	// close: actorpool: close revoked 1 leases: context deadline exceeded
	// deadline passed: true
	// late release: actorpool: lease revoked: held past LeaseTimeout or pool closed
	// connections open: 0
	// acquire: actorpool: pool closed
	// close again: actorpool: pool closed
}

func ExamplePool_Stats() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MinConns: 2, MaxConns: 4})
	defer p.Close(context.Background())

	// New dials MinConns in the background; wait, within a bound, until
	// they are ready.
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Idle() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	show := func(s actorpool.Stats) {
		fmt.Printf("total %d = idle %d + leased %d + dialing %d; limits %d..%d; acquired %d\n",
			s.Total(), s.Idle(), s.Leased(), s.Dialing(), s.MinConns(), s.MaxConns(), s.Acquired())
	}
	show(p.Stats())

	lease, err := p.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	show(p.Stats())
	_ = lease.Release()
	// Output:
	// total 2 = idle 2 + leased 0 + dialing 0; limits 2..4; acquired 0
	// total 2 = idle 1 + leased 1 + dialing 0; limits 2..4; acquired 1
}

func ExamplePool_Load() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MaxConns: 4})
	defer p.Close(context.Background())

	lease, err := p.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	outstanding, maxConns := p.Load() // what a picker weighs, without the rest of Stats
	fmt.Printf("%d of %d\n", outstanding, maxConns)
	_ = lease.Release()
	outstanding, _ = p.Load()
	fmt.Println(outstanding)
	// Output:
	// 1 of 4
	// 0
}

func ExamplePool_SetLimits() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MinConns: 1, MaxConns: 2})
	defer p.Close(context.Background())

	// waitFor polls the stats, within a bound, until cond holds.
	waitFor := func(cond func(actorpool.Stats) bool) actorpool.Stats {
		deadline := time.Now().Add(5 * time.Second)
		for !cond(p.Stats()) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		return p.Stats()
	}

	// A higher minimum is dialled at once.
	if err := p.SetLimits(context.Background(), 3, 5); err != nil {
		fmt.Println(err)
		return
	}
	s := waitFor(func(s actorpool.Stats) bool { return s.Idle() == 3 })
	fmt.Printf("limits %d..%d: %d idle\n", s.MinConns(), s.MaxConns(), s.Idle())

	// A lower maximum retires idle connections.
	if err := p.SetLimits(context.Background(), 0, 1); err != nil {
		fmt.Println(err)
		return
	}
	s = waitFor(func(s actorpool.Stats) bool { return s.Total() == 1 })
	fmt.Printf("limits %d..%d: %d open\n", s.MinConns(), s.MaxConns(), s.Total())

	// Limits New would reject change nothing.
	err := p.SetLimits(context.Background(), 4, 2)
	fmt.Println(err)
	fmt.Println(errors.Is(err, actorpool.ErrInvalidConfig))
	// Output:
	// limits 3..5: 3 idle
	// limits 0..1: 1 open
	// actorpool: invalid config: MinConns (4) is above MaxConns (2)
	// true
}

func ExamplePool_Broker() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	p, _ := actorpool.New(sys, membackend.New(), actorpool.Config{MaxConns: 1})

	// An actor leases by message and never blocks its mailbox: it asks the
	// broker with ctx.Request (so the broker knows who holds the lease, and
	// reclaims it should the actor stop), and the answer arrives later as
	// a message. This one runs one command on its lease and reports on
	// results. (An actor with slow commands runs them off its mailbox: see
	// examples/actorservice.)
	results := make(chan string, 1)
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			// The tag comes back with the answer.
			ctx.Request(p.Broker(), &messages.Acquire{Timeout: time.Second, Tag: "job-7"})
		case *messages.Granted[*membackend.Conn]:
			err := msg.Lease.Conn().Do()
			results <- fmt.Sprintf("%v granted: command %v, release %v", msg.Tag, err, msg.Lease.Release())
		case *messages.AcquireFailed:
			results <- fmt.Sprintf("%v failed: %v", msg.Tag, msg.Err)
		}
	})
	// ask spawns such an actor and waits, within a bound, for its report.
	ask := func() {
		pid := sys.Root.Spawn(props)
		defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
		select {
		case r := <-results:
			fmt.Println(r)
		case <-time.After(5 * time.Second):
			fmt.Println("no answer")
		}
	}

	ask()
	if err := p.Close(context.Background()); err != nil {
		fmt.Println(err)
	}
	ask() // after Close, the broker still answers
	// Output:
	// job-7 granted: command <nil>, release <nil>
	// job-7 failed: actorpool: pool closed
}

func ExampleOpen() {
	// No actor system to bring: the pool runs on one of its own, which
	// logs nothing, and Close shuts it down.
	p, err := actorpool.Open(membackend.New(), actorpool.Config{MaxConns: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(context.Background())

	err = p.With(context.Background(), func(c *membackend.Conn) error { return c.Do() })
	fmt.Println("with:", err)
	// Output:
	// with: <nil>
}
