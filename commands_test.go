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
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// do runs one in-memory command in command mode.
func do(ctx context.Context, p *memPool, fn func(*membackend.Conn) error) (*membackend.Command, error) {
	cmd := &membackend.Command{Fn: fn}
	err := p.Do(ctx, cmd, 16)
	return cmd, err
}

// Commands from many callers share batches on few connections, never on a
// connection a lease holds, while leases come and go on the same pool.
func TestDoSharesBatchesBesideLeases(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 4})
	f.b.DelayPipelines(time.Millisecond) // round trips long enough for commands to queue
	ctx := testCtx(t)
	var wg sync.WaitGroup
	var most atomic.Int64
	for range 32 {
		wg.Go(func() {
			for range 100 {
				cmd, err := do(ctx, f.p, nil)
				if !assert.NoError(t, err) {
					return
				}
				if n := int64(cmd.Batch); n > most.Load() {
					most.Store(n)
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 50 {
				err := f.p.With(ctx, func(c *membackend.Conn) error {
					if err := c.Hold(7); err != nil {
						return err
					}
					defer c.Unhold(7)
					return c.Do()
				})
				if !assert.NoError(t, err) {
					return
				}
			}
		})
	}
	wg.Wait()
	st := f.p.Stats()
	assert.Equal(t, uint64(32*100), st.Commands())
	assert.Greater(t, most.Load(), int64(1), "commands that arrive during a round trip share the next batch")
	assert.Zero(t, f.b.Violations(), "no connection served a batch and a lease at once")
	requireStatsAddUp(t, f.p.Stats())
}

// A connection that breaks fails the commands in flight on it with its
// error, sends the commands queued behind them to another connection, and
// is replaced.
func TestDoBrokenConnection(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 2})
	ctx := testCtx(t)

	var broken atomic.Pointer[membackend.Conn]
	gate := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := do(ctx, f.p, func(c *membackend.Conn) error {
			<-gate // in flight until the others queued behind it
			broken.Store(c)
			c.Break()
			return nil
		})
		first <- err
	}()
	require.Eventually(t, func() bool { return f.p.Stats().CommandsInFlight() == 1 }, eventually, time.Millisecond)
	// Queued behind the breaking command on the same connection (the only
	// one in command mode yet): they must run elsewhere.
	var wg sync.WaitGroup
	results := make(chan *membackend.Command, 8)
	for range 8 {
		wg.Go(func() {
			cmd, err := do(ctx, f.p, nil)
			assert.NoError(t, err)
			results <- cmd
		})
	}
	require.Eventually(t, func() bool { return f.p.Stats().CommandsInFlight() == 9 }, eventually, time.Millisecond)
	close(gate)
	assert.ErrorIs(t, <-first, membackend.ErrBroken, "the command in flight gets the connection's error")
	wg.Wait()
	close(results)
	for cmd := range results {
		assert.NotSame(t, broken.Load(), cmd.Conn, "no command runs on the broken connection after it broke")
	}
	require.Eventually(t, func() bool { return f.p.Stats().Restarts() >= 1 }, eventually, time.Millisecond,
		"the broken connection is replaced")
}

// A command counts in CommandsInFlight until its caller has its answer,
// not after: each caller of a batch, once answered, reads no more commands
// in flight than callers still waiting, and once every caller has its
// answer the count reads 0.
func TestDoCountsACommandUntilItsCallerHasItsAnswer(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	ctx := testCtx(t)
	for range 20 {
		gate := make(chan struct{})
		first := make(chan error, 1)
		go func() {
			_, err := do(ctx, f.p, func(*membackend.Conn) error { <-gate; return nil })
			first <- err
		}()
		require.Eventually(t, func() bool { return f.p.Stats().CommandsInFlight() == 1 }, eventually, time.Millisecond)
		const callers = 128
		var answered atomic.Int64
		var mu sync.Mutex
		over := 0 // the most commands a caller saw in flight beyond the callers still waiting
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				_, err := do(ctx, f.p, nil)
				assert.NoError(t, err)
				waiting := callers - int(answered.Add(1))
				n := f.p.Stats().CommandsInFlight() - waiting
				mu.Lock()
				over = max(over, n)
				mu.Unlock()
			})
		}
		require.Eventually(t, func() bool { return f.p.Stats().CommandsInFlight() == callers+1 }, eventually, time.Millisecond)
		close(gate) // the callers queued meanwhile go out as one batch
		require.NoError(t, <-first)
		wg.Wait()
		assert.Zero(t, over, "a caller that has its answer is no longer counted")
		assert.Zero(t, f.p.Stats().CommandsInFlight(), "every caller has its answer")
	}
}

// LeaseTimeout revokes holders' leases, never command mode's.
func TestDoNotRevokedByLeaseTimeout(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1, LeaseTimeout: 30 * time.Millisecond})
	ctx := testCtx(t)
	_, err := do(ctx, f.p, nil)
	require.NoError(t, err)
	require.Equal(t, 1, f.p.Stats().CommandConns())
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		_, err := do(ctx, f.p, nil)
		require.NoError(t, err)
	}
	assert.Zero(t, f.p.Stats().Revoked(), "a command-mode connection outlives LeaseTimeout")
}

// Close lets commands in flight finish; later calls fail with
// ErrPoolClosed.
func TestDoAndClose(t *testing.T) {
	b := membackend.New()
	p, err := actorpool.New(newSystem(), b, actorpool.Config{MaxConns: 2})
	require.NoError(t, err)
	ctx := testCtx(t)
	gate := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := do(ctx, p, func(*membackend.Conn) error { <-gate; return nil })
		done <- err
	}()
	require.Eventually(t, func() bool { return p.Stats().CommandsInFlight() == 1 }, eventually, time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- p.Close(ctx) }()
	require.Eventually(t, func() bool {
		// Before Close, this one queues behind the gated command: its
		// short ctx takes it out again.
		short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		defer cancel()
		_, err := do(short, p, nil)
		return errors.Is(err, actorpool.ErrPoolClosed)
	}, eventually, time.Millisecond, "once Close began, new commands fail with ErrPoolClosed")
	close(gate)
	assert.NoError(t, <-done, "the command in flight at Close finishes")
	require.NoError(t, <-closed)
	assert.Zero(t, b.Live())
	assert.Zero(t, b.Violations())
}

// A backend without command mode says so; an unreachable one fails fast
// as Acquire does.
func TestDoErrors(t *testing.T) {
	ctx := testCtx(t)
	plain := pooltest.Open[*membackend.Conn](t, noPipeline{membackend.New()}, actorpool.Config{})
	err := plain.Pool.Do(ctx, &membackend.Command{}, 0)
	assert.ErrorIs(t, err, actorpool.ErrNoCommandMode)

	f := newFixture(t, actorpool.Config{MaxConns: 2, AcquireTimeout: time.Second},
		func(b *membackend.Backend) { b.FailDials(nil) })
	_, err = do(ctx, f.p, nil)
	assert.True(t, errors.Is(err, actorpool.ErrBackendUnavailable) || errors.Is(err, actorpool.ErrAcquireTimeout), "%v", err)
	require.Eventually(t, func() bool {
		_, err := do(ctx, f.p, nil)
		return errors.Is(err, actorpool.ErrBackendUnavailable) && errors.Is(err, membackend.ErrDialRefused)
	}, eventually, 10*time.Millisecond, "while dials fail, Do fails fast with the dial error")
	f.b.Heal()
	require.Eventually(t, func() bool {
		_, err := do(ctx, f.p, nil)
		return err == nil
	}, eventually, 10*time.Millisecond, "and recovers by itself")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = do(cancelled, f.p, nil)
	assert.ErrorIs(t, err, context.Canceled)
}

// noPipeline hides a backend's command mode.
type noPipeline struct {
	backends.Backend[*membackend.Conn]
}

// testCtx is a context for one test: nothing here should take long.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A request for one more connection that times out while others serve
// does not fail callers who have not waited AcquireTimeout: when the only
// connection in command mode breaks while that request is out, and its
// replacement is slow to dial, they wait for the replacement.
func TestDoWaitsOutASlowReplacement(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 2, MaxBatch: 1, AcquireTimeout: 5 * time.Second})
	ctx := testCtx(t)
	held := f.acquire(t) // the second connection stays with a holder
	defer func() { assert.NoError(t, held.Release()) }()
	_, err := do(ctx, f.p, nil) // command mode takes the first connection
	require.NoError(t, err)
	f.b.DelayPipelines(30 * time.Millisecond)
	f.b.DelayDials(300 * time.Millisecond)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	start := func(fn func(*membackend.Conn) error) {
		n := f.p.Stats().CommandsInFlight()
		wg.Go(func() {
			_, err := do(ctx, f.p, fn)
			errs <- err
		})
		require.Eventually(t, func() bool { return f.p.Stats().CommandsInFlight() == n+1 }, eventually, time.Millisecond)
	}
	// The first command holds the connection until the others queued. Then
	// one command a batch, 30 ms each: the first batch the actor writes
	// leaves work behind and asks for another connection, which the holder
	// keeps; a later one breaks the connection while that request is out.
	gate := make(chan struct{})
	start(func(*membackend.Conn) error { <-gate; return nil })
	start(nil)
	start(func(c *membackend.Conn) error { c.Break(); return nil })
	for range 5 {
		start(nil)
	}
	close(gate)
	wg.Wait()
	close(errs)
	broken := 0
	for err := range errs {
		if errors.Is(err, membackend.ErrBroken) {
			broken++
			continue
		}
		assert.NoError(t, err, "callers wait for the replacement, within AcquireTimeout")
	}
	assert.Equal(t, 1, broken, "only the batch in flight on the broken connection fails")
}

// A Do that finds no connection for command mode fails after the
// AcquireTimeout in force, the one SetLifecycle gave, not New's.
func TestDoTimesOutAfterTheAcquireTimeoutSetLifecycleGave(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1, AcquireTimeout: time.Minute})
	held := f.acquire(t) // command mode finds no connection to take
	defer func() { assert.NoError(t, held.Release()) }()
	lc := f.p.Lifecycle()
	lc.AcquireTimeout = 50 * time.Millisecond
	require.NoError(t, f.p.SetLifecycle(testCtx(t), lc))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := do(ctx, f.p, nil)
	assert.ErrorIs(t, err, actorpool.ErrAcquireTimeout)
	assert.NoError(t, ctx.Err(), "it failed within the new timeout, not at the caller's deadline")
}
