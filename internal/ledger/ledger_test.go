package ledger

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestLedger returns a ledger of up to maxConns connections whose
// broker is an actor that drops every message, with n idle connections.
func newTestLedger(t *testing.T, maxConns, n int) (*Ledger[int], []*Slot[int]) {
	t.Helper()
	return newLedgerFor(t, func(actor.Context) {}, maxConns, n)
}

// nudge is the test ledgers' Config.Nudge.
type nudge struct{}

// newLedgerFor is newTestLedger with a broker, also the connections'
// actor, that runs receive on every message.
func newLedgerFor(t *testing.T, receive actor.ReceiveFunc, maxConns, n int) (*Ledger[int], []*Slot[int]) {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	sink := sys.Root.Spawn(actor.PropsFromFunc(receive))
	t.Cleanup(func() { _ = sys.Root.StopFuture(sink).Wait() })
	l := New(Config[int]{
		Logger: slog.New(slog.DiscardHandler), Nudge: &nudge{},
		NeedsReset: func(int) bool { return false }, // clean releases go straight back
	}, 0, maxConns)
	l.Bind(sys.Root, sink)
	var slots []*Slot[int]
	for i := range n {
		s := NewSlot(l, sink, uint64(i+1), i, struct{}{}, func(*Slot[int]) any { return nil })
		require.Equal(t, 1, l.ReserveOne())
		retire, _ := l.Add(s)
		require.False(t, retire)
		slots = append(slots, s)
	}
	return l, slots
}

// recv waits for one result, at most a second.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Second):
		t.Fatal("no result within a second")
		panic("unreachable")
	}
}

type result struct {
	s   *Slot[int]
	gen uint64
	err error
}

func acquire(l *Ledger[int], ctx context.Context, timeout time.Duration) <-chan result {
	ch := make(chan result, 1)
	go func() {
		s, gen, err := l.Acquire(ctx, timeout, nil)
		ch <- result{s, gen, err}
	}()
	return ch
}

// waitFor polls until n callers are in line.
func waitFor(t *testing.T, l *Ledger[int], n int) {
	t.Helper()
	require.Eventually(t, func() bool { return l.Stats().Waiting == n }, time.Second, time.Millisecond)
}

func TestAReleasedConnectionGoesToTheOldestWaiterNotToTheStack(t *testing.T) {
	l, _ := newTestLedger(t, 1, 1)
	s, gen, err := l.Acquire(context.Background(), time.Minute, nil)
	require.NoError(t, err)

	first := acquire(l, context.Background(), time.Minute)
	waitFor(t, l, 1)
	second := acquire(l, context.Background(), time.Minute)
	waitFor(t, l, 2)

	require.NoError(t, l.End(s, gen, false, nil))
	got := recv(t, first)
	require.NoError(t, got.err)
	assert.Same(t, s, got.s, "the oldest waiter gets it")
	st := l.Stats()
	assert.Equal(t, 0, st.Idle, "the connection never reached the stack")
	assert.Equal(t, 1, st.Waiting)

	require.NoError(t, l.End(got.s, got.gen, false, nil))
	got = recv(t, second)
	require.NoError(t, got.err)
	require.NoError(t, l.End(got.s, got.gen, false, nil))
	assert.ErrorIs(t, l.End(got.s, got.gen, false, nil), ErrLeaseReleased, "a lease ends once")
}

func TestAWaiterThatGaveUpIsNeverGranted(t *testing.T) {
	l, _ := newTestLedger(t, 1, 1)
	s, gen, err := l.Acquire(context.Background(), time.Minute, nil)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	gone := acquire(l, ctx, time.Minute)
	waitFor(t, l, 1)
	cancel()
	assert.ErrorIs(t, recv(t, gone).err, context.Canceled)
	assert.ErrorIs(t, recv(t, acquire(l, context.Background(), 5*time.Millisecond)).err, ErrAcquireTimeout)
	assert.Equal(t, uint64(1), l.Stats().Timeouts)

	require.NoError(t, l.End(s, gen, false, nil))
	st := l.Stats()
	assert.Equal(t, 1, st.Idle, "nobody waits: the connection is idle")
	assert.Equal(t, 0, st.Waiting)
	assert.Equal(t, st.Total, st.Idle+st.Leased+st.Dialing)
}

func TestTheCircuitFailsTheLineAndLaterAcquiresFast(t *testing.T) {
	l, _ := newTestLedger(t, 1, 1)
	s, gen, err := l.Acquire(context.Background(), time.Minute, nil)
	require.NoError(t, err)
	waiter := acquire(l, context.Background(), time.Minute)
	waitFor(t, l, 1)

	dial := errors.New("connection refused")
	l.SetCircuit(errors.Join(ErrBackendUnavailable, dial), dial)
	assert.ErrorIs(t, recv(t, waiter).err, ErrBackendUnavailable)
	_, _, err = l.Acquire(context.Background(), time.Minute, nil)
	assert.ErrorIs(t, err, dial)
	assert.Equal(t, uint64(2), l.Stats().FailedFast)

	l.Close()
	_, _, err = l.Acquire(context.Background(), time.Minute, nil)
	assert.ErrorIs(t, err, ErrPoolClosed, "closed comes first")
	require.NoError(t, l.End(s, gen, false, nil))
}

// A pooled request's timer may still be set for an earlier wait when the
// request waits again: it must then time out at its new deadline, never at
// the old one.
func TestAReusedRequestTimesOutAtItsOwnDeadline(t *testing.T) {
	l, _ := newTestLedger(t, 1, 1)
	s, gen, err := l.Acquire(context.Background(), time.Minute, nil)
	require.NoError(t, err)
	const timeout = 60 * time.Millisecond

	first := acquire(l, context.Background(), timeout)
	waitFor(t, l, 1)
	require.NoError(t, l.End(s, gen, false, nil)) // answered long before its deadline
	got := recv(t, first)
	require.NoError(t, got.err)

	time.Sleep(timeout / 2) // the first wait's timer is due halfway through the next
	start := time.Now()
	second := acquire(l, context.Background(), timeout)
	assert.ErrorIs(t, recv(t, second).err, ErrAcquireTimeout)
	assert.GreaterOrEqual(t, time.Since(start), timeout, "timed out at an earlier wait's deadline")
	require.NoError(t, l.End(got.s, got.gen, false, nil))
}

// Once closed, a connection its actor forgets (a lease marked broken, a
// failed ping) nudges the broker, which checks then whether Close may end:
// Close's wait does not depend on any other message.
func TestOnceClosedAConnectionItsActorForgetsNudgesTheBroker(t *testing.T) {
	nudges := make(chan struct{}, 4)
	l, _ := newLedgerFor(t, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*nudge); ok {
			nudges <- struct{}{}
		}
	}, 2, 2)
	s, gen, err := l.Acquire(context.Background(), time.Minute, nil)
	require.NoError(t, err)
	_, ping, _ := l.Sweep(time.Now(), func(*Slot[int], bool, bool) Verdict { return Ping })
	require.Len(t, ping, 1, "the idle connection goes for a ping")
	require.NotSame(t, s, ping[0])

	l.Close()
	require.NoError(t, l.End(s, gen, true, errors.New("broken")))
	assert.False(t, l.Drained(), "a broken lease's connection is with its actor")
	l.Lost(s, false)
	recv(t, nudges)
	assert.False(t, l.Drained(), "a connection is out for a ping")

	assert.Empty(t, l.Nudged(), "the broker took the nudge")
	l.Pinged(ping[0], false, errors.New("ping failed"))
	recv(t, nudges)
	assert.True(t, l.Drained())
	l.Nudged() // the broker takes the nudge
	l.Lost(s, false)
	l.lock()
	nudged := l.nudged
	l.mu.Unlock()
	assert.False(t, nudged, "a connection already gone nudged the broker")
}
