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
	"github.com/actorpool/actorpool/actors"
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

func TestWhileNoConnectionIsAliveOneActorProbesAtATimeAndTheRefillIsBounded(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{
		MinConns: 6, MaxConns: 6, KeepaliveInterval: time.Millisecond,
		BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond,
	}))
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 6 }, eventually, time.Millisecond)

	f.b.FailDials(nil)
	f.b.DelayDials(2 * time.Millisecond)
	for _, c := range f.b.Conns() {
		c.Break()
	}
	require.Eventually(t, func() bool { return f.p.Stats().CircuitOpens() == 1 }, eventually, time.Millisecond)
	// The supervisor sees the last connection go a moment after the
	// broker does, and dials started before that end within 2 ms. After a
	// few more failed dials, and from a moment with none under way, only
	// probes dial.
	failed := f.b.DialErrors()
	require.Eventually(t, func() bool { return f.b.DialErrors() >= failed+6 }, eventually, time.Millisecond)
	require.Eventually(t, func() bool { return f.b.DialsInFlight() == 0 }, eventually, 100*time.Microsecond)
	f.b.ResetPeakDials()
	failed = f.b.DialErrors()
	require.Eventually(t, func() bool { return f.b.DialErrors() >= failed+5 }, eventually, time.Millisecond)
	assert.Equal(t, 1, f.b.PeakDialsInFlight(), "one probe at a time while the circuit is open")

	f.b.ResetPeakDials()
	f.b.Heal()
	f.b.DelayDials(2 * time.Millisecond)
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 6 }, eventually, time.Millisecond)
	assert.LessOrEqual(t, f.b.PeakDialsInFlight(), actors.RefillDials, "the refill is bounded")
	s := f.p.Stats()
	requireStatsAddUp(t, s)
	assert.Equal(t, uint64(1), s.CircuitOpens())
	assert.Equal(t, uint64(6), s.FailedPings())
}

func TestTheCircuitOpensFastWhenTheBackendGoesAndClosesWhenItComesBack(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, lifecycleOff(actorpool.Config{
		MinConns: 2, MaxConns: 4, KeepaliveInterval: 5 * time.Millisecond,
		BackoffMin: time.Millisecond, BackoffMax: 20 * time.Millisecond, Logger: slog.New(rec),
	}))
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 2 }, eventually, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()

	down := time.Now()
	f.b.FailDials(nil)
	for _, c := range f.b.Conns() {
		c.Break()
	}
	var err error
	for {
		var l actorpool.Lease[*membackend.Conn]
		if l, err = f.p.Acquire(ctx); err != nil {
			break
		}
		_ = l.MarkBroken(l.Conn().Do()) // a caller that got a dead connection before the pool noticed
	}
	// Fast: the loop ended with the backend's error, not with ctx's
	// deadline or the pool's AcquireTimeout.
	t.Logf("time to fail fast: %s", time.Since(down))
	require.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
	require.ErrorIs(t, err, membackend.ErrDialRefused)
	s := f.p.Stats()
	require.True(t, s.CircuitOpen())
	opened := time.Now() // the circuit opened before this
	assert.Equal(t, uint64(1), s.CircuitOpens())

	_, err = f.p.Acquire(ctx)
	require.ErrorIs(t, err, actorpool.ErrBackendUnavailable, "while open, Acquire fails at once, not at its deadline")
	assert.Equal(t, s.FailedFast()+1, f.p.Stats().FailedFast())
	failed := f.b.DialErrors()
	require.Eventually(t, func() bool { return f.b.DialErrors() >= failed+2 }, eventually, time.Millisecond,
		"the probe redials while the circuit is open")

	up := time.Now() // the circuit closes after this
	f.b.Heal()
	require.Eventually(t, func() bool {
		l, err := f.p.Acquire(ctx)
		return err == nil && l.Release() == nil
	}, eventually, 100*time.Microsecond, "the pool recovers by itself")
	t.Logf("time to recover: %s", time.Since(up))
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 2 }, eventually, time.Millisecond)
	assert.Equal(t, uint64(1), f.p.Stats().CircuitOpens())

	// Once down, once back, each said once, at a level a service logs.
	down2 := rec.find(slog.LevelWarn, "backend unavailable")
	require.Len(t, down2, 1)
	assert.Contains(t, attr(down2[0], "err"), membackend.ErrDialRefused.Error())
	back := rec.find(slog.LevelInfo, "backend available again")
	require.Len(t, back, 1)
	downFor, err := time.ParseDuration(attr(back[0], "down_for"))
	require.NoError(t, err)
	// Rounded to the millisecond: at most half a millisecond short of the
	// time the test saw the circuit open, and no longer than the test took.
	assert.GreaterOrEqual(t, downFor, up.Sub(opened)-time.Millisecond/2, "down for at least as long as the test saw it down")
	assert.LessOrEqual(t, downFor, time.Since(down)+time.Millisecond, "down for no longer than the test took")
}

func TestDialFailureRecordsSayWhenTheActorRedialsOrThatItWaitsForTheProbe(t *testing.T) {
	rec := &recorder{}
	newFixture(t, lifecycleOff(actorpool.Config{
		MinConns: 3, MaxConns: 3, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, Logger: slog.New(rec),
	}), func(b *membackend.Backend) { b.FailDials(nil) })
	require.Eventually(t, func() bool { return len(rec.find(slog.LevelDebug, "waiting for the probe")) > 0 }, eventually, time.Millisecond,
		"a child that fails while another one probes waits for the probe")
	require.Eventually(t, func() bool { return len(rec.find(slog.LevelDebug, "dial failed")) >= 10 }, eventually, time.Millisecond)

	var scheduled, parked int
	for _, r := range rec.find(slog.LevelDebug, "dial failed") {
		retryIn := attr(r, "retry_in")
		switch {
		case strings.Contains(r.Message, "waiting for the probe"):
			parked++
			assert.Empty(t, retryIn, "a parked child schedules no redial, so its record gives no delay")
		default:
			scheduled++
			d, err := time.ParseDuration(retryIn)
			require.NoError(t, err, "record %q has no retry_in", r.Message)
			assert.Positive(t, d, "a scheduled redial is after a delay")
		}
		assert.Contains(t, attr(r, "err"), membackend.ErrDialRefused.Error())
	}
	// The first failure opens the circuit and makes its actor the probe;
	// the other two fail while it probes, park, and dial no more.
	assert.Equal(t, 2, parked, "each actor but the probe parks once")
	assert.GreaterOrEqual(t, scheduled, 8, "the probe keeps redialling")
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

	deadline := time.Now().Add(run)
	steps := 0
	for time.Now().Before(deadline) {
		s := f.p.Stats()
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

func TestClosingWhileRedialTimersFireSendsNothingToTheStoppedSupervisor(t *testing.T) {
	// Dials fail and redial timers fire every few hundred microseconds
	// while the pool closes; a timer that fired just as the supervisor
	// stopped must not send to it afterwards (the fixture fails on a dead
	// letter to the pool's actors).
	for i := range 30 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			f := newFixture(t, lifecycleOff(actorpool.Config{
				MinConns: 4, MaxConns: 4, BackoffMin: 100 * time.Microsecond, BackoffMax: 300 * time.Microsecond,
			}), func(b *membackend.Backend) { b.FailDials(nil) })
			require.Eventually(t, func() bool { return f.b.DialErrors() >= 8 }, eventually, 100*time.Microsecond)
		})
	}
}

// The last live connection goes (here: past MaxLifetime when its lease
// ends) while the last dial failed: the circuit opens and the caller
// already in line fails fast, instead of waiting for AcquireTimeout.
func TestRetiringTheLastLiveConnectionAfterAFailedDialFailsTheLineFast(t *testing.T) {
	const lifetime = 20 * time.Millisecond
	f := newFixture(t, lifecycleOff(actorpool.Config{
		MaxConns: 2, MaxLifetime: lifetime, AcquireTimeout: time.Minute,
		BackoffMin: time.Minute, BackoffMax: time.Minute,
	}))
	held := f.acquire(t)
	// The maintenance tick marks a leased connection past its lifetime
	// as expired, and its release retires it. A witness dialled later
	// than held by more than the lifetime's jitter (up to a tenth) reaches
	// its lifetime no sooner than held: the tick that finds the witness
	// expired marks held too. The sleep is that lower bound on the time
	// between the two dials.
	time.Sleep(lifetime/10 + time.Millisecond)
	witness := f.acquire(t)
	require.NotEqual(t, held.Conn(), witness.Conn())
	require.NoError(t, witness.Release())
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.RetiredLifetime() == 1 && s.Total() == 1
	}, eventually, time.Millisecond, "the idle witness is retired at its lifetime")
	f.b.FailDials(errors.New("connection refused"))

	waiter := f.acquireLater(context.Background())
	// The waiter asks for a second connection, whose dial fails while the
	// held one is alive: no circuit yet.
	require.Eventually(t, func() bool { return f.p.Stats().DialErrors() >= 1 }, eventually, time.Millisecond)
	assert.Zero(t, f.p.Stats().CircuitOpens())
	require.NoError(t, held.Release())

	err := recv(t, waiter)
	assert.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
	assert.ErrorContains(t, err, "connection refused")
	assert.Equal(t, uint64(1), f.p.Stats().CircuitOpens())
	assert.Equal(t, uint64(2), f.p.Stats().RetiredLifetime(), "the witness, then held")
	f.b.Heal()
}
