package promises_test

// This file is the matrix's rows: each mode starts its pool(s) over real
// redis-servers and says how to call them, read their Stats, lower their
// limit and close them.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
	"github.com/actorpool/actorpool/messages"
)

// rig is one mode's pool(s), started for one cell of the matrix.
type rig struct {
	servers []*redisserver.Server
	limit   int    // most clients of the pool(s) each server may see
	limitIs string // what limit is, for messages
	// call makes call n of caller c: one lease used and ended, or one
	// caller's commands in command mode.
	call  func(ctx context.Context, c, n int) error
	stats func() []actorpool.Stats
	// granted is the pools' count of what the test counts in counted:
	// leases granted (Acquired), in command mode commands (Commands).
	granted func() uint64
	counted atomic.Int64
	// lower sets MaxConns to max; nil when the limits are not the test's
	// (a group has no SetLimits; a budget owns its members').
	lower func(ctx context.Context, max int) error
	// limitsMove: something else changes MaxConns while the load runs (a
	// budget), so a pool may be above it until its leases come back.
	limitsMove bool
	close      func(ctx context.Context) error
	names      []string // what an error must name when no server answers
	isFatal    func(error) bool
	h          *holders
}

// mode is a row of the matrix.
type mode struct {
	name  string
	start func(t *testing.T) *rig
}

// modes are the rows; the budget's is added where its file is built.
var modes = []mode{
	{"Goroutines", startGoroutines},
	{"Actors", startActors},
	{"Commands", startCommands},
	{"Group", startGroup},
}

// poolConfig is the pool of every single-pool mode: callers outnumber
// its connections, so they wait in its line.
var poolConfig = actorpool.Config{MaxConns: 4, AcquireTimeout: bound}

// openPool starts a redis-server and a pool over it, opened by
// pooltest.Open: when the test ends the pool is closed, its Stats add up,
// the server sees none of its clients, and no goroutine is left.
func openPool(t *testing.T, cfg actorpool.Config) (*rig, *pooltest.Fixture[*redisbackend.Conn]) {
	s := redisserver.Start(t)
	s.Observer()
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	f := pooltest.Open(t, b, cfg,
		pooltest.IgnoreGoroutines(goleak.IgnoreCurrent(), redisserver.Waiters()),
		pooltest.AfterClose(func(t testing.TB) { assertNoClients(t, s) }))
	p := f.Pool
	r := &rig{
		servers: []*redisserver.Server{s},
		limit:   cfg.MaxConns,
		limitIs: "MaxConns",
		stats:   func() []actorpool.Stats { return []actorpool.Stats{p.Stats()} },
		granted: func() uint64 { return p.Stats().Acquired() },
		lower:   func(ctx context.Context, max int) error { return p.SetLimits(ctx, 0, max) },
		close:   p.Close,
		isFatal: b.IsFatal,
		h:       newHolders(),
	}
	return r, f
}

// startGoroutines: caller goroutines lease with With (even callers) and
// with Acquire then Lease.Run (odd ones).
func startGoroutines(t *testing.T) *rig {
	r, f := openPool(t, poolConfig)
	p := f.Pool
	r.call = func(ctx context.Context, c, n int) error {
		work := func(conn *redisbackend.Conn) error {
			r.counted.Add(1)
			return useLease(ctx, conn, r.h, c, n)
		}
		if c%2 == 0 {
			return p.With(ctx, work)
		}
		l, err := p.Acquire(ctx)
		if err != nil {
			return err
		}
		return l.Run(work, r.isFatal)
	}
	return r
}

// leaseJob asks a leaser for one lease, to run work on.
type leaseJob struct {
	ctx  context.Context
	work func(*redisbackend.Conn) error
	done chan error
}

// leaser is an actor that leases by message: it sends messages.Acquire to
// the broker for each job and answers the job when Granted (after running
// its work on a goroutine of its own, never in its mailbox) or
// AcquireFailed comes back.
type leaser struct {
	broker  *actor.PID
	isFatal func(error) bool
	pending []*leaseJob
}

func (a *leaser) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *leaseJob:
		deadline, _ := msg.ctx.Deadline()
		timeout := time.Until(deadline)
		if timeout <= 0 {
			msg.done <- context.DeadlineExceeded
			return
		}
		a.pending = append(a.pending, msg)
		ctx.Request(a.broker, &messages.Acquire{Timeout: timeout})
	case *messages.Granted[*redisbackend.Conn]:
		j := a.next()
		go func() { j.done <- msg.Lease.Run(j.work, a.isFatal) }()
	case *messages.AcquireFailed:
		a.next().done <- msg.Err
	}
}

// next is the oldest job: a leaser has one job at a time.
func (a *leaser) next() *leaseJob {
	j := a.pending[0]
	a.pending = a.pending[1:]
	return j
}

// startActors: each caller goroutine has an actor that leases for it by
// message; the caller waits for the answer no longer than its deadline
// and slack.
func startActors(t *testing.T) *rig {
	r, f := openPool(t, poolConfig)
	var mu sync.Mutex
	leasers := map[int]*actor.PID{}
	leaserOf := func(c int) *actor.PID {
		mu.Lock()
		defer mu.Unlock()
		if leasers[c] == nil {
			leasers[c] = f.Sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
				return &leaser{broker: f.Pool.Broker(), isFatal: r.isFatal}
			}))
		}
		return leasers[c]
	}
	t.Cleanup(func() { // before the pool's Close
		mu.Lock()
		defer mu.Unlock()
		for _, pid := range leasers {
			_ = f.Sys.Root.StopFuture(pid).Wait()
		}
	})
	r.call = func(ctx context.Context, c, n int) error {
		j := &leaseJob{ctx: ctx, done: make(chan error, 1), work: func(conn *redisbackend.Conn) error {
			r.counted.Add(1)
			return useLease(ctx, conn, r.h, c, n)
		}}
		f.Sys.Root.Send(leaserOf(c), j)
		deadline, _ := ctx.Deadline()
		timer := time.NewTimer(time.Until(deadline) + slack)
		defer timer.Stop()
		select {
		case err := <-j.done:
			return err
		case <-timer.C:
			return errNotAnswered
		}
	}
	return r
}

// startCommands: callers set and read their keys in command mode.
// MaxBatch 2 has command mode take more than one connection under load.
func startCommands(t *testing.T) *rig {
	cfg := poolConfig
	cfg.MaxBatch = 2
	r, f := openPool(t, cfg)
	rc := redisbackend.NewCommands(f.Pool)
	r.granted = func() uint64 { return f.Pool.Stats().Commands() }
	r.call = func(ctx context.Context, c, n int) error { return useCommands(ctx, rc, r.h, &r.counted, c, n) }
	return r
}

// startGroup: a group of two endpoints, each a primary on a server of its
// own (roles from the configuration, so that only the test's calls lease),
// MaxConns 3 each; even callers use With, odd ones Acquire then Run.
func startGroup(t *testing.T) *rig {
	a, b := redisserver.Start(t), redisserver.Start(t)
	a.Observer()
	b.Observer()
	ignore := []goleak.Option{goleak.IgnoreCurrent(), redisserver.Waiters()}
	t.Cleanup(func() { goleak.VerifyNone(t, ignore...) })
	backend := func(s *redisserver.Server) *redisbackend.Backend {
		return redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	}
	g, err := group.New(pooltest.NewSystem(), group.Config{
		Pool:            actorpool.Config{MaxConns: 3, AcquireTimeout: bound},
		RolesFromConfig: true,
	},
		group.Endpoint[*redisbackend.Conn]{Name: "a", Backend: backend(a)},
		group.Endpoint[*redisbackend.Conn]{Name: "b", Backend: backend(b)})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), pooltest.CloseTimeout)
		defer cancel()
		if err := g.Close(ctx); !errors.Is(err, actorpool.ErrPoolClosed) {
			assert.NoError(t, err)
		}
		for _, e := range g.Stats().Endpoints() {
			pooltest.AssertStatsAddUp(t, e.Pool())
			assert.Zero(t, e.Pool().Total(), "%s: connections after Close", e.Name())
		}
		assertNoClients(t, a)
		assertNoClients(t, b)
	})
	r := &rig{
		servers: []*redisserver.Server{a, b},
		limit:   3,
		limitIs: "an endpoint's MaxConns",
		stats: func() []actorpool.Stats {
			var out []actorpool.Stats
			for _, e := range g.Stats().Endpoints() {
				out = append(out, e.Pool())
			}
			return out
		},
		close:   g.Close,
		names:   []string{"a", "b"},
		isFatal: backend(a).IsFatal,
		h:       newHolders(),
	}
	r.granted = func() (n uint64) {
		for _, s := range r.stats() {
			n += s.Acquired()
		}
		return n
	}
	r.call = func(ctx context.Context, c, n int) error {
		work := func(conn *redisbackend.Conn) error {
			r.counted.Add(1)
			return useLease(ctx, conn, r.h, c, n)
		}
		if c%2 == 0 {
			return g.With(ctx, work)
		}
		l, err := g.Acquire(ctx)
		if err != nil {
			return err
		}
		return l.Run(work, r.isFatal)
	}
	return r
}

// assertNoClients checks that the server comes to see none of the pools'
// clients (a close reaches it a moment after Close returns).
func assertNoClients(t testing.TB, s *redisserver.Server) bool {
	t.Helper()
	last := -1
	ok := assert.Eventually(t, func() bool {
		n, err := s.ClientCount(context.Background())
		last = n
		return err == nil && n == 0
	}, 3*time.Second, 5*time.Millisecond, "the server %s still sees clients of a closed pool", s.Addr())
	if !ok {
		t.Logf("the server sees %d clients", last)
	}
	return ok
}
