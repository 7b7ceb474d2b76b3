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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/budget"
	"github.com/actorpool/actorpool/internal/clustertest"
)

var testBudget = budget.Config{Interval: 50 * time.Millisecond, Window: 500 * time.Millisecond}

// newSite returns a site of testBudget's settings whose nodes all leave
// when the test ends, after which nothing of this module may still run.
func newSite[C any](t *testing.T, name string, size int, backend func() backends.Backend[C], use func(context.Context, C) error) *clustertest.Site[C] {
	cfg := testBudget
	cfg.Name, cfg.Budget = name, size
	return newSiteOf(t, cfg, backend, use)
}

// newSiteOf is newSite with the budget's settings cfg.
func newSiteOf[C any](t *testing.T, cfg budget.Config, backend func() backends.Backend[C], use func(context.Context, C) error) *clustertest.Site[C] {
	s := clustertest.NewSite(cfg, backend, use)
	t.Cleanup(func() {
		assert.NoError(t, s.Close())
		assert.Eventually(t, func() bool { return len(clustertest.OwnGoroutines()) == 0 }, 5*time.Second, 20*time.Millisecond,
			"goroutines of this module outlive the pools and members: %v", clustertest.OwnGoroutines())
	})
	return s
}

func start[C any](t *testing.T, s *clustertest.Site[C], n int) []*clustertest.Node[C] {
	ns, err := s.Start(n)
	require.NoError(t, err)
	return ns
}

// settled waits until every live node agrees and holds its share.
func settled[C any](t *testing.T, s *clustertest.Site[C]) time.Duration {
	return waitFor(t, 5*time.Second, "members agree and hold their shares", s.Settled)
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

// sample counts the server's connections every 2 ms until check.
func sample(t *testing.T, budget int, count func(context.Context) (int, error)) func() {
	s := clustertest.Sample(budget, 2*time.Millisecond, count)
	t.Cleanup(func() { s.Stop() })
	return func() {
		n, most, over := s.Stop()
		t.Logf("server: %d samples, at most %d connections (budget %d)", n, most, budget)
		assert.Greater(t, n, int64(100), "the sampler saw the server")
		assert.Zero(t, over, "samples above the budget of %d (max %d)", budget, most)
	}
}

// reclaimed has the provider refresh every 100 ms, as its periodic update
// would, until cond holds.
func reclaimed[C any](t *testing.T, s *clustertest.Site[C], cond func() bool) time.Duration {
	refresh := time.NewTicker(100 * time.Millisecond)
	defer refresh.Stop()
	return waitFor(t, 10*time.Second, "the crashed member's share is reclaimed", func() bool {
		select {
		case <-refresh.C:
			s.Cluster.Refresh()
		default:
		}
		return cond()
	})
}
