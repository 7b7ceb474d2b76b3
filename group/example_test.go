package group_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/messages"
)

func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

// A primary and two replicas. With Redis or MySQL backends the roles are
// read from the servers; membackend cannot, so they are configured.
func ExampleNew() {
	g, err := group.New(quietSystem(), group.Config{Pool: actorpool.Config{MaxConns: 4}},
		group.Endpoint[*membackend.Conn]{Name: "primary", Backend: membackend.New()},
		group.Endpoint[*membackend.Conn]{Name: "replica-1", Backend: membackend.New(), Replica: true},
		group.Endpoint[*membackend.Conn]{Name: "replica-2", Backend: membackend.New(), Replica: true},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close(context.Background())
	for _, e := range g.Stats().Endpoints() {
		fmt.Println(e.Name(), e.Role())
	}
	// Output:
	// primary primary
	// replica-1 replica
	// replica-2 replica
}

// newExampleGroup is a primary "p" and a replica "r" over membackend.
func newExampleGroup(cfg group.Config) *group.Group[*membackend.Conn] {
	g, _ := group.New(quietSystem(), cfg,
		group.Endpoint[*membackend.Conn]{Name: "p", Backend: membackend.New()},
		group.Endpoint[*membackend.Conn]{Name: "r", Backend: membackend.New(), Replica: true},
	)
	return g
}

func ExampleGroup_Acquire() {
	g := newExampleGroup(group.Config{})
	defer g.Close(context.Background())
	ctx := context.Background()

	l, err := g.Acquire(ctx) // a primary, for a write
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("write on", leasedOn(g), l.Release())
	// Output: write on p <nil>
}

func ExampleGroup_AcquireRead() {
	g := newExampleGroup(group.Config{})
	defer g.Close(context.Background())

	l, err := g.AcquireRead(context.Background()) // a replica while one can serve
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("read on", leasedOn(g), l.Release())
	// Output: read on r <nil>
}

// leasedOn names the endpoint with a lease out.
func leasedOn(g *group.Group[*membackend.Conn]) string {
	for _, e := range g.Stats().Endpoints() {
		if e.Pool().Leased() > 0 {
			return e.Name()
		}
	}
	return "none"
}

func ExampleGroup_With() {
	g := newExampleGroup(group.Config{})
	defer g.Close(context.Background())

	err := g.With(context.Background(), func(c *membackend.Conn) error {
		return c.Do() // a write on the primary
	})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleGroup_WithRead() {
	g := newExampleGroup(group.Config{})
	defer g.Close(context.Background())

	err := g.WithRead(context.Background(), func(c *membackend.Conn) error {
		return c.Do() // a read on the replica
	})
	e, _ := g.Stats().Endpoint("r")
	fmt.Println(err, e.Pool().Acquired())
	// Output: <nil> 1
}

// When every endpoint fails fast, the error matches ErrBackendUnavailable
// and carries each endpoint's own error.
func ExampleGroup_Acquire_allDown() {
	a, b := membackend.New(), membackend.New()
	a.FailDials(errors.New("a is down"))
	b.FailDials(errors.New("b is down"))
	g, _ := group.New(quietSystem(), group.Config{Picker: group.RoundRobin()},
		group.Endpoint[*membackend.Conn]{Name: "a", Backend: a},
		group.Endpoint[*membackend.Conn]{Name: "b", Backend: b},
	)
	defer g.Close(context.Background())

	_, err := g.Acquire(context.Background())
	fmt.Println(errors.Is(err, actorpool.ErrBackendUnavailable))
	fmt.Println(err)
	// Output:
	// true
	// actorpool: backend unavailable: group: no primary endpoint can serve: a: actorpool: backend unavailable: a is down
	// b: actorpool: backend unavailable: b is down
}

func ExampleGroup_Stats() {
	g := newExampleGroup(group.Config{})
	defer g.Close(context.Background())
	l, _ := g.Acquire(context.Background())

	s := g.Stats()
	for _, e := range s.Endpoints() {
		fmt.Printf("%s: %s, leased %d\n", e.Name(), e.Role(), e.Pool().Leased())
	}
	fmt.Println("group: leased", s.Leased(), "total", s.Total())
	_ = l.Release()
	// Output:
	// p: primary, leased 1
	// r: replica, leased 0
	// group: leased 1 total 1
}

func ExampleGroup_Add() {
	g := newExampleGroup(group.Config{})
	defer g.Close(context.Background())

	err := g.Add(group.Endpoint[*membackend.Conn]{Name: "r2", Backend: membackend.New(), Replica: true})
	fmt.Println(err, len(g.Stats().Endpoints()))
	err = g.Add(group.Endpoint[*membackend.Conn]{Name: "r2", Backend: membackend.New()})
	fmt.Println(err)
	// Output:
	// <nil> 3
	// actorpool: invalid config: the group has an endpoint named "r2"
}

// Remove drains: the endpoint takes no new request, leases out end
// normally, then its connections close.
func ExampleGroup_Remove() {
	g := newExampleGroup(group.Config{})
	defer g.Close(context.Background())
	l, _ := g.AcquireRead(context.Background()) // on "r"

	done := make(chan error)
	go func() { done <- g.Remove(context.Background(), "r") }()
	// Reads fall back to the primary meanwhile.
	_ = g.WithRead(context.Background(), func(*membackend.Conn) error { return nil })
	fmt.Println("lease still valid:", l.Valid(), l.Release())
	fmt.Println("removed:", <-done, len(g.Stats().Endpoints()))
	// Output:
	// lease still valid: true <nil>
	// removed: <nil> 1
}

func ExampleGroup_SetWeight() {
	g := newExampleGroup(group.Config{Picker: group.Weighted()})
	defer g.Close(context.Background())

	fmt.Println(g.SetWeight("r", 3))
	fmt.Println(g.SetWeight("r", -1))
	e, _ := g.Stats().Endpoint("r")
	fmt.Println(e.Weight())
	// Output:
	// <nil>
	// actorpool: invalid config: weight of "r" is -1, must not be negative
	// 3
}

// Actors lease from the group by message as from a pool.
func ExampleGroup_Broker() {
	sys := quietSystem()
	g, _ := group.New(sys, group.Config{},
		group.Endpoint[*membackend.Conn]{Name: "p", Backend: membackend.New()},
		group.Endpoint[*membackend.Conn]{Name: "r", Backend: membackend.New(), Replica: true},
	)
	defer g.Close(context.Background())

	results := make(chan string, 2)
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			ctx.Request(g.Broker(), &messages.Acquire{Timeout: time.Second})
			ctx.Request(g.Broker(), &group.AcquireRead{Acquire: messages.Acquire{Timeout: time.Second}})
		case *messages.Granted[*membackend.Conn]:
			results <- fmt.Sprintf("granted, release %v", msg.Lease.Release())
		case *messages.AcquireFailed:
			results <- fmt.Sprintf("failed: %v", msg.Err)
		}
	})
	pid := sys.Root.Spawn(props)
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	for range 2 {
		select {
		case r := <-results:
			fmt.Println(r)
		case <-time.After(5 * time.Second):
			fmt.Println("no answer")
		}
	}
	// Output:
	// granted, release <nil>
	// granted, release <nil>
}

func ExampleGroup_Close() {
	g := newExampleGroup(group.Config{})
	fmt.Println(g.Close(context.Background()))
	_, err := g.Acquire(context.Background())
	fmt.Println(err)
	// Output:
	// <nil>
	// actorpool: pool closed
}

func ExamplePowerOfTwo() {
	// The default; named here for clarity. RoundRobin, Random and Weighted
	// are the others.
	g, _ := group.New(quietSystem(), group.Config{Picker: group.PowerOfTwo()},
		group.Endpoint[*membackend.Conn]{Name: "w1", Backend: membackend.New()},
		group.Endpoint[*membackend.Conn]{Name: "w2", Backend: membackend.New()},
	)
	defer g.Close(context.Background())
	fmt.Println(g.With(context.Background(), func(*membackend.Conn) error { return nil }))
	// Output: <nil>
}
