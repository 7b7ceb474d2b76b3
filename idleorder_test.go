package actorpool_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

// lendOrder returns the connections lent, one lease at a time, after three
// connections were given back in the order they were dialled.
func lendOrder(t *testing.T, order actorpool.IdleOrder) (returned, lent []uint64) {
	f := newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 3, IdleOrder: order}))
	var ls []actorpool.Lease[*membackend.Conn]
	for range 3 {
		ls = append(ls, f.acquire(t))
	}
	for _, l := range ls {
		returned = append(returned, l.ID())
		require.NoError(t, l.Release())
	}
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 3 }, eventually, time.Millisecond)
	for range 4 {
		l := f.acquire(t)
		lent = append(lent, l.ID())
		require.NoError(t, l.Release())
	}
	return returned, lent
}

func TestLIFOLendsTheMostRecentlyUsedConnection(t *testing.T) {
	returned, lent := lendOrder(t, actorpool.LIFO)
	last := returned[2]
	assert.Equal(t, []uint64{last, last, last, last}, lent)
}

func TestFIFOLendsTheConnectionIdleLongest(t *testing.T) {
	returned, lent := lendOrder(t, actorpool.FIFO)
	assert.Equal(t, []uint64{returned[0], returned[1], returned[2], returned[0]}, lent)
}

func TestAnUnknownIdleOrderIsInvalid(t *testing.T) {
	f := newFixture(t, actorpool.Config{})
	_, err := actorpool.New(f.sys, f.b, actorpool.Config{IdleOrder: 7})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
}
