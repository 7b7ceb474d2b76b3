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

func TestSetLimitsGrowsAtOnceAndShrinksIdleFirstThenLeasedOnReturn(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 2}))
	require.NoError(t, f.p.SetLimits(context.Background(), 4, 6))
	s := f.p.Stats()
	assert.Equal(t, 4, s.MinConns())
	assert.Equal(t, 6, s.MaxConns())
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 4 }, eventually, time.Millisecond)

	var ls []actorpool.Lease[*membackend.Conn]
	for range 3 {
		ls = append(ls, f.acquire(t))
	}
	require.NoError(t, f.p.SetLimits(context.Background(), 0, 2))
	s = f.p.Stats()
	assert.Equal(t, s.Total(), s.Idle()+s.Leased()+s.Dialing())
	assert.Equal(t, 3, s.Total(), "the idle connection went at once; leased ones are not cut: %+v", s)
	assert.Equal(t, 3, s.Leased())
	for _, l := range ls {
		assert.True(t, l.Valid())
	}
	require.NoError(t, ls[0].Release())
	require.Eventually(t, func() bool { return f.p.Stats().Total() == 2 }, eventually, time.Millisecond)
	require.NoError(t, ls[1].Release())
	require.NoError(t, ls[2].Release())
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.Total() == 2 && s.Idle() == 2
	}, eventually, time.Millisecond)
	// The retired actor closes its connection after the broker counted it
	// out of Total.
	require.Eventually(t, func() bool { return f.b.Live() == 2 }, eventually, time.Millisecond,
		"the connection above the new maximum is closed on the backend")
}

func TestSetLimitsStopsActorsWaitingToRedialAboveTheNewMaximum(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{
		MinConns: 4, MaxConns: 4, KeepaliveInterval: time.Millisecond,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
	}))
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 4 }, eventually, time.Millisecond)
	f.b.FailDials(nil)
	for _, c := range f.b.Conns() {
		c.Break()
	}
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.CircuitOpens() == 1 && s.Dialing() == 4
	}, eventually, time.Millisecond)
	require.NoError(t, f.p.SetLimits(context.Background(), 0, 1))
	require.Eventually(t, func() bool { return f.p.Stats().Total() == 1 }, eventually, time.Millisecond,
		"actors without a connection above MaxConns are stopped")
	f.b.Heal()
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.Idle() == 1 && s.Total() == 1
	}, eventually, time.Millisecond)
	l := f.acquire(t)
	require.NoError(t, l.Release())
}

func TestSetLimitsRejectsBadLimitsAndAClosedPool(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 2})
	for _, lim := range [][2]int{{-1, 2}, {3, 2}, {1, 0}, {0, -1}} {
		err := f.p.SetLimits(context.Background(), lim[0], lim[1])
		assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "limits %v", lim)
	}
	s := f.p.Stats()
	assert.Equal(t, 0, s.MinConns())
	assert.Equal(t, 2, s.MaxConns())
	require.NoError(t, f.p.Close(context.Background()))
	assert.ErrorIs(t, f.p.SetLimits(context.Background(), 1, 2), actorpool.ErrPoolClosed)
}

func TestAPoolAtMaxConnsZeroClosesEverythingAndItsCallersWaitForAHigherLimit(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MinConns: 1, MaxConns: 3, AcquireTimeout: 10 * time.Second}))
	held := f.acquire(t)
	require.NoError(t, f.p.SetLimits(context.Background(), 0, 0))
	require.Eventually(t, func() bool { return f.b.Live() == 1 }, eventually, time.Millisecond,
		"idle connections go at once; the leased one stays with its holder")
	require.NoError(t, held.Release())
	require.Eventually(t, func() bool { return f.b.Live() == 0 && f.p.Stats().Total() == 0 }, eventually, time.Millisecond,
		"the released connection is retired, not put back")

	got := queue(t, f, 1)
	assert.Zero(t, f.b.Live(), "nothing is dialled at MaxConns 0")
	require.NoError(t, f.p.SetLimits(context.Background(), 0, 1))
	assert.NoError(t, recv(t, got), "the waiter is served once the limit rises")
}

func TestLoadIsLeasedPlusWaitingAndMaxConns(t *testing.T) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1}))
	held := f.acquire(t)
	waiter := queue(t, f, 1)
	outstanding, maxConns := f.p.Load()
	s := f.p.Stats()
	assert.Equal(t, []int{2, 1}, []int{outstanding, maxConns}, "one lease out, one caller waiting")
	assert.Equal(t, s.Leased()+s.Waiting(), outstanding)
	require.NoError(t, held.Release())
	require.NoError(t, recv(t, waiter))
}
