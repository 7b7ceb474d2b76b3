package actorpool_test

// The dialer's rules seen from outside: when a connection actor redials,
// when the circuit opens, what dials while it is open, and what the server
// sees while connections are replaced.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/actors"
	"github.com/actorpool/actorpool/backends/membackend"
)

// watched is a memory backend that records, at each dial's start, when it
// started, how many connections the server held, and whether the pool's
// circuit was open; and how many dials started while the circuit was open
// (or in the refill after it) were in flight at once.
type watched struct {
	*membackend.Backend
	pool atomic.Pointer[memPool]

	mu         sync.Mutex
	starts     []time.Time
	peakLive   int  // most connections the server held as a dial started or ended
	opened     bool // a dial started while the circuit was open
	inOpen     int  // dials in flight that started while the circuit was open
	inRefill   int  // dials in flight that started once it had closed again
	peakOpen   int
	peakRefill int
}

func newWatched() *watched { return &watched{Backend: membackend.New()} }

func (w *watched) circuitOpen() bool {
	p := w.pool.Load()
	return p != nil && p.Stats().CircuitOpen()
}

func (w *watched) Dial(ctx context.Context) (*membackend.Conn, error) {
	open := w.circuitOpen()
	w.mu.Lock()
	w.starts = append(w.starts, time.Now())
	w.peakLive = max(w.peakLive, w.Live())
	counter, peak := (*int)(nil), (*int)(nil)
	switch {
	case open:
		w.opened = true
		counter, peak = &w.inOpen, &w.peakOpen
	case w.opened:
		counter, peak = &w.inRefill, &w.peakRefill
	}
	if counter != nil {
		*counter++
		*peak = max(*peak, *counter)
	}
	w.mu.Unlock()

	c, err := w.Backend.Dial(ctx)

	w.mu.Lock()
	defer w.mu.Unlock()
	if counter != nil {
		*counter--
	}
	w.peakLive = max(w.peakLive, w.Live())
	return c, err
}

// since returns the start times of the dials after the first n.
func (w *watched) since(n int) []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.starts[min(n, len(w.starts)):]...)
}

func (w *watched) dials() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.starts)
}

// hangs waits for a dial that starts after the call: one that reads the
// dial delay set before it.
func hangs(t *testing.T, w *watched) {
	t.Helper()
	n := w.dials()
	require.Eventually(t, func() bool { return w.dials() > n }, eventually, time.Millisecond)
}

// openWatched starts a pool over a watched backend.
func openWatched(t *testing.T, cfg actorpool.Config, prepare ...func(*membackend.Backend)) (*fixture, *watched) {
	t.Helper()
	w := newWatched()
	for _, fn := range prepare {
		fn(w.Backend)
	}
	f := newFixtureOver(t, w, w.Backend, cfg)
	w.pool.Store(f.p)
	return f, w
}

func TestAFailedDialIsRedialledAfterABackoffThatDoublesUpToBackoffMax(t *testing.T) {
	const minDelay, maxDelay = 4 * time.Millisecond, 32 * time.Millisecond
	f, w := openWatched(t, lifecycleOff(actorpool.Config{
		MinConns: 1, MaxConns: 2, BackoffMin: minDelay, BackoffMax: maxDelay,
	}))
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 1 }, eventually, time.Millisecond)
	f.b.FailDials(nil)
	first := w.dials()
	// One connection stays alive, so the circuit stays closed: the second
	// connection actor backs off on its own failures.
	require.NoError(t, f.p.SetLimits(context.Background(), 2, 2))

	// Doubling without a cap from 4 ms would take over a minute for 14
	// redials; capped at 32 ms they take under half a second.
	const redials = 14
	require.Eventually(t, func() bool { return len(w.since(first)) > redials }, eventually, time.Millisecond,
		"the redials are capped at BackoffMax")
	starts := w.since(first)
	for n := 1; n <= redials; n++ {
		// After n failures the delay is drawn from [c/2, c], c the
		// ceiling min(BackoffMin·2^(n-1), BackoffMax): a lower bound.
		ceiling := min(minDelay<<(n-1), maxDelay)
		assert.GreaterOrEqual(t, starts[n].Sub(starts[n-1]), ceiling/2, "redial after %d failures came early", n)
	}
	assert.Zero(t, f.p.Stats().CircuitOpens())
	f.b.Heal()
}

func TestTheCircuitOpensOnlyWhenNoConnectionIsAliveAndTheLastDialFailed(t *testing.T) {
	f, w := openWatched(t, lifecycleOff(actorpool.Config{
		MinConns: 1, MaxConns: 2, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond, DialTimeout: time.Minute,
	}))
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 1 }, eventually, time.Millisecond)
	f.b.FailDials(nil)
	require.NoError(t, f.p.SetLimits(context.Background(), 2, 2))
	require.Eventually(t, func() bool { return f.b.DialErrors() >= 5 }, eventually, time.Millisecond)
	assert.Zero(t, f.p.Stats().CircuitOpens(), "dials fail while a connection is alive: the circuit stays closed")
	l := f.acquire(t)

	// From the next dial on no dial ends: a failed redial cannot open the
	// circuit. One actor dials, one dial at a time.
	f.b.DelayDials(time.Hour)
	hangs(t, w)
	require.NoError(t, l.MarkBroken(errors.New("test: broken")))
	require.Eventually(t, func() bool { return f.p.Stats().CircuitOpen() }, eventually, time.Millisecond,
		"the last live connection went after a failed dial: the circuit opens")
	_, err := f.p.Acquire(context.Background())
	assert.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
	assert.Equal(t, uint64(1), f.p.Stats().CircuitOpens())
}

func TestWhileTheCircuitIsOpenOnlyTheProbeDialsAndTheParkedRedialAfterItRefillDialsAtATime(t *testing.T) {
	f, w := openWatched(t, lifecycleOff(actorpool.Config{
		MinConns: 4, MaxConns: 4, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond,
	}), func(b *membackend.Backend) {
		b.FailDials(nil)
		b.DelayDials(time.Millisecond)
	})
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.opened && f.b.DialErrors() >= 12
	}, eventually, time.Millisecond)
	f.b.Heal()
	f.b.DelayDials(2 * time.Millisecond)
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 4 }, eventually, time.Millisecond)

	w.mu.Lock()
	defer w.mu.Unlock()
	// Dials started before the circuit opened may still be under way as
	// it opens; of those started while it is open, one at a time.
	assert.Equal(t, 1, w.peakOpen, "one probe at a time while the circuit is open")
	assert.Positive(t, w.peakRefill, "the parked actors redial once the probe succeeded")
	assert.LessOrEqual(t, w.peakRefill, actors.RefillDials, "the refill is bounded")
}

func TestALostConnectionIsRedialledAtOnceAndCountedAsARestart(t *testing.T) {
	// An hour's backoff: a redial that waited for it would not come
	// within the test.
	f, _ := openWatched(t, lifecycleOff(actorpool.Config{
		MinConns: 1, MaxConns: 1, BackoffMin: time.Hour, BackoffMax: time.Hour,
	}))
	l := f.acquire(t)
	lost := l.Conn()
	require.NoError(t, l.MarkBroken(errors.New("test: broken")))
	next := f.acquire(t)
	assert.NotSame(t, lost, next.Conn())
	require.NoError(t, next.Release())
	s := f.p.Stats()
	assert.Equal(t, uint64(1), s.Restarts())
	assert.Zero(t, s.DialErrors())
	assert.Zero(t, s.CircuitOpens(), "a lost connection is no failed dial")
}

func TestAConnectionRetiredAtMinConnsIsReplacedOnlyOnceItIsClosed(t *testing.T) {
	f, w := openWatched(t, lifecycleOff(actorpool.Config{
		MinConns: 1, MaxConns: 1, MaxLifetime: 10 * time.Millisecond,
	}), func(b *membackend.Backend) { b.DelayCloses(20 * time.Millisecond) })
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.RetiredLifetime() >= 3 && s.Idle() == 1
	}, eventually, time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, 1, w.peakLive, "the server saw a replacement beside the connection it replaces")
	assert.GreaterOrEqual(t, len(w.starts), 4)
}

func TestCloseWhileTheCircuitIsOpenReturnsPromptlyAndLeavesNoActor(t *testing.T) {
	f, w := openWatched(t, lifecycleOff(actorpool.Config{
		MinConns: 3, MaxConns: 3, BackoffMin: 10 * time.Millisecond, BackoffMax: 10 * time.Millisecond, DialTimeout: time.Minute,
	}), func(b *membackend.Backend) { b.FailDials(nil) })
	require.Eventually(t, func() bool { return f.p.Stats().CircuitOpen() }, eventually, time.Millisecond)
	// The probe's next dial hangs: Close finds it in flight, two actors
	// parked.
	f.b.DelayDials(time.Hour)
	hangs(t, w)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- f.p.Close(ctx) }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(closeBound):
		t.Fatalf("Close still waits after %s: %+v", closeBound, f.p.Stats())
	}
	// The broker stays to answer late acquires; nothing else of the pool.
	broker, seen := f.p.Broker().Id, false
	for _, m := range f.sys.ProcessRegistry.LocalPIDs.LocalPIDs {
		for _, id := range m.Keys() {
			if strings.HasPrefix(id, "actorpool") {
				assert.Equal(t, broker, id, "an actor of the pool is left after Close")
				seen = seen || id == broker
			}
		}
	}
	assert.True(t, seen, "the broker is found where the pool's actors are registered")
	assert.Zero(t, f.p.Stats().Total())
}
