// Command cluster has three members of a protoactor cluster share one
// budget of Redis connections.
//
//	go run ./examples/cluster
//	REDIS_URL=redis://:secret@127.0.0.1:6379/0 go run ./examples/cluster
//
// Without REDIS_URL it starts an in-process Redis (miniredis), so it needs
// nothing but Go. The three members run in this one process, on loopback,
// each with an actor system and a pool of its own, as each would in a
// process of its own; they find each other through protoactor's in-memory
// test provider, where a deployment would use consul, etcd or Kubernetes.
// Each joins its pool to a budget of 12 connections. Every second it
// prints, for each member, the MaxConns the budget gave its pool (limit),
// its share, whether the others agree, and how many connections the pool
// has open, then how many clients the server counts now and at most over
// that second (with REDIS_URL, other clients of that server count too).
//
// While all are idle the budget is split evenly. Then member 1 gets load,
// twice as many goroutines as the budget, and the others make room for it
// down to their floor of one; when the load stops, the split goes back.
// Then the members leave, and it exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/budget"
)

const (
	members = 3
	size    = 12 // the budget: connections to Redis, all members together
	workers = 2 * size

	idleFor  = 3 * time.Second
	loadFor  = 4 * time.Second
	quietFor = 3 * time.Second
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// member is one member of the cluster, its pool and its share of the
// budget.
type member struct {
	name  string
	c     *cluster.Cluster
	pool  *actorpool.Pool[*redisbackend.Conn]
	share *budget.Member
}

func run(out io.Writer) (err error) {
	backend, count, stopServer, err := newBackend(out)
	if err != nil {
		return err
	}
	defer stopServer()

	// The pools and the budget warn on stderr. protoactor's own records
	// are dropped: it logs every member's start and stop, and errors for
	// the connections between members that close as they shut down.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	quiet := slog.New(slog.DiscardHandler)
	agent := test.NewInMemAgent() // the membership the three members share

	// Start the members at once: StartMember takes about a second.
	ms := make([]*member, members)
	errs := make([]error, members)
	var wg sync.WaitGroup
	for i := range ms {
		wg.Go(func() { ms[i], errs[i] = join(fmt.Sprintf("m%d", i+1), agent, backend, quiet, logger) })
	}
	wg.Wait()
	defer func() { err = errors.Join(err, leave(ms)) }()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d members share %d connections\n", members, size)

	peak := watch(count)
	defer peak.stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	t := 0
	report := func(phase string, d time.Duration) {
		for range int(d / time.Second) {
			<-tick.C
			t++
			fmt.Fprintf(out, "t=%-3s %-5s %s\n", fmt.Sprintf("%ds", t), phase, line(ms, peak))
		}
	}

	report("idle", idleFor)
	fmt.Fprintf(out, "m1 gets load: %d goroutines doing GET and SET\n", workers)
	ctx, stopLoad := context.WithCancel(context.Background())
	ops := load(ctx, ms[0].pool)
	report("load", loadFor)
	stopLoad()
	fmt.Fprintf(out, "m1's load stops (%d GET+SET)\n", ops())
	report("quiet", quietFor)
	fmt.Fprintln(out, "the members leave the budget and the cluster")
	return nil
}

// join starts one member of the cluster on a free loopback port, with an
// actor system of its own, and joins a new pool of its own to the budget.
func join(name string, agent *test.InMemAgent, backend *redisbackend.Backend, quiet, logger *slog.Logger) (m *member, err error) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	cfg := cluster.Configure("example", test.NewTestProvider(agent), disthash.New(),
		remote.Configure("127.0.0.1", 0),
		cluster.WithKinds(budget.Kind("redis"))) // every member that shares the budget carries its kind
	c := cluster.New(sys, cfg)
	if err := start(c); err != nil {
		sys.Shutdown()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m = &member{name: name, c: c}

	// MinConns 0: the budget sets the pool's MaxConns from now on.
	m.pool, err = actorpool.New(sys, backend, actorpool.Config{MinConns: 0, Logger: logger})
	if err == nil {
		m.share, err = budget.Join(c, m.pool, budget.Config{Name: "redis", Budget: size, Logger: logger})
	}
	if err != nil {
		err = errors.Join(err, m.leave())
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// start starts c as a member. protoactor's StartMember panics when it
// cannot listen or join: that becomes an error.
func start(c *cluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starting the cluster member: %v", r)
		}
	}()
	c.StartMember()
	return nil
}

// leave takes the members out: the budget first (the pool closes its
// connections and the others take over the member's share), then the pool,
// then the cluster. Members leave at once, since protoactor's graceful
// Shutdown takes about 2 s.
func leave(ms []*member) error {
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		if m != nil {
			wg.Go(func() { errs[i] = m.leave() })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (m *member) leave() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if m.share != nil {
		err = m.share.Leave(ctx)
	}
	if m.pool != nil {
		err = errors.Join(err, m.pool.Close(ctx))
	}
	m.c.Shutdown(true)
	return err
}

// load runs workers goroutines that each lease a connection, SET and GET a
// key on it and hold it 2 ms more, until ctx ends. The function it returns
// waits for them and says how many rounds they ran.
func load(ctx context.Context, pool *actorpool.Pool[*redisbackend.Conn]) func() int64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	for i := range workers {
		key := fmt.Sprintf("worker:%d", i)
		wg.Go(func() {
			for ctx.Err() == nil {
				_ = pool.With(ctx, func(c *redisbackend.Conn) error {
					if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
						return err
					}
					if err := c.Get(ctx, key).Err(); err != nil {
						return err
					}
					n.Add(1)
					time.Sleep(2 * time.Millisecond)
					return nil
				})
			}
		})
	}
	return func() int64 { wg.Wait(); return n.Load() }
}

// line is one member after another, then the server's count.
func line(ms []*member, peak *watcher) string {
	var b strings.Builder
	for _, m := range ms {
		st := m.share.Status()
		agreed := "waiting"
		if st.Agreed {
			agreed = "agreed"
		}
		fmt.Fprintf(&b, "%s limit %2d share %2d %-7s open %2d | ", m.name, st.Limit, st.Share, agreed, m.pool.Stats().Total())
	}
	now, most := peak.take()
	fmt.Fprintf(&b, "server %2d/%d, peak %2d", now, size, most)
	return b.String()
}

// newBackend dials REDIS_URL when it is set, and otherwise an in-process
// Redis that stopServer shuts down. count returns how many clients the
// server has.
func newBackend(out io.Writer) (backend *redisbackend.Backend, count func() int, stopServer func(), err error) {
	if url := os.Getenv("REDIS_URL"); url != "" {
		b := redisbackend.NewFromURL(url)
		if err := b.Validate(); err != nil {
			return nil, nil, nil, err
		}
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, nil, nil, err
		}
		opt.PoolSize = 1
		admin := redis.NewClient(opt)
		count := func() int {
			list, err := admin.ClientList(context.Background()).Result()
			if err != nil {
				return -1
			}
			return strings.Count(list, "\n") - 1 // one line per client, the admin's own left out
		}
		return b, count, func() { _ = admin.Close() }, nil
	}
	mr, err := miniredis.Run()
	if err != nil {
		return nil, nil, nil, err
	}
	fmt.Fprintln(out, "REDIS_URL is not set: using an in-process Redis (miniredis) at", mr.Addr())
	// miniredis has no CLIENT LIST: it counts its clients itself.
	return redisbackend.New(redisbackend.Options{Addr: mr.Addr()}), mr.CurrentConnectionCount, mr.Close, nil
}

// watcher counts the server's clients every 5 ms and keeps the most it saw
// since the last take.
type watcher struct {
	count      func() int
	most       atomic.Int64
	quit, done chan struct{}
}

func watch(count func() int) *watcher {
	w := &watcher{count: count, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.quit:
				return
			case <-t.C:
			}
			n := int64(w.count())
			for m := w.most.Load(); n > m && !w.most.CompareAndSwap(m, n); m = w.most.Load() {
			}
		}
	}()
	return w
}

// take returns the count now and the most since the last take.
func (w *watcher) take() (now, most int) {
	n := w.count()
	return n, max(n, int(w.most.Swap(0)))
}

func (w *watcher) stop() { close(w.quit); <-w.done }
