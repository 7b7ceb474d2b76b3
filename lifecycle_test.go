package actorpool_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/membackend"
)

// lifecycleOff is a config with every lifecycle setting off; tests turn on
// the one they check.
func lifecycleOff(cfg actorpool.Config) actorpool.Config {
	for _, d := range []*time.Duration{&cfg.IdleTimeout, &cfg.MaxLifetime, &cfg.KeepaliveInterval, &cfg.ValidateAfterIdle} {
		if *d == 0 {
			*d = actorpool.Off
		}
	}
	return cfg
}

func TestIdleConnectionsArePingedOnKeepaliveButNeverWhileLeased(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MinConns: 2, MaxConns: 2, KeepaliveInterval: 2 * time.Millisecond}))
	l := f.acquire(t)
	require.NoError(t, l.Conn().Hold(1)) // membackend counts a ping of a held connection as a violation
	require.Eventually(t, func() bool { return f.b.Pings() >= 5 }, eventually, time.Millisecond,
		"the idle connection is pinged again and again")
	l.Conn().Unhold(1)
	require.NoError(t, l.Release())
	assert.Zero(t, f.b.Violations())
	assert.Equal(t, 2, f.b.Dials(), "healthy connections are kept")
	assert.Zero(t, f.p.Stats().FailedPings())
}

func TestAFailedKeepalivePingReplacesTheConnectionBeforeAnyCallerSeesIt(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MinConns: 2, MaxConns: 2, KeepaliveInterval: 2 * time.Millisecond}))
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 2 }, eventually, time.Millisecond)
	dead := f.b.Conns()
	for _, c := range dead {
		c.Break() // the server dropped them
	}
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.FailedPings() == 2 && s.Idle() == 2 && f.b.Dials() == 4
	}, eventually, time.Millisecond)
	for _, c := range dead {
		assert.True(t, c.Closed())
	}
	for range 2 {
		require.NoError(t, f.p.With(context.Background(), func(c *membackend.Conn) error { return c.Do() }),
			"no caller gets a dead connection")
	}
	assert.Equal(t, uint64(2), f.p.Stats().Restarts())
}

func TestAConnectionIsNotLentWhileItIsBeingPinged(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1, KeepaliveInterval: time.Millisecond}))
	f.b.DelayPings(5 * time.Millisecond)
	first := f.acquire(t)
	require.NoError(t, first.Release())
	for i := range 10 {
		pings := f.b.Pings()
		// Ping counts at its start: the connection is being pinged now,
		// for 5 ms, and the acquire must wait until the ping is over.
		require.Eventually(t, func() bool { return f.b.Pings() > pings }, eventually, 100*time.Microsecond)
		l := f.acquire(t)
		require.NoError(t, l.Conn().Hold(int64(i+1)), "lent while being pinged")
		l.Conn().Unhold(int64(i + 1))
		require.NoError(t, l.Release())
	}
	assert.Equal(t, 1, f.b.Dials())
}

func TestIdleConnectionsAboveMinConnsAreRetiredButNeverBelowIt(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MinConns: 1, MaxConns: 4, IdleTimeout: 10 * time.Millisecond}))
	var ls []actorpool.Lease[*membackend.Conn]
	for range 4 {
		ls = append(ls, f.acquire(t))
	}
	for _, l := range ls {
		require.NoError(t, l.Release())
	}
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.Total() == 1 && s.RetiredIdle() == 3
	}, eventually, time.Millisecond)
	assert.Never(t, func() bool { return f.p.Stats().Total() < 1 }, 60*time.Millisecond, 2*time.Millisecond,
		"idle eviction stops at MinConns")
	assert.Equal(t, 3, f.b.Closes())
	assert.Equal(t, 4, f.b.Dials(), "nothing was redialled")
}

func TestConnectionsAreRetiredAtMaxLifetimeAndReplacedUpToMinConns(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MinConns: 2, MaxConns: 2, MaxLifetime: 20 * time.Millisecond}))
	require.Eventually(t, func() bool { return f.b.Dials() >= 2 }, eventually, time.Millisecond)
	first := f.b.Conns()[:2]
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.RetiredLifetime() >= 2 && s.Idle() == 2 && first[0].Closed() && first[1].Closed()
	}, eventually, time.Millisecond)
	l := f.acquire(t)
	assert.NotContains(t, first, l.Conn())
	require.NoError(t, l.Release())
}

func TestALeasedConnectionIsNotCutAtMaxLifetimeButRetiredWhenGivenBack(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MinConns: 1, MaxConns: 1, MaxLifetime: 5 * time.Millisecond}))
	l := f.acquire(t)
	held := l.Conn()
	assert.Never(t, func() bool { return held.Closed() || !l.Valid() }, 50*time.Millisecond, time.Millisecond,
		"a leased connection is never cut")
	require.NoError(t, held.Do())
	require.NoError(t, l.Release())
	require.Eventually(t, func() bool { return held.Closed() && f.p.Stats().Idle() == 1 }, eventually, time.Millisecond,
		"retired when given back, and replaced since MinConns is 1")
	assert.GreaterOrEqual(t, f.p.Stats().RetiredLifetime(), uint64(1))
}

func TestAConnectionIdlePastValidateAfterIdleIsPingedBeforeItIsLent(t *testing.T) {
	const validate = 40 * time.Millisecond
	f := newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1, ValidateAfterIdle: validate}))
	// The pool flags a connection for the check once it may have sat idle
	// ValidateAfterIdle less a sweep period (a quarter of it). Between
	// two uses it sits idle for less than from the start of the first to
	// the end of the second: the test measures that, since a stalled test
	// goroutine leaves the connection idle as long as the stall.
	var widest time.Duration
	var prev time.Time
	for range 100 {
		start := time.Now()
		require.NoError(t, f.p.With(context.Background(), func(c *membackend.Conn) error { return nil }))
		if !prev.IsZero() {
			widest = max(widest, time.Since(prev))
		}
		prev = start
	}
	if widest < validate*3/4 {
		assert.Zero(t, f.b.Pings(), "a connection in use is not pinged")
	} else {
		t.Logf("not checked: the connection may have sat idle %s between two uses", widest)
	}
	// Each attempt comes after the connection sat idle longer than
	// ValidateAfterIdle.
	require.Eventually(t, func() bool {
		// The condition runs on its own goroutine: assert, not require.
		assert.NoError(t, f.p.With(context.Background(), func(c *membackend.Conn) error { return nil }))
		return f.b.Pings() > 0
	}, eventually, validate+validate/2)
	assert.Equal(t, 1, f.b.Dials())
	assert.Zero(t, f.p.Stats().FailedValidations())
}

func TestAFailedValidationReplacesTheConnectionAndTheCallerGetsAnother(t *testing.T) {
	const validate = 10 * time.Millisecond
	f := newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1, ValidateAfterIdle: validate}))
	first := f.acquire(t)
	dead := first.Conn()
	require.NoError(t, first.Release())
	f.b.FailPings(errors.New("server went away"))
	require.Eventually(t, func() bool {
		// Never an error: a failed check means another connection. The
		// condition runs on its own goroutine: assert, not require.
		l, err := f.p.Acquire(context.Background())
		if !assert.NoError(t, err) {
			return false
		}
		other := l.Conn() != dead
		assert.NoError(t, l.Conn().Do())
		assert.NoError(t, l.Release())
		return other
	}, eventually, 2*validate)
	f.b.FailPings(nil)
	assert.True(t, dead.Closed())
	s := f.p.Stats()
	assert.GreaterOrEqual(t, s.FailedValidations(), uint64(1))
	assert.Zero(t, s.FailedPings(), "no keepalive ran")
}

// recorder is a slog handler that keeps every record.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// find returns the records at level whose message contains msg.
func (r *recorder) find(level slog.Level, msg string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.records {
		if rec.Level == level && strings.Contains(rec.Message, msg) {
			out = append(out, rec)
		}
	}
	return out
}

func attr(rec slog.Record, key string) string {
	var v string
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

func TestALeakedLeaseIsReportedOnceWithTheAcquirersStackAndAgainWhenReleased(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, actorpool.Config{MaxConns: 1, LeakWarnAfter: 10 * time.Millisecond, Logger: slog.New(rec)})
	l := f.acquire(t)
	// The broker counts the warning, then logs it: wait for the record.
	require.Eventually(t, func() bool { return len(rec.find(slog.LevelWarn, "leak")) > 0 }, eventually, time.Millisecond)
	assert.Equal(t, uint64(1), f.p.Stats().LeakWarnings())
	warnings := rec.find(slog.LevelWarn, "leak")
	require.Len(t, warnings, 1)
	assert.Contains(t, attr(warnings[0], "acquired_at"), "TestALeakedLeaseIsReported", "the acquirer's stack")
	assert.Never(t, func() bool { return len(rec.find(slog.LevelWarn, "leak")) > 1 }, 50*time.Millisecond, 5*time.Millisecond,
		"reported once")
	require.NoError(t, l.Release())
	require.Eventually(t, func() bool { return len(rec.find(slog.LevelInfo, "leaked was returned")) == 1 }, eventually, time.Millisecond)
	assert.Equal(t, uint64(1), f.p.Stats().LeakWarnings())
}

func TestAResetFailureTheBackendMarksAsAnExpectedReplacementIsLoggedAtDebug(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, actorpool.Config{MaxConns: 1, Logger: slog.New(rec)})
	f.b.FailResets(fmt.Errorf("transaction left open: %w", backends.ErrReplace))
	require.NoError(t, f.p.With(context.Background(), func(c *membackend.Conn) error { return c.Do() }))
	require.Eventually(t, func() bool { return f.p.Stats().Broken() == 1 }, eventually, time.Millisecond)
	assert.Len(t, rec.find(slog.LevelDebug, "reset failed"), 1)
	assert.Empty(t, rec.find(slog.LevelWarn, "reset failed"))

	f.b.FailResets(errors.New("connection reset by peer"))
	require.NoError(t, f.p.With(context.Background(), func(c *membackend.Conn) error { return c.Do() }))
	require.Eventually(t, func() bool { return f.p.Stats().Broken() == 2 }, eventually, time.Millisecond)
	assert.Len(t, rec.find(slog.LevelWarn, "reset failed"), 1, "an unexpected failure is a warning")
	f.b.FailResets(nil)
}

func TestNewRejectsNegativeLifecycleSettingsAndAcceptsOff(t *testing.T) {
	for field, cfg := range map[string]actorpool.Config{
		"IdleTimeout":       {IdleTimeout: -time.Second},
		"MaxLifetime":       {MaxLifetime: -time.Second},
		"KeepaliveInterval": {KeepaliveInterval: -time.Second},
		"ValidateAfterIdle": {ValidateAfterIdle: -time.Second},
	} {
		t.Run(field, func(t *testing.T) {
			_, err := actorpool.New(newSystem(), membackend.New(), cfg)
			require.ErrorIs(t, err, actorpool.ErrInvalidConfig)
			assert.Contains(t, err.Error(), field)
		})
	}
	f := newFixture(t, lifecycleOff(actorpool.Config{MinConns: 1}))
	l := f.acquire(t)
	require.NoError(t, l.Release())
}

// TestThePoolStaysWithinItsLimitsUnderFlakyPingsAndDials runs a pool for a
// few seconds under light random load, with every lifecycle feature on short
// intervals and 5% of pings and dials failing, and checks at every step:
// within [MinConns, MaxConns], Stats that add up, no connection held twice
// or pinged while held.
func TestThePoolStaysWithinItsLimitsUnderFlakyPingsAndDials(t *testing.T) {
	run := 2500 * time.Millisecond
	if testing.Short() {
		run = 500 * time.Millisecond
	}
	const minConns, maxConns = 2, 5
	f := newFixture(t, actorpool.Config{
		MinConns: minConns, MaxConns: maxConns, AcquireTimeout: 500 * time.Millisecond,
		KeepaliveInterval: 4 * time.Millisecond, ValidateAfterIdle: 3 * time.Millisecond,
		IdleTimeout: 15 * time.Millisecond, MaxLifetime: 40 * time.Millisecond,
		BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond,
	})
	require.Eventually(t, func() bool { return f.p.Stats().Total() >= minConns }, eventually, time.Millisecond)
	f.b.FailDialsAtRandom(0.05)
	f.b.FailPingsAtRandom(0.05)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, unavailable atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			holder := int64(w + 1)
			for {
				// Think between leases, so that connections sit idle
				// and the lifecycle has something to do.
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(rng.IntN(8000)) * time.Microsecond):
				}
				err := f.p.With(context.Background(), func(c *membackend.Conn) error {
					if err := c.Hold(holder); err != nil {
						return err
					}
					defer c.Unhold(holder)
					if rng.IntN(50) == 0 {
						c.Break()
					}
					return c.Do()
				})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, actorpool.ErrBackendUnavailable):
					unavailable.Add(1)
				case errors.Is(err, membackend.ErrBroken):
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
		}()
	}

	// The load runs for run, and on (up to eventually) until every fault
	// it is about has happened at least once: how many pings a loaded
	// machine gets through in run is luck.
	deadline, last := time.Now().Add(run), time.Now().Add(eventually)
	covered := func(s actorpool.Stats) bool {
		return s.RetiredLifetime() > 0 && s.FailedPings()+s.FailedValidations() > 0 && s.DialErrors() > 0
	}
	steps := 0
	for s := f.p.Stats(); time.Now().Before(deadline) || (!covered(s) && time.Now().Before(last)); s = f.p.Stats() {
		requireStatsAddUp(t, s)
		require.GreaterOrEqual(t, s.Total(), minConns, "%+v", s)
		require.Zero(t, f.b.Violations())
		steps++
	}
	close(stop)
	wg.Wait()
	f.b.FailDialsAtRandom(0)
	f.b.FailPingsAtRandom(0)
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.Leased() == 0 && s.Dialing() == 0 && s.Total() >= minConns && s.Total() <= maxConns
	}, eventually, time.Millisecond)

	s := f.p.Stats()
	t.Logf("%d steps, %d leases, %d unavailable; retired idle %d, lifetime %d; failed pings %d, validations %d; dial errors %d; circuit opens %d",
		steps, ok.Load(), unavailable.Load(), s.RetiredIdle(), s.RetiredLifetime(), s.FailedPings(), s.FailedValidations(),
		s.DialErrors(), s.CircuitOpens())
	assert.Greater(t, ok.Load(), int64(100))
	assert.Positive(t, s.RetiredLifetime())
	assert.Positive(t, s.FailedPings()+s.FailedValidations())
	assert.Positive(t, s.DialErrors())
	assert.Zero(t, f.b.Violations())
}
