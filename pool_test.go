package actorpool_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

func TestAcquireGrantsAConnectionAndReleaseReturnsIt(t *testing.T) {
	f := newFixture(t, actorpool.Config{MinConns: 1, MaxConns: 2})
	l := f.acquire(t)
	require.NotNil(t, l.Conn())
	require.NoError(t, l.Conn().Hold(1))
	s := f.p.Stats()
	assert.Equal(t, 1, s.Leased())
	requireStatsAddUp(t, s)
	l.Conn().Unhold(1)
	require.NoError(t, l.Release())
	assert.Eventually(t, func() bool { return f.p.Stats().Idle() >= 1 }, eventually, time.Millisecond)
	assert.Equal(t, uint64(1), f.p.Stats().Acquired())
}

func TestMinConnsAreDialledAtStart(t *testing.T) {
	f := newFixture(t, actorpool.Config{MinConns: 3, MaxConns: 5})
	assert.Eventually(t, func() bool { return f.p.Stats().Idle() == 3 }, eventually, time.Millisecond)
	assert.Equal(t, 3, f.b.Dials())
}

func TestASecondReleaseReturnsErrLeaseReleasedAndChangesNothing(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	l := f.acquire(t)
	copyOfLease := l
	require.NoError(t, l.Release())
	assert.ErrorIs(t, l.Release(), actorpool.ErrLeaseReleased)
	assert.ErrorIs(t, copyOfLease.Release(), actorpool.ErrLeaseReleased)
	assert.ErrorIs(t, l.MarkBroken(errors.New("late")), actorpool.ErrLeaseReleased)
	assert.False(t, l.Valid())

	// The stale handle must not end the next lease on the same connection.
	next := f.acquire(t)
	require.Same(t, l.Conn(), next.Conn(), "MaxConns is 1: the same connection comes back")
	assert.ErrorIs(t, l.Release(), actorpool.ErrLeaseReleased)
	assert.True(t, next.Valid())
	require.NoError(t, next.Release())
	assert.Equal(t, 1, f.b.Dials())
}

func TestAZeroLeaseCannotBeReleased(t *testing.T) {
	var l actorpool.Lease[*membackend.Conn]
	assert.ErrorIs(t, l.Release(), actorpool.ErrLeaseReleased)
	assert.Nil(t, l.Conn())
}

func TestMarkBrokenClosesAndReplacesTheConnection(t *testing.T) {
	f := newFixture(t, actorpool.Config{MinConns: 1, MaxConns: 1})
	l := f.acquire(t)
	broken := l.Conn()
	require.NoError(t, l.MarkBroken(errors.New("protocol desync")))
	assert.ErrorIs(t, l.Release(), actorpool.ErrLeaseReleased)

	next := f.acquire(t)
	assert.NotSame(t, broken, next.Conn(), "a broken connection is never lent again")
	assert.True(t, broken.Closed())
	require.NoError(t, next.Release())
	s := f.p.Stats()
	assert.Equal(t, uint64(1), s.Broken())
	assert.Equal(t, uint64(1), s.Restarts())
	assert.Equal(t, 2, f.b.Dials())
}

func TestADirtyConnectionIsResetBeforeTheNextHolder(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	l := f.acquire(t)
	require.NoError(t, l.Conn().Do())
	require.NoError(t, l.Release())
	next := f.acquire(t)
	assert.False(t, next.Conn().Dirty(), "the next holder sees what the last one left")
	assert.Equal(t, 1, f.b.Resets())
	require.NoError(t, next.Release())
	// A clean connection skips the reset.
	assert.Eventually(t, func() bool { return f.p.Stats().Idle() == 1 }, eventually, time.Millisecond)
	assert.Equal(t, 1, f.b.Resets())
}

func TestAFailedResetReplacesTheConnection(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	f.b.FailResets(errors.New("reset refused"))
	l := f.acquire(t)
	first := l.Conn()
	require.NoError(t, first.Do())
	require.NoError(t, l.Release())
	require.Eventually(t, func() bool { return f.p.Stats().Broken() == 1 }, eventually, time.Millisecond)
	f.b.FailResets(nil)
	next := f.acquire(t)
	assert.NotSame(t, first, next.Conn())
	assert.True(t, first.Closed())
	require.NoError(t, next.Release())
}

func TestWaitersAreServedInArrivalOrder(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	held := f.acquire(t)
	const waiters = 8
	order := make(chan int, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := f.p.Acquire(context.Background())
			if !assert.NoError(t, err) {
				return
			}
			order <- i
			assert.NoError(t, l.Release())
		}()
		// The next waiter starts only once this one is queued.
		require.Eventually(t, func() bool { return f.p.Stats().Waiting() == i+1 }, eventually, time.Millisecond)
	}
	require.NoError(t, held.Release())
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		assert.Equal(t, want, got, "waiter served out of order")
		want++
	}
	assert.Equal(t, waiters, want)
}

func TestAcquireFailsWithErrAcquireTimeoutWhenNothingFrees(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1, AcquireTimeout: 30 * time.Millisecond})
	held := f.acquire(t)
	_, err := f.p.Acquire(context.Background())
	require.ErrorIs(t, err, actorpool.ErrAcquireTimeout)
	assert.Equal(t, uint64(1), f.p.Stats().Timeouts())
	assert.Zero(t, f.p.Stats().Waiting())
	require.NoError(t, held.Release())
}

func TestAnEarlierCtxDeadlineComesBackAsItself(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	held := f.acquire(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := f.p.Acquire(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 0 }, eventually, time.Millisecond,
		"a waiter whose ctx ended is removed from the queue")
	require.NoError(t, held.Release())

	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	_, err = f.p.Acquire(cancelled)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestACancelledWaiterIsNeverGrantedAndItsGrantIsNotLost(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	for range 200 {
		held := f.acquire(t)
		ctx, cancel := context.WithCancel(context.Background())
		got := f.acquireLater(ctx)
		// Cancel and release at the same moment: either the waiter gets
		// the connection (and gives it back) or it is cancelled; in both
		// cases the one connection must come back.
		go cancel()
		require.NoError(t, held.Release())
		if err := recv(t, got); err != nil {
			require.ErrorIs(t, err, context.Canceled)
		}
		cancel()
	}
	l := f.acquire(t) // would time out if a grant had been lost
	require.NoError(t, l.Release())
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.Idle() == 1 && s.Leased() == 0 && s.Waiting() == 0
	}, eventually, time.Millisecond)
	assert.Equal(t, 1, f.b.Dials(), "no connection was lost and redialled")
}

func TestMaxWaitersRejectsAtOnceBeyondTheCap(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1, MaxWaiters: 1})
	held := f.acquire(t)
	waiting := f.acquireLater(context.Background())
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, time.Millisecond)
	_, err := f.p.Acquire(context.Background())
	require.ErrorIs(t, err, actorpool.ErrTooManyWaiters)
	assert.Equal(t, uint64(1), f.p.Stats().Rejected())
	require.NoError(t, held.Release())
	require.NoError(t, recv(t, waiting))
}

func TestALeaseHeldPastLeaseTimeoutIsRevokedAndItsConnectionReplaced(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1, LeaseTimeout: 20 * time.Millisecond})
	l := f.acquire(t)
	revoked := l.Conn()
	require.Eventually(t, func() bool { return !l.Valid() }, eventually, time.Millisecond)
	assert.ErrorIs(t, l.Release(), actorpool.ErrLeaseRevoked)
	assert.ErrorIs(t, l.MarkBroken(nil), actorpool.ErrLeaseRevoked)
	require.Eventually(t, revoked.Closed, eventually, time.Millisecond, "a revoked lease's connection is closed")

	next := f.acquire(t)
	assert.NotSame(t, revoked, next.Conn(), "a revoked connection is never lent again")
	require.NoError(t, next.Release())
	assert.Equal(t, uint64(1), f.p.Stats().Revoked())
}

func TestMaxConnsIsNeverExceededUnder200Callers(t *testing.T) {
	const maxConns = 8
	f := newFixture(t, actorpool.Config{MaxConns: maxConns})
	f.b.DelayDials(time.Millisecond)
	var peak atomic.Int64
	var holders atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				err := f.p.With(context.Background(), func(c *membackend.Conn) error {
					if err := c.Hold(int64(i + 1)); err != nil {
						return err
					}
					n := holders.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					holders.Add(-1)
					c.Unhold(int64(i + 1))
					return nil
				})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, peak.Load(), int64(maxConns))
	assert.LessOrEqual(t, f.b.Dials(), maxConns)
	s := f.p.Stats()
	requireStatsAddUp(t, s)
	assert.Equal(t, uint64(200*20), s.Acquired())
}

func TestWithMarksFatalErrorsBrokenAndReleasesOthers(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	plain := errors.New("key not found")
	require.ErrorIs(t, f.p.With(context.Background(), func(*membackend.Conn) error { return plain }), plain)
	assert.Equal(t, uint64(0), f.p.Stats().Broken())

	var first *membackend.Conn
	err := f.p.With(context.Background(), func(c *membackend.Conn) error {
		first = c
		c.Break()
		return c.Do()
	})
	require.ErrorIs(t, err, membackend.ErrBroken)
	require.NoError(t, f.p.With(context.Background(), func(c *membackend.Conn) error {
		assert.NotSame(t, first, c)
		return c.Do()
	}))
	assert.Equal(t, uint64(1), f.p.Stats().Broken())
}

func TestWithMarksTheConnectionBrokenWhenFnPanics(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	var first *membackend.Conn
	assert.Panics(t, func() {
		_ = f.p.With(context.Background(), func(c *membackend.Conn) error {
			first = c
			panic("boom")
		})
	})
	require.NoError(t, f.p.With(context.Background(), func(c *membackend.Conn) error {
		assert.NotSame(t, first, c)
		return nil
	}))
}

func TestCallersFailedFastBringTheProbeForwardToBackoffMin(t *testing.T) {
	// With nobody asking, the probe's backoff grows; once callers ask (and
	// are failed fast), it redials BackoffMin after each failure instead,
	// so the pool notices the backend's return within BackoffMin.
	f := newFixture(t, actorpool.Config{MinConns: 1, MaxConns: 1, BackoffMin: 5 * time.Millisecond, BackoffMax: time.Hour},
		func(b *membackend.Backend) { b.FailDials(nil) })
	// 5+10+20+40+80+160 ms: the next redial is 160–320 ms away, the one
	// after that 320–640 ms later.
	require.Eventually(t, func() bool { return f.b.DialErrors() >= 7 }, eventually, time.Millisecond)
	before := f.b.DialErrors()
	const extra = 6 // more than the grown backoff allows in a second
	require.Eventually(t, func() bool {
		_, err := f.p.Acquire(context.Background())
		assert.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
		return f.b.DialErrors() >= before+extra
	}, time.Second, time.Millisecond, "the probe did not redial sooner for callers")

	f.b.Heal()
	require.Eventually(t, func() bool {
		l, err := f.p.Acquire(context.Background())
		return err == nil && l.Release() == nil
	}, eventually, time.Millisecond)
}

func TestAcquireFailsFastWhileNoConnectionIsAliveAndRecovers(t *testing.T) {
	f := newFixture(t, actorpool.Config{MinConns: 2, MaxConns: 2, BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond})
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 2 }, eventually, time.Millisecond)

	// The server goes away: every connection breaks, every dial fails.
	f.b.FailDials(nil)
	for _, c := range f.b.Conns() {
		c.Break()
	}
	for range 2 {
		err := f.p.With(context.Background(), func(c *membackend.Conn) error { return c.Do() })
		require.ErrorIs(t, err, membackend.ErrBroken)
	}
	require.Eventually(t, func() bool { return f.p.Stats().DialErrors() > 0 }, eventually, time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	start := time.Now()
	_, err := f.p.Acquire(ctx)
	require.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
	require.ErrorIs(t, err, membackend.ErrDialRefused, "the dial error is wrapped")
	assert.Less(t, time.Since(start), time.Second, "fails fast, not at the timeout")
	assert.ErrorIs(t, f.p.Stats().LastDialError(), membackend.ErrDialRefused)

	// The server comes back: the pool recovers by itself.
	f.b.Heal()
	require.Eventually(t, func() bool {
		l, err := f.p.Acquire(ctx)
		if err != nil {
			return false
		}
		return l.Release() == nil
	}, eventually, time.Millisecond)
	s := f.p.Stats()
	requireStatsAddUp(t, s)
	assert.GreaterOrEqual(t, s.Restarts(), uint64(1))
}

func TestWaitersQueuedWhenDialsFailAreFailedFast(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1, BackoffMin: time.Millisecond},
		func(b *membackend.Backend) { b.FailDials(nil) })
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	_, err := f.p.Acquire(ctx)
	require.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
	require.NoError(t, ctx.Err(), "failed before the ctx deadline")
	assert.GreaterOrEqual(t, f.p.Stats().FailedFast(), uint64(1))
}

func TestADialSlowerThanDialTimeoutFails(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1, DialTimeout: 10 * time.Millisecond, BackoffMin: time.Millisecond})
	f.b.DelayDials(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	_, err := f.p.Acquire(ctx)
	require.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestCloseWaitsForLeasesThenClosesEverything(t *testing.T) {
	f := newFixture(t, actorpool.Config{MinConns: 2, MaxConns: 3})
	l := f.acquire(t)
	closed := make(chan error, 1)
	go func() { closed <- f.p.Close(context.Background()) }()
	require.Eventually(t, func() bool {
		extra, err := f.p.Acquire(context.Background())
		if err == nil {
			assert.NoError(t, extra.Release()) // Close has not started yet
		}
		return errors.Is(err, actorpool.ErrPoolClosed)
	}, eventually, time.Millisecond)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a lease was out", err)
	default:
	}
	require.NoError(t, l.Release())
	require.NoError(t, recv(t, closed))
	assert.Zero(t, f.b.Live())
	assert.Equal(t, f.b.Dials(), f.b.Closes())
}

func TestCloseRevokesLeasesStillOutWhenItsCtxEnds(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 2})
	a, b := f.acquire(t), f.acquire(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.NoError(t, a.Release())
	err := f.p.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, b.Release(), actorpool.ErrLeaseRevoked)
	assert.True(t, b.Conn().Closed())
	assert.Equal(t, uint64(1), f.p.Stats().Revoked())
}

func TestEveryCallAfterCloseReturnsErrPoolClosed(t *testing.T) {
	f := newFixture(t, actorpool.Config{MinConns: 1})
	require.NoError(t, f.p.Close(context.Background()))
	_, err := f.p.Acquire(context.Background())
	assert.ErrorIs(t, err, actorpool.ErrPoolClosed)
	assert.ErrorIs(t, f.p.With(context.Background(), func(*membackend.Conn) error { return nil }), actorpool.ErrPoolClosed)
	assert.ErrorIs(t, f.p.Close(context.Background()), actorpool.ErrPoolClosed)
	requireStatsAddUp(t, f.p.Stats())
	assert.Zero(t, f.b.Live())
}

func TestWaitersAreFailedWhenThePoolCloses(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	held := f.acquire(t)
	got := make(chan error, 1)
	go func() {
		_, err := f.p.Acquire(context.Background())
		got <- err
	}()
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- f.p.Close(context.Background()) }()
	require.ErrorIs(t, recv(t, got), actorpool.ErrPoolClosed)
	require.NoError(t, held.Release())
	require.NoError(t, recv(t, closed))
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cases := map[string]actorpool.Config{
		"MinConns":         {MinConns: -1},
		"MaxConns":         {MaxConns: -1},
		"MaxWaiters":       {MaxWaiters: -1},
		"above MaxConns":   {MinConns: 5, MaxConns: 2},
		"AcquireTimeout":   {AcquireTimeout: -time.Second},
		"LeaseTimeout":     {LeaseTimeout: -time.Second},
		"LeakWarnAfter":    {LeakWarnAfter: -time.Second},
		"DialTimeout":      {DialTimeout: -time.Second},
		"BackoffMin":       {BackoffMin: -time.Second},
		"BackoffMax":       {BackoffMax: -time.Second},
		"above BackoffMax": {BackoffMin: time.Second, BackoffMax: time.Millisecond},
	}
	for field, cfg := range cases {
		t.Run(field, func(t *testing.T) {
			p, err := actorpool.New(newSystem(), membackend.New(), cfg)
			require.ErrorIs(t, err, actorpool.ErrInvalidConfig)
			assert.Contains(t, err.Error(), field)
			assert.Nil(t, p)
		})
	}
	_, err := actorpool.New[*membackend.Conn](newSystem(), nil, actorpool.Config{})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	_, err = actorpool.New(nil, membackend.New(), actorpool.Config{})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
}

func TestFailedDialsAreRetriedWithACappedBackoffAndCounted(t *testing.T) {
	f := newFixture(t, actorpool.Config{MinConns: 1, MaxConns: 1, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond},
		func(b *membackend.Backend) { b.FailDials(nil) })
	// Uncapped doubling from 1 ms would need about nine minutes for 20
	// failures; capped at 2 ms they take well under a second.
	require.Eventually(t, func() bool { return f.b.DialErrors() >= 20 }, eventually, time.Millisecond)
	f.b.Heal()
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 1 }, eventually, time.Millisecond)
	s := f.p.Stats()
	assert.GreaterOrEqual(t, s.DialErrors(), uint64(20))
	assert.Equal(t, uint64(1), s.Dials())
	assert.Nil(t, s.LastDialError(), "a successful dial clears the circuit")
}
