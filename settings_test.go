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

func TestSetLifecycleRejectsWhatNewRejectsAndChangesNothing(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 2, AcquireTimeout: time.Second})
	ctx := context.Background()
	before := f.p.Lifecycle()
	for _, bad := range []actorpool.Lifecycle{
		{AcquireTimeout: -1}, {LeaseTimeout: -time.Second}, {MaxWaiters: -1}, {IdleTimeout: -1},
	} {
		assert.ErrorIs(t, f.p.SetLifecycle(ctx, bad), actorpool.ErrInvalidConfig, "%+v", bad)
	}
	assert.Equal(t, before, f.p.Lifecycle())
	assert.Equal(t, time.Second, before.AcquireTimeout)
	assert.Equal(t, 30*time.Minute, before.MaxLifetime)

	// What Lifecycle returns, given back, changes nothing; a zero value
	// means the defaults.
	require.NoError(t, f.p.SetLifecycle(ctx, before))
	assert.Equal(t, before, f.p.Lifecycle())
	require.NoError(t, f.p.SetLifecycle(ctx, actorpool.Lifecycle{}))
	assert.Equal(t, 30*time.Second, f.p.Lifecycle().AcquireTimeout)
}

func TestANewAcquireTimeoutAndMaxWaitersApplyToTheNextCallers(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	l := f.acquire(t)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()

	require.NoError(t, f.p.SetLifecycle(ctx, actorpool.Lifecycle{AcquireTimeout: 20 * time.Millisecond, MaxWaiters: 1}))
	_, err := f.p.Acquire(ctx)
	assert.ErrorIs(t, err, actorpool.ErrAcquireTimeout, "the 30s default would have outlived the test's ctx")

	require.NoError(t, f.p.SetLifecycle(ctx, actorpool.Lifecycle{AcquireTimeout: time.Minute, MaxWaiters: 1}))
	waiter := f.acquireLater(ctx)
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, time.Millisecond)
	_, err = f.p.Acquire(ctx)
	assert.ErrorIs(t, err, actorpool.ErrTooManyWaiters)
	require.NoError(t, l.Release())
	require.NoError(t, recv(t, waiter))
}

func TestALeaseTimeoutTurnedOnTimesTheLeasesOutFromTheChange(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 2}))
	l := f.acquire(t)
	ctx := context.Background()

	require.NoError(t, f.p.SetLifecycle(ctx, actorpool.Lifecycle{
		LeaseTimeout: 50 * time.Millisecond,
		IdleTimeout:  actorpool.Off, MaxLifetime: actorpool.Off, KeepaliveInterval: actorpool.Off, ValidateAfterIdle: actorpool.Off,
	}))
	require.Eventually(t, func() bool { return !l.Valid() }, eventually, time.Millisecond)
	assert.ErrorIs(t, l.Release(), actorpool.ErrLeaseRevoked)
	assert.Equal(t, uint64(1), f.p.Stats().Revoked())

	// Off again.
	require.NoError(t, f.p.SetLifecycle(ctx, actorpool.Lifecycle{
		IdleTimeout: actorpool.Off, MaxLifetime: actorpool.Off, KeepaliveInterval: actorpool.Off, ValidateAfterIdle: actorpool.Off,
	}))
	assert.Zero(t, f.p.Lifecycle().LeaseTimeout)
}

func TestAnIdleTimeoutTurnedOnRetiresIdleConnections(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 3}))
	var ls []actorpool.Lease[*membackend.Conn]
	for range 3 {
		ls = append(ls, f.acquire(t))
	}
	for _, l := range ls {
		require.NoError(t, l.Release())
	}
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 3 }, eventually, time.Millisecond)

	lc := f.p.Lifecycle()
	lc.IdleTimeout = 20 * time.Millisecond
	require.NoError(t, f.p.SetLifecycle(context.Background(), lc))
	require.Eventually(t, func() bool { return f.p.Stats().Total() == 0 }, eventually, time.Millisecond)
	assert.Equal(t, uint64(3), f.p.Stats().RetiredIdle())
}

func TestSetLifecycleAfterCloseIsErrPoolClosed(t *testing.T) {
	f := newFixture(t, actorpool.Config{})
	require.NoError(t, f.p.Close(context.Background()))
	assert.ErrorIs(t, f.p.SetLifecycle(context.Background(), actorpool.Lifecycle{}), actorpool.ErrPoolClosed)
}

// QueueTarget, DialTimeout and the backoff are run-time settings too.
func TestOverloadControlTurnedOnAtRunTimeShedsTheStale(t *testing.T) {
	const target = 20 * time.Millisecond
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	require.NoError(t, f.p.SetLifecycle(context.Background(), actorpool.Lifecycle{QueueTarget: target, QueueInterval: target}))
	assert.Equal(t, target, f.p.Lifecycle().QueueTarget)
	held := f.acquire(t)
	stale := queue(t, f, 1)
	// What is tested is a wait longer than twice the target.
	time.Sleep(3 * target)
	fresh := queue(t, f, 2)
	require.NoError(t, held.Release())
	require.NoError(t, recv(t, fresh), "the newest waiter is served")
	assert.ErrorIs(t, recv(t, stale), actorpool.ErrOverloaded)

	require.NoError(t, f.p.SetLifecycle(context.Background(), actorpool.Lifecycle{}))
	assert.Zero(t, f.p.Lifecycle().QueueTarget, "off again")
}

func TestANewDialTimeoutBoundsTheNextDial(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	require.NoError(t, f.p.SetLifecycle(context.Background(), actorpool.Lifecycle{DialTimeout: 20 * time.Millisecond}))
	f.b.DelayDials(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	_, err := f.p.Acquire(ctx)
	assert.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the dial gave up after the new DialTimeout")
	assert.NoError(t, ctx.Err(), "the test's own ctx did not end")
	f.b.DelayDials(0)
}

func TestANewBackoffSpacesTheNextRedials(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MinConns: 1, MaxConns: 1}))
	ctx := context.Background()
	assert.ErrorIs(t, f.p.SetLifecycle(ctx, actorpool.Lifecycle{BackoffMin: time.Hour, BackoffMax: time.Minute}),
		actorpool.ErrInvalidConfig, "BackoffMin above BackoffMax")
	require.NoError(t, f.p.SetLifecycle(ctx, actorpool.Lifecycle{BackoffMin: time.Hour, BackoffMax: time.Hour}))
	assert.Equal(t, time.Hour, f.p.Lifecycle().BackoffMin)
	require.Eventually(t, func() bool { return f.p.Stats().Total() == 1 && f.p.Stats().Idle() == 1 }, eventually, time.Millisecond)
	f.b.FailDials(membackend.ErrDialRefused)
	l := f.acquire(t)
	require.NoError(t, l.MarkBroken(nil))
	require.Eventually(t, func() bool { return f.b.DialErrors() >= 1 }, eventually, time.Millisecond)
	n := f.b.DialErrors()
	// An hour's backoff allows no redial in this window, however loaded
	// the machine; the default (100 ms, doubling) would redial in it.
	assert.Never(t, func() bool { return f.b.DialErrors() > n }, 400*time.Millisecond, 5*time.Millisecond,
		"a redial came before the new BackoffMin")
	f.b.Heal()
}
