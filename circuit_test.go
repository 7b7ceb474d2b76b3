package actorpool_test

// The circuit: what the pool does while no connection is alive and dials
// fail, and when the backend comes back.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/actors"
	"github.com/actorpool/actorpool/backends/membackend"
)

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
