package actorpool_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
)

// A connection the pool lets go keeps its room under MaxConns until its
// actor has closed it; then a caller waiting for that room gets a new
// connection at once, not after its AcquireTimeout.
func TestAWaiterGetsTheRoomOfARetiredConnectionOnceItIsClosed(t *testing.T) {
	const closing = 300 * time.Millisecond
	f := newFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1, AcquireTimeout: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	l := f.acquire(t)
	waiter := f.acquireLater(ctx)
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, time.Millisecond)

	// The held connection is retired when it comes back (MaxConns 0), and
	// its close takes a while; the limit is back up before it is closed.
	f.b.DelayCloses(closing)
	require.NoError(t, f.p.SetLimits(ctx, 0, 0))
	require.NoError(t, l.Release())
	require.NoError(t, f.p.SetLimits(ctx, 0, 1))
	// The broker has applied both limits; a connection actor it spawned
	// would be counted in Total already.
	assert.Equal(t, 0, f.b.Closes(), "the retired connection is still closing")
	assert.Zero(t, f.p.Stats().Total(), "nothing is spawned in the room of a connection still closing")

	assert.NoError(t, recv(t, waiter), "the waiter got a connection in the retired one's room")
	assert.Equal(t, 2, f.b.Dials())
	assert.Equal(t, 0, f.b.Violations())
	f.b.DelayCloses(0)
}
