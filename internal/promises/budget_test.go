//go:build !race

// The budget's row runs live members of a protoactor cluster. The race
// detector reports data races inside protoactor-go's and grpc's remote
// and gossip code once a member runs (none in this module), so this file
// is left out of go test -race; the Makefile runs it without -race.

package promises_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/budget"
	"github.com/actorpool/actorpool/internal/clustertest"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

func init() { modes = append(modes, mode{"Budget", startBudget}) }

// budgetConfig is a budget of 4 connections, with the budget tests'
// short interval and window.
var budgetConfig = budget.Config{Name: "promises", Budget: 4, Interval: 50 * time.Millisecond, Window: 500 * time.Millisecond}

// startBudget: two cluster members, each with a pool on one redis-server
// joined to one budget; even callers lease from the first member's pool,
// odd ones from the second's, with Acquire then Lease.Run. The rig's
// Close is each member leaving the budget and closing its pool.
func startBudget(t *testing.T) *rig {
	srv := redisserver.Start(t)
	srv.Observer()
	backend := func() *redisbackend.Backend { return redisbackend.New(redisbackend.Options{Addr: srv.Addr()}) }
	site := clustertest.NewSite(budgetConfig,
		func() backends.Backend[*redisbackend.Conn] { return backend() }, nil)
	t.Cleanup(func() {
		assert.NoError(t, site.Close())
		assert.Eventually(t, func() bool { return len(clustertest.OwnGoroutines()) == 0 }, bound, 20*time.Millisecond,
			"goroutines of this module outlive the pools and members: %v", clustertest.OwnGoroutines())
		assertNoClients(t, srv)
	})
	nodes, err := site.Start(2)
	require.NoError(t, err)
	require.Eventually(t, site.Settled, bound, 5*time.Millisecond, "the members do not agree on their shares")

	r := &rig{
		servers: []*redisserver.Server{srv},
		limit:   budgetConfig.Budget,
		limitIs: "the budget",
		stats: func() []actorpool.Stats {
			return []actorpool.Stats{nodes[0].Pool.Stats(), nodes[1].Pool.Stats()}
		},
		limitsMove: true,
		isFatal:    backend().IsFatal,
		h:          newHolders(),
	}
	r.granted = func() uint64 { return nodes[0].Pool.Stats().Acquired() + nodes[1].Pool.Stats().Acquired() }
	r.close = func(ctx context.Context) error {
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Go(func() { errs[i] = n.LeaveBudget(ctx) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	r.call = func(ctx context.Context, c, n int) error {
		l, err := nodes[c%2].Pool.Acquire(ctx)
		if err != nil {
			return err
		}
		return l.Run(func(conn *redisbackend.Conn) error {
			r.counted.Add(1)
			return useLease(ctx, conn, r.h, c, n)
		}, r.isFatal)
	}
	return r
}
