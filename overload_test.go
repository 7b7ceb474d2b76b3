package actorpool_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

// waiter is an Acquire on its own goroutine; its result arrives on res.
type waiter struct {
	res chan error
}

// queue starts a waiter and waits until it is in line (n waiting).
func queue(t *testing.T, p *memPool, n int) waiter {
	t.Helper()
	w := waiter{res: make(chan error, 1)}
	go func() {
		l, err := p.Acquire(context.Background())
		if err == nil {
			err = l.Release()
		}
		w.res <- err
	}()
	require.Eventually(t, func() bool { return p.Stats().Waiting() == n }, eventually, time.Millisecond)
	return w
}

// Overloaded (the oldest waiter past QueueTarget for a QueueInterval), a
// returning connection goes to the newest waiter, and waiters past twice
// the target fail at once with ErrOverloaded.
func TestOverloadServesNewestAndShedsTheStale(t *testing.T) {
	const target = 20 * time.Millisecond
	f := newFixture(t, actorpool.Config{MaxConns: 1, QueueTarget: target, QueueInterval: target})
	held := f.acquire(t)
	var stale []waiter
	for i := range 4 {
		stale = append(stale, queue(t, f.p, i+1))
	}
	// What is tested is a wait longer than twice the target.
	time.Sleep(3 * target)
	fresh := queue(t, f.p, 5)
	require.NoError(t, held.Release())

	require.NoError(t, <-fresh.res, "the newest waiter is served")
	for i, w := range stale {
		err := <-w.res
		assert.ErrorIs(t, err, actorpool.ErrOverloaded, "stale waiter %d", i)
		assert.ErrorIs(t, err, actorpool.ErrAcquireTimeout, "stale waiter %d", i)
	}
	st := f.p.Stats()
	assert.Equal(t, uint64(4), st.Shed())
	assert.Equal(t, uint64(1), st.Overloads())
	requireStatsAddUp(t, st)
}

// Below the target nothing is shed and waiters are served in order.
func TestOverloadControlKeepsFIFOBelowTarget(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1, QueueTarget: time.Minute})
	held := f.acquire(t)
	order := make(chan int, 3)
	for i := range 3 {
		go func() {
			l, err := f.p.Acquire(context.Background())
			if !assert.NoError(t, err) {
				order <- -1
				return
			}
			order <- i
			assert.NoError(t, l.Release())
		}()
		require.Eventually(t, func() bool { return f.p.Stats().Waiting() == i+1 }, eventually, time.Millisecond)
	}
	require.NoError(t, held.Release())
	for want := range 3 {
		assert.Equal(t, want, <-order, "first come, first served")
	}
	assert.Zero(t, f.p.Stats().Shed())
}

// QueueTarget is validated as every duration.
func TestOverloadConfig(t *testing.T) {
	_, err := actorpool.New(newSystem(), membackend.New(), actorpool.Config{QueueTarget: -time.Second})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
}
