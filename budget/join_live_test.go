//go:build !race

// Join's refusals that need a started cluster member: see site_test.go for
// why without -race.

package budget_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/budget"
	"github.com/actorpool/actorpool/internal/clustertest"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// members starts n members that carry the kinds of the budgets named; they
// leave when the test ends, after which nothing of this module may run.
func members(t *testing.T, n int, budgets ...string) []*clustertest.Member {
	t.Cleanup(func() {
		assert.Eventually(t, func() bool { return len(clustertest.OwnGoroutines()) == 0 }, 5*time.Second, 20*time.Millisecond,
			"goroutines of this module outlive the pools and members: %v", clustertest.OwnGoroutines())
	})
	var kinds []*cluster.Kind
	for _, name := range budgets {
		kinds = append(kinds, budget.Kind(name))
	}
	ms, err := clustertest.New(clustertest.Options{Kinds: kinds}).StartN(n)
	require.NoError(t, err)
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, m := range ms {
			wg.Go(m.Leave)
		}
		wg.Wait()
	})
	return ms
}

// memPool returns a pool that is closed when the test ends.
func memPool(t *testing.T) *actorpool.Pool[*membackend.Conn] {
	p, err := actorpool.New(pooltest.NewSystem(), membackend.New(), actorpool.Config{})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), pooltest.CloseTimeout)
		defer cancel()
		if err := p.Close(ctx); !errors.Is(err, actorpool.ErrPoolClosed) {
			assert.NoError(t, err)
		}
	})
	return p
}

func budgetOf(name string, size int) budget.Config {
	cfg := testBudget
	cfg.Name, cfg.Budget = name, size
	return cfg
}

// join calls Join and turns a panic into an error, so that the test goes on.
func join(m *clustertest.Member, p budget.Pool, cfg budget.Config) (b *budget.Member, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("Join panicked: %v", r)
		}
	}()
	return budget.Join(m.Cluster, p, cfg)
}

// leave leaves b and fails the test when that takes more than 5 s.
func leave(t *testing.T, b *budget.Member) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	assert.NoError(t, b.Leave(ctx), "Leave within 5 s")
}

// joinsAndLeaves checks that m can join a pool to cfg's budget and leave.
func joinsAndLeaves(t *testing.T, m *clustertest.Member, cfg budget.Config, after string) {
	t.Helper()
	b, err := join(m, memPool(t), cfg)
	if assert.NoError(t, err, "a valid Join after %s", after) {
		leave(t, b)
	}
}

func TestJoinRefusesATypedNilPoolBeforeRegisteringAnything(t *testing.T) {
	m := members(t, 1, "db")[0]
	var nilPool *actorpool.Pool[*membackend.Conn]
	b, err := join(m, nilPool, budgetOf("db", 4))
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	assert.Nil(t, b)
	joinsAndLeaves(t, m, budgetOf("db", 4), "a typed nil pool")
}

// faultyPool fails the SetLimits that Join calls: with err, or by
// panicking.
type faultyPool struct {
	err    error
	panics bool
}

func (p *faultyPool) Stats() actorpool.Stats { return actorpool.Stats{} }

func (p *faultyPool) SetLimits(context.Context, int, int) error {
	if p.panics {
		panic("faultyPool: SetLimits")
	}
	return p.err
}

func TestAJoinThatFailsLeavesNothingRegistered(t *testing.T) {
	m := members(t, 1, "db")[0]
	cfg := budgetOf("db", 4)
	closed := memPool(t)
	require.NoError(t, closed.Close(context.Background()))
	broken := errors.New("the pool refuses")

	b, err := join(m, closed, cfg)
	assert.ErrorIs(t, err, actorpool.ErrPoolClosed, "a closed pool")
	assert.Nil(t, b)
	joinsAndLeaves(t, m, cfg, "a closed pool")

	b, err = join(m, &faultyPool{err: broken}, cfg)
	assert.ErrorIs(t, err, broken, "a pool whose SetLimits fails")
	assert.Nil(t, b)
	joinsAndLeaves(t, m, cfg, "a pool whose SetLimits failed")

	b, err = join(m, &faultyPool{panics: true}, cfg)
	assert.ErrorContains(t, err, "faultyPool: SetLimits", "the pool's panic comes out of Join")
	assert.Nil(t, b)
	joinsAndLeaves(t, m, cfg, "a pool whose SetLimits panicked")
}

// A pool follows one budget: a second Join of it, to another budget, to
// the same budget on another member or on the same member, is refused
// naming the budget it is in, and nothing else sets its limits. Once it
// left, it joins again.
func TestAPoolIsInOneBudgetAtATime(t *testing.T) {
	ms := members(t, 2, "orders", "billing")
	p := memPool(t)
	b, err := join(ms[0], p, budgetOf("orders", 4))
	require.NoError(t, err)

	for _, c := range []struct {
		what string
		m    *clustertest.Member
		cfg  budget.Config
	}{
		{"another budget", ms[0], budgetOf("billing", 6)},
		{"the same budget on another member", ms[1], budgetOf("orders", 4)},
		{"the same budget on the same member", ms[0], budgetOf("orders", 4)},
	} {
		again, err := join(c.m, p, c.cfg)
		assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, c.what)
		assert.ErrorContains(t, err, `in budget "orders"`, "%s: the error names the budget the pool is in", c.what)
		if again != nil {
			leave(t, again)
		}
	}
	assert.Equal(t, 0, p.Stats().MaxConns(), "the pool's limits are the budget's: 0 until the other member has published")

	leave(t, b)
	b, err = join(ms[0], p, budgetOf("billing", 6))
	require.NoError(t, err, "the pool joins another budget after Leave")
	leave(t, b)
}
