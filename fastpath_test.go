package actorpool_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// These tests check the fast path: a caller that finds an idle connection
// and nobody waiting takes it without the broker, a caller that finds
// others waiting joins their line without the broker, and a clean release
// hands the connection to the oldest waiter, or puts it back when nobody
// waits, without a message.

// warm makes sure the pool has n idle connections, so that the next
// acquires take the fast path.
func warm(t *testing.T, f *fixture, n int) {
	t.Helper()
	ls := make([]actorpool.Lease[*membackend.Conn], n)
	for i := range ls {
		ls[i] = f.acquire(t)
	}
	for _, l := range ls {
		require.NoError(t, l.Release())
	}
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == n }, eventually, time.Millisecond)
}

func TestAReleaseRacingWithAnAcquireThatQueuesIsNeverLost(t *testing.T) {
	// The holder releases while the broker, having found the idle stack
	// empty, queues the other caller. Either the release pushed first (and
	// the broker lends that connection) or it sees the caller queued (and
	// sends the connection to the broker): a lost wake-up would leave the
	// caller waiting until its timeout, with the connection idle.
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	f := newFixture(t, actorpool.Config{MaxConns: 2, AcquireTimeout: 2 * time.Second})
	warm(t, f, 2)
	for i := range iterations {
		a, b := f.acquire(t), f.acquire(t)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		start := make(chan struct{})
		for _, held := range []actorpool.Lease[*membackend.Conn]{a, b} {
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-start
				l, err := f.p.Acquire(context.Background())
				if err == nil {
					err = l.Release()
				}
				errs <- err
			}()
			go func() {
				defer wg.Done()
				<-start
				if i%2 == 0 {
					// Vary when the release lands against the acquire.
					for range i % 7 {
						runtime.Gosched()
					}
				}
				errs <- held.Release()
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, "iteration %d", i)
		}
	}
	s := f.p.Stats()
	requireStatsAddUp(t, s)
	assert.Zero(t, s.Timeouts())
	assert.Equal(t, 2, f.b.Dials(), "no connection was lost and redialled")
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.Idle() == 2 && s.Leased() == 0 && s.Waiting() == 0
	}, eventually, time.Millisecond)
	assert.Equal(t, uint64(2+4*iterations), f.p.Stats().Acquired())
}

func TestANewcomerDoesNotBargePastAQueuedWaiterWhenAConnectionIsReleased(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	warm(t, f, 1)
	for i := range 200 {
		held := f.acquire(t)
		order := make(chan string, 2)
		waiterDone := make(chan error, 1)
		go func() {
			l, err := f.p.Acquire(context.Background())
			if err == nil {
				order <- "waiter"
				err = l.Release()
			}
			waiterDone <- err
		}()
		require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, 50*time.Microsecond)
		// Release, then at once try to take the connection as a newcomer
		// would: it must queue behind the waiter, not take the connection
		// from the idle stack.
		require.NoError(t, held.Release())
		l, err := f.p.Acquire(context.Background())
		require.NoError(t, err, "iteration %d", i)
		order <- "newcomer"
		require.NoError(t, l.Release())
		require.NoError(t, recv(t, waiterDone))
		assert.Equal(t, "waiter", recv(t, order), "iteration %d: the newcomer barged past the waiter", i)
	}
}

func TestStatsAddUpWhileCallersChurnOnTheFastPath(t *testing.T) {
	const conns, callers, rounds = 4, 8, 400
	f := newFixture(t, actorpool.Config{MinConns: conns, MaxConns: conns})
	warm(t, f, conns)
	stop := make(chan struct{})
	checked := make(chan int)
	go func() {
		n := 0
		defer func() { checked <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Not the test's goroutine: assert, not require.
			s := f.p.Stats()
			pooltest.AssertStatsAddUp(t, s)
			assert.LessOrEqual(t, s.Leased(), conns, "%+v", s)
			assert.Equal(t, conns, s.Total(), "%+v", s)
			n++
		}
	}()
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				l, err := f.p.Acquire(context.Background())
				if !assert.NoError(t, err) {
					return
				}
				if !assert.NoError(t, l.Conn().Hold(int64(c+1)), "lent twice") {
					return
				}
				l.Conn().Unhold(int64(c + 1))
				assert.NoError(t, l.Release())
			}
		}()
	}
	wg.Wait()
	close(stop)
	assert.Positive(t, recv(t, checked))
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.Idle() == conns && s.Leased() == 0
	}, eventually, time.Millisecond)
	s := f.p.Stats()
	requireStatsAddUp(t, s)
	assert.Equal(t, uint64(conns+callers*rounds), s.Acquired())
}

func TestAConnectionIdlePastValidateAfterIdleIsNotLentByTheFastPathWithoutAPing(t *testing.T) {
	const validate = 30 * time.Millisecond
	f := newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1, ValidateAfterIdle: validate}))
	warm(t, f, 1)
	for range 50 {
		require.NoError(t, f.p.With(context.Background(), func(c *membackend.Conn) error { return nil }))
	}
	assert.Zero(t, f.b.Pings(), "a connection in use is not pinged")
	first := f.b.Conns()[0]
	// The ping before lending will fail: a connection lent without it
	// would be the first one.
	f.b.FailPings(errors.New("server went away"))
	// Sitting idle is the condition under test.
	time.Sleep(3 * validate)
	l := f.acquire(t)
	assert.NotSame(t, first, l.Conn(), "a stale connection was lent without its ping")
	require.NoError(t, l.Release())
	f.b.FailPings(nil)
	assert.Equal(t, 1, f.b.Pings())
	assert.True(t, first.Closed())
	assert.Equal(t, uint64(1), f.p.Stats().FailedValidations())
}

func TestALeaseTakenOnTheFastPathIsRevokedAfterLeaseTimeout(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1, LeaseTimeout: 20 * time.Millisecond})
	warm(t, f, 1)
	// The condition under test is time: the pool sits idle for a few
	// lease-timer periods, finding nothing to revoke, before a lease is taken
	// without the broker; that lease must still be revoked.
	time.Sleep(50 * time.Millisecond)
	l := f.acquire(t)
	require.Eventually(t, func() bool { return !l.Valid() }, eventually, time.Millisecond)
	assert.ErrorIs(t, l.Release(), actorpool.ErrLeaseRevoked)
	assert.Equal(t, uint64(1), f.p.Stats().Revoked())
}

func TestALeakedFastPathLeaseIsReportedAndItsReturnLogged(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, actorpool.Config{MaxConns: 1, LeakWarnAfter: 10 * time.Millisecond, Logger: slog.New(rec)})
	warm(t, f, 1)
	l := f.acquire(t)
	// The broker counts the warning before it logs it: wait for the line.
	require.Eventually(t, func() bool { return len(rec.find(slog.LevelWarn, "leak")) > 0 }, eventually, time.Millisecond)
	warnings := rec.find(slog.LevelWarn, "leak")
	require.Len(t, warnings, 1)
	assert.Equal(t, uint64(1), f.p.Stats().LeakWarnings())
	assert.Contains(t, attr(warnings[0], "acquired_at"), "TestALeakedFastPathLeaseIsReported", "the acquirer's stack")
	require.NoError(t, l.Release())
	require.Eventually(t, func() bool { return len(rec.find(slog.LevelInfo, "leaked was returned")) == 1 }, eventually, time.Millisecond)
	l = f.acquire(t)
	require.NoError(t, l.Release())
}

func TestAConnectionPastMaxLifetimeIsRetiredEvenWhenReturnedOnTheFastPath(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MinConns: 1, MaxConns: 1, MaxLifetime: 20 * time.Millisecond}))
	warm(t, f, 1)
	first := f.b.Conns()[0]
	// Keep it busy past its lifetime: it is never idle at a tick for long.
	require.Eventually(t, func() bool {
		// The condition runs on its own goroutine: assert, not require.
		assert.NoError(t, f.p.With(context.Background(), func(c *membackend.Conn) error { return c.Do() }))
		return first.Closed()
	}, eventually, 100*time.Microsecond)
	assert.GreaterOrEqual(t, f.p.Stats().RetiredLifetime(), uint64(1))
	// Let the retired actor finish stopping before the cleanup closes the
	// pool: replaced up to MinConns.
	require.Eventually(t, func() bool { return f.b.Dials() >= 2 && f.p.Stats().Idle() == 1 }, eventually, time.Millisecond)
}

func TestTheFastPathReturnsErrPoolClosedOnceCloseStarts(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 2})
	warm(t, f, 2)
	held := f.acquire(t)
	closed := make(chan error, 1)
	go func() { closed <- f.p.Close(context.Background()) }()
	require.Eventually(t, func() bool {
		l, err := f.p.Acquire(context.Background())
		if err == nil {
			// Close has not started yet.
			assert.NoError(t, l.Release())
		}
		return errors.Is(err, actorpool.ErrPoolClosed)
	}, eventually, 100*time.Microsecond)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a lease was out", err)
	default:
	}
	require.NoError(t, held.Release())
	require.NoError(t, recv(t, closed))
	assert.Zero(t, f.b.Live())
}

func TestTheFastPathAllocatesNothing(t *testing.T) {
	requireNoAllocations(t, newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 2})))
}

// requireNoAllocations checks that an Acquire and Release of an idle
// connection of f's pool (two connections) allocate nothing.
func requireNoAllocations(t *testing.T, f *fixture) {
	t.Helper()
	warm(t, f, 2)
	ctx := context.Background()
	var failed atomic.Bool
	allocs := testing.AllocsPerRun(1000, func() {
		l, err := f.p.Acquire(ctx)
		if err != nil || l.Release() != nil {
			failed.Store(true)
		}
	})
	require.False(t, failed.Load())
	assert.Zero(t, allocs)
}

func TestCallersInLineTimeOutAfterAHolderHandedOnTheConnection(t *testing.T) {
	// The broker arms its timer for the first waiter's deadline. A holder
	// hands the connection to that waiter without telling the broker; the
	// timer must still fail the others at their own deadlines.
	// Long enough for the first waiter to be served before its own deadline
	// even on a loaded machine.
	const timeout = 500 * time.Millisecond
	f := newFixture(t, actorpool.Config{MaxConns: 1, AcquireTimeout: timeout})
	held := f.acquire(t)
	first := make(chan actorpool.Lease[*membackend.Conn], 1)
	go func() {
		l, err := f.p.Acquire(context.Background())
		assert.NoError(t, err)
		first <- l
	}()
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, time.Millisecond)
	const later = 3
	errs := make(chan error, later)
	for range later {
		go func() {
			_, err := f.p.Acquire(context.Background())
			errs <- err
		}()
	}
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1+later }, eventually, time.Millisecond)
	require.NoError(t, held.Release())
	l := recv(t, first)
	for range later {
		select {
		case err := <-errs:
			require.ErrorIs(t, err, actorpool.ErrAcquireTimeout)
		case <-time.After(eventually):
			t.Fatal("a caller that joined the line was never timed out")
		}
	}
	s := f.p.Stats()
	assert.Equal(t, uint64(later), s.Timeouts())
	assert.Zero(t, s.Waiting())
	require.NoError(t, l.Release())
}

func TestCallersInLineAreFailedFastWhenTheLastConnectionDies(t *testing.T) {
	// The circuit opens while callers wait, some of whom joined the line
	// themselves: every one of them fails with ErrBackendUnavailable, and
	// nobody joins the line again until a dial succeeds.
	f := newFixture(t, actorpool.Config{MaxConns: 1, AcquireTimeout: time.Minute})
	held := f.acquire(t)
	const waiters = 4
	errs := make(chan error, waiters)
	for i := range waiters {
		go func() {
			_, err := f.p.Acquire(context.Background())
			errs <- err
		}()
		require.Eventually(t, func() bool { return f.p.Stats().Waiting() == i+1 }, eventually, time.Millisecond)
	}
	f.b.FailDials(nil)
	require.NoError(t, held.MarkBroken(errors.New("gone")))
	for range waiters {
		select {
		case err := <-errs:
			require.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
		case <-time.After(eventually):
			t.Fatal("a waiter was not failed fast")
		}
	}
	_, err := f.p.Acquire(context.Background())
	require.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
	assert.Zero(t, f.p.Stats().Waiting())
	f.b.Heal()
	require.Eventually(t, func() bool {
		l, err := f.p.Acquire(context.Background())
		return err == nil && assert.NoError(t, l.Release())
	}, eventually, 5*time.Millisecond, "the pool did not recover")
}
