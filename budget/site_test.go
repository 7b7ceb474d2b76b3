//go:build !race

// The tests in the files with this build line run live members of a
// protoactor cluster. The race detector reports data races inside
// protoactor-go's and grpc's remote and gossip code once a member runs
// (none in this module), so they are left out of `go test -race`; the
// README's test command runs them in a step of their own without it. The
// allocation they rely on is tested with -race in share_test.go and
// sim_test.go.

package budget_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/asynkron/protoactor-go/cluster"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/budget"
	"github.com/actorpool/actorpool/internal/clustertest"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// site is a budget shared by members of one cluster, each with a pool on
// its own actor system (as each would be in its own process).
type site[C any] struct {
	t       *testing.T
	cl      *clustertest.Cluster
	cfg     budget.Config
	backend func() backends.Backend[C]
	use     func(context.Context, C) error // one unit of work on a lease
	mu      sync.Mutex
	nodes   []*node[C]
}

type node[C any] struct {
	s    *site[C]
	m    *clustertest.Member
	pool *actorpool.Pool[C]
	b    *budget.Member
	load context.CancelFunc
	wg   sync.WaitGroup
}

var testBudget = budget.Config{Interval: 50 * time.Millisecond, Window: 500 * time.Millisecond}

func newSite[C any](t *testing.T, name string, size int, backend func() backends.Backend[C], use func(context.Context, C) error) *site[C] {
	cfg := testBudget
	cfg.Name, cfg.Budget = name, size
	s := &site[C]{t: t, cfg: cfg, backend: backend, use: use,
		cl: clustertest.New(clustertest.Options{Kinds: []*cluster.Kind{budget.Kind(name)}})}
	t.Cleanup(s.stopAll)
	return s
}

// start starts n members at once and joins a pool of each to the budget.
func (s *site[C]) start(n int) []*node[C] {
	ms, err := s.cl.StartN(n)
	require.NoError(s.t, err)
	out := make([]*node[C], n)
	for i, m := range ms {
		p, err := actorpool.New(pooltest.NewSystem(), s.backend(), actorpool.Config{MaxConns: 1, AcquireTimeout: 10 * time.Second})
		require.NoError(s.t, err)
		b, err := budget.Join(m.Cluster, p, s.cfg)
		require.NoError(s.t, err)
		out[i] = &node[C]{s: s, m: m, pool: p, b: b}
	}
	s.mu.Lock()
	s.nodes = append(s.nodes, out...)
	s.mu.Unlock()
	return out
}

// live returns the nodes not stopped.
func (s *site[C]) live() []*node[C] {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*node[C]
	for _, n := range s.nodes {
		if n.b != nil {
			out = append(out, n)
		}
	}
	return out
}

// busy starts workers that each lease a connection, use it, hold it for
// hold and give it back, until quiet.
func (n *node[C]) busy(workers int, hold time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	n.load = cancel
	for range workers {
		n.wg.Go(func() {
			for ctx.Err() == nil {
				l, err := n.pool.Acquire(ctx)
				if err != nil {
					if errors.Is(err, actorpool.ErrPoolClosed) {
						return
					}
					continue
				}
				err = n.s.use(ctx, l.Conn())
				if err == nil {
					select {
					case <-time.After(hold): // the caller's work
					case <-ctx.Done():
					}
				}
				_ = l.Release()
			}
		})
	}
}

// quiet stops the workers busy started.
func (n *node[C]) quiet() {
	if n.load != nil {
		n.load()
		n.wg.Wait()
		n.load = nil
	}
}

// leaveBudget takes the node's pool out of the budget and closes it.
func (n *node[C]) leaveBudget() {
	n.quiet()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.NoError(n.s.t, n.b.Leave(ctx))
	assert.NoError(n.s.t, n.pool.Close(ctx))
	n.s.mu.Lock()
	n.b = nil
	n.s.mu.Unlock()
}

// leave takes the node out gracefully: the budget and its pool (unless
// leaveBudget did), then the cluster.
func (n *node[C]) leave() {
	n.s.mu.Lock()
	joined := n.b != nil
	n.s.mu.Unlock()
	if joined {
		n.leaveBudget()
	}
	n.m.Leave()
}

// crash stops the node without a word, as a killed process: its member
// goes silent and its connections close (the kernel would close a dead
// process's sockets).
func (n *node[C]) crash() {
	n.m.Crash()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = n.pool.Close(ctx)
	n.quiet()
	n.s.mu.Lock()
	n.b = nil
	n.s.mu.Unlock()
}

// stopAll leaves every live node at once, then checks that nothing of
// this module still runs.
func (s *site[C]) stopAll() {
	var wg sync.WaitGroup
	s.mu.Lock()
	for _, n := range s.nodes {
		wg.Go(n.leave) // Leave does nothing for a member that crashed or left
	}
	s.mu.Unlock()
	wg.Wait()
	assert.Eventually(s.t, func() bool { return len(clustertest.OwnGoroutines()) == 0 }, 5*time.Second, 20*time.Millisecond,
		"goroutines of this module outlive the pools and members: %v", clustertest.OwnGoroutines())
}

// settled waits until every live node agrees and has the limit its share
// gives, and returns how long that took.
func (s *site[C]) settled(within time.Duration) time.Duration {
	return waitFor(s.t, within, "members agree and hold their shares", func() bool {
		for _, n := range s.live() {
			st := n.b.Status()
			if !st.Agreed || st.Limit != st.Share || st.Members != len(s.live()) {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond every 5 ms and returns how long it took to hold; the
// test fails if it does not within limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			require.FailNow(t, "not within "+limit.String()+": "+what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// sampler counts the server's connections every few milliseconds.
type sampler struct {
	max, over, n atomic.Int64
	stop         chan struct{}
	done         chan struct{}
}

func sample(t *testing.T, budget int, count func(context.Context) (int, error)) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			n, err := count(ctx)
			cancel()
			if err != nil {
				continue
			}
			s.n.Add(1)
			if int64(n) > s.max.Load() {
				s.max.Store(int64(n))
			}
			if n > budget {
				s.over.Add(1)
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-s.stop:
		default:
			close(s.stop)
		}
		<-s.done
	})
	return s
}

// check stops the sampler and asserts no sample was above budget.
func (s *sampler) check(t *testing.T, budget int) {
	close(s.stop)
	<-s.done
	t.Logf("server: %d samples, at most %d connections (budget %d)", s.n.Load(), s.max.Load(), budget)
	assert.Greater(t, s.n.Load(), int64(100), "the sampler saw the server")
	assert.Zero(t, s.over.Load(), "samples above the budget of %d (max %d)", budget, s.max.Load())
}
