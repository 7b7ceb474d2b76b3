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

// queue starts an Acquire on another goroutine (acquireLater) and waits
// until it is in line, n waiting.
func queue(t *testing.T, f *fixture, n int) <-chan error {
	t.Helper()
	res := f.acquireLater(context.Background())
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == n }, eventually, time.Millisecond)
	return res
}

// Overloaded (the oldest waiter past QueueTarget for a QueueInterval), a
// returning connection goes to the newest waiter, and waiters past twice
// the target fail at once with ErrOverloaded.
func TestOverloadServesNewestAndShedsTheStale(t *testing.T) {
	const target = 20 * time.Millisecond
	f := newFixture(t, actorpool.Config{MaxConns: 1, QueueTarget: target, QueueInterval: target})
	held := f.acquire(t)
	var stale []<-chan error
	for i := range 4 {
		stale = append(stale, queue(t, f, i+1))
	}
	// What is tested is a wait longer than twice the target.
	time.Sleep(3 * target)
	fresh := queue(t, f, 5)
	require.NoError(t, held.Release())

	require.NoError(t, recv(t, fresh), "the newest waiter is served")
	for i, w := range stale {
		err := recv(t, w)
		assert.ErrorIs(t, err, actorpool.ErrOverloaded, "stale waiter %d", i)
		assert.ErrorIs(t, err, actorpool.ErrAcquireTimeout, "stale waiter %d", i)
	}
	st := f.p.Stats()
	assert.Equal(t, uint64(4), st.Shed())
	assert.Equal(t, uint64(4), st.Timeouts(), "a shed acquire failed with an error matching ErrAcquireTimeout")
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
		assert.Equal(t, want, recv(t, order), "first come, first served")
	}
	assert.Zero(t, f.p.Stats().Shed())
}

// QueueTarget is validated as every duration.
func TestOverloadConfig(t *testing.T) {
	_, err := actorpool.New(newSystem(), membackend.New(), actorpool.Config{QueueTarget: -time.Second})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
}
