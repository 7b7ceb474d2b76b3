package actorpool_test

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
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// newDuplexFixture starts a pool whose backend splits its connections in
// command mode (backends.Duplexer).
func newDuplexFixture(t *testing.T, cfg actorpool.Config) *fixture {
	t.Helper()
	b := membackend.New()
	return newFixtureOver(t, b.Duplexed(), b, cfg)
}

// doAsync runs an in-memory command on a goroutine of its own; its result
// arrives on the returned channel.
func doAsync(ctx context.Context, p *memPool, fn func(*membackend.Conn) error) <-chan result {
	ch := make(chan result, 1)
	go func() {
		cmd, err := do(ctx, p, fn)
		ch <- result{cmd, err}
	}()
	return ch
}

type result struct {
	cmd *membackend.Command
	err error
}

// A split connection takes the next batch while the replies to the last
// are on their way: work sent behind a slow round trip is written before
// that round trip ends, on the same connection, and runs after it.
func TestDuplexWritesTheNextBatchWhileTheLastIsInFlight(t *testing.T) {
	f := newDuplexFixture(t, actorpool.Config{MaxConns: 1})
	ctx := testCtx(t)
	gate := make(chan struct{})
	var mu sync.Mutex
	var order []int
	ran := func(i int) {
		mu.Lock()
		order = append(order, i)
		mu.Unlock()
	}
	first := doAsync(ctx, f.p, func(*membackend.Conn) error { <-gate; ran(1); return nil })
	require.Eventually(t, func() bool { return f.b.Sent() == 1 }, eventually, time.Millisecond)
	second := doAsync(ctx, f.p, func(*membackend.Conn) error { ran(2); return nil })
	require.Eventually(t, func() bool { return f.b.Sent() == 2 }, eventually, time.Millisecond,
		"the second command is written while the first one's reply is awaited")
	select {
	case <-first:
		t.Fatal("the first command returned before its round trip ended")
	default:
	}
	close(gate)
	a, b := recv(t, first), recv(t, second)
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	assert.Same(t, a.cmd.Conn, b.cmd.Conn, "both went over the one connection")
	assert.Equal(t, []int{1, 2}, order, "replies are read in the order written")
}

// Work waits in the queue only while a connection has as many batches in
// flight as it takes (16); a caller that leaves then has its work dropped,
// never written.
func TestDuplexWorkQueuedWhenItsCallerLeftIsNeverWritten(t *testing.T) {
	const flights = 16 // the pump's bound on batches in flight per connection
	f := newDuplexFixture(t, actorpool.Config{MaxConns: 1})
	ctx := testCtx(t)
	gate := make(chan struct{})
	var inFlight []<-chan result
	for i := range flights {
		inFlight = append(inFlight, doAsync(ctx, f.p, func(*membackend.Conn) error { <-gate; return nil }))
		require.Eventually(t, func() bool { return f.b.Sent() == i+1 }, eventually, time.Millisecond)
	}
	leaving, leave := context.WithCancel(ctx)
	var ran atomic.Bool
	queued := doAsync(leaving, f.p, func(*membackend.Conn) error { ran.Store(true); return nil })
	require.Eventually(t, func() bool { return f.p.Stats().CommandsInFlight() == flights+1 }, eventually, time.Millisecond)
	leave()
	assert.ErrorIs(t, recv(t, queued).err, context.Canceled)
	close(gate)
	for _, ch := range inFlight {
		assert.NoError(t, recv(t, ch).err)
	}
	require.Eventually(t, func() bool { return f.p.Stats().CommandsInFlight() == 0 }, eventually, time.Millisecond)
	assert.Equal(t, flights, f.b.Sent(), "the work whose caller left was never written")
	assert.False(t, ran.Load(), "the work whose caller left never ran")
}

// When the connection breaks, every caller whose work was written and not
// yet answered gets the connection's error (the work may have run), and
// the connection is replaced; work sent after runs on the new one.
func TestDuplexBrokenConnectionFailsWhatIsInFlight(t *testing.T) {
	f := newDuplexFixture(t, actorpool.Config{MaxConns: 1})
	ctx := testCtx(t)
	gate := make(chan struct{})
	var broken *membackend.Conn
	first := doAsync(ctx, f.p, func(c *membackend.Conn) error { <-gate; broken = c; c.Break(); return nil })
	require.Eventually(t, func() bool { return f.b.Sent() == 1 }, eventually, time.Millisecond)
	behind := doAsync(ctx, f.p, nil)
	require.Eventually(t, func() bool { return f.b.Sent() == 2 }, eventually, time.Millisecond)
	close(gate)
	assert.ErrorIs(t, recv(t, first).err, membackend.ErrBroken, "the command whose round trip broke")
	assert.ErrorIs(t, recv(t, behind).err, membackend.ErrBroken, "the command written behind it")
	require.Eventually(t, func() bool { return f.p.Stats().Restarts() >= 1 }, eventually, time.Millisecond,
		"the broken connection is replaced")
	cmd, err := do(ctx, f.p, nil)
	require.NoError(t, err)
	assert.NotSame(t, broken, cmd.Conn, "later work runs on the new connection")
	assert.True(t, broken.Closed(), "the broken connection is closed")
}

// When command mode gives a connection back, the connection is whole
// again: a lease holds it alone (a second holder counts a violation, which
// the fixture checks at Close).
func TestDuplexGivesTheConnectionBackWhole(t *testing.T) {
	f := newDuplexFixture(t, actorpool.Config{MaxConns: 1})
	ctx := testCtx(t)
	cmd, err := do(ctx, f.p, nil)
	require.NoError(t, err)
	l := f.acquire(t) // waits until command mode gives the one connection back
	c := l.Conn()
	assert.Same(t, cmd.Conn, c)
	require.NoError(t, c.Hold(7), "the lease holds the connection alone")
	c.Unhold(7)
	require.NoError(t, l.Release())
	cmd, err = do(ctx, f.p, nil)
	require.NoError(t, err, "command mode takes it again")
	assert.Same(t, c, cmd.Conn)
}

// Close answers every caller whose work is in flight with its reply, and
// closes every connection (the fixture checks that none is left open).
func TestDuplexCloseAnswersWhatIsInFlight(t *testing.T) {
	f := newDuplexFixture(t, actorpool.Config{MaxConns: 2})
	ctx := testCtx(t)
	gate := make(chan struct{})
	var calls []<-chan result
	for i := range 6 {
		calls = append(calls, doAsync(ctx, f.p, func(*membackend.Conn) error { <-gate; return nil }))
		require.Eventually(t, func() bool { return f.b.Sent() == i+1 }, eventually, time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- f.p.Close(ctx) }()
	require.Eventually(t, func() bool {
		probe, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		defer cancel()
		_, err := do(probe, f.p, nil)
		return errors.Is(err, actorpool.ErrPoolClosed)
	}, eventually, time.Millisecond, "Close stops new work")
	close(gate)
	for _, ch := range calls {
		assert.NoError(t, recv(t, ch).err, "work in flight at Close gets its reply")
	}
	require.NoError(t, recv(t, closed))
}

// Command mode on a Duplexer serves from one connection, however full its
// batches: so every caller's commands reach the server in the order sent,
// even one it left in flight before it sent the next (on two connections
// the next could overtake it).
func TestDuplexServesFromOneConnectionSoEachCallersCommandsStayInOrder(t *testing.T) {
	f := newDuplexFixture(t, actorpool.Config{MaxConns: 4, MaxBatch: 2})
	f.b.DelayPipelines(time.Millisecond)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ran := map[int][]int{} // caller: the sequence numbers of its commands, in the order they ran
	for c := range 16 {
		wg.Go(func() {
			for n := range 40 {
				callCtx, cancel := ctx, context.CancelFunc(func() {})
				if n%4 == 3 {
					callCtx, cancel = context.WithTimeout(ctx, 100*time.Microsecond) // often left in flight
				}
				_, err := do(callCtx, f.p, func(*membackend.Conn) error {
					mu.Lock()
					ran[c] = append(ran[c], n)
					mu.Unlock()
					return nil
				})
				cancel()
				if err != nil {
					assert.ErrorIs(t, err, context.DeadlineExceeded)
				}
			}
		})
	}
	most := 0
	finished := waitGroupDone(&wg)
	for done := false; !done; {
		most = max(most, f.p.Stats().CommandConns())
		select {
		case <-time.After(time.Millisecond):
		case <-finished:
			done = true
		}
	}
	assert.Equal(t, 1, most, "connections serving command mode at once")
	require.Eventually(t, func() bool { return f.p.Stats().CommandsInFlight() == 0 }, eventually, time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for c, seq := range ran {
		assert.IsIncreasing(t, seq, "caller %d's commands ran out of the order sent", c)
	}
}

// waitGroupDone is closed once wg is done.
func waitGroupDone(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}

// A connection's pump runs only while command mode serves on it: a pool
// only ever leased has no goroutine of it, and the goroutines end when
// command mode gives the connection back, and start again with it.
func TestDuplexRunsItsGoroutinesOnlyWhileCommandModeServes(t *testing.T) {
	f := newDuplexFixture(t, actorpool.Config{MinConns: 2, MaxConns: 2})
	ctx := testCtx(t)
	a, b := f.acquire(t), f.acquire(t)
	require.NoError(t, a.Release())
	require.NoError(t, b.Release())
	assert.Zero(t, pumpGoroutines(), "leased connections run no pump")

	_, err := do(ctx, f.p, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, pumpGoroutines(), "command mode's connection runs its writer and reader")

	a, b = f.acquire(t), f.acquire(t) // command mode gives its connection back
	require.Eventually(t, func() bool { return pumpGoroutines() == 0 }, eventually, time.Millisecond,
		"the pump's goroutines end with command mode")
	require.NoError(t, a.Release())
	require.NoError(t, b.Release())

	_, err = do(ctx, f.p, nil)
	require.NoError(t, err, "command mode starts them again")
	assert.Equal(t, 2, pumpGoroutines())
}

// pumpGoroutines counts the goroutines running a command-mode pump.
func pumpGoroutines() int {
	n := 0
	for _, g := range pooltest.Goroutines() {
		if strings.Contains(g, "actors.(*pump).runWriter(") || strings.Contains(g, "actors.(*pump).runReader(") {
			n++
		}
	}
	return n
}
