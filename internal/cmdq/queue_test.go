package cmdq_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/internal/cmdq"
)

// line is a queue with a connection that records what it writes. A write
// waits while gate is set, until gate is closed.
type line struct {
	q     *cmdq.Queue
	set   *cmdq.Set
	pokes atomic.Int32

	mu      sync.Mutex
	written [][]any
	gate    chan struct{}
	err     error // what the next writes return
}

func newLine(t *testing.T) *line {
	l := &line{}
	l.set = cmdq.NewSet(func() {})
	l.q = cmdq.NewQueue(func() { l.pokes.Add(1) }, l.set)
	l.q.Write = func(work []any) error {
		l.mu.Lock()
		l.written = append(l.written, append([]any(nil), work...))
		gate, err := l.gate, l.err
		l.mu.Unlock()
		if gate != nil {
			<-gate
		}
		return err
	}
	l.q.Open(1)
	t.Cleanup(func() { l.release() })
	return l
}

// hold makes the next writes wait until release.
func (l *line) hold() {
	l.mu.Lock()
	l.gate = make(chan struct{})
	l.mu.Unlock()
}

func (l *line) release() {
	l.mu.Lock()
	if l.gate != nil {
		close(l.gate)
		l.gate = nil
	}
	l.mu.Unlock()
}

func (l *line) writes() [][]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][]any(nil), l.written...)
}

// wait waits for o's answer.
func wait(t *testing.T, o *cmdq.Op) error {
	t.Helper()
	select {
	case <-o.Done():
		return o.Err()
	case <-time.After(eventually):
		t.Fatal("no answer")
		return nil
	}
}

func TestAnIdleQueueWritesAnOpWhoseCtxCannotEndOnItsCallersGoroutine(t *testing.T) {
	l := newLine(t)
	o := cmdq.Get(context.Background(), "a", 1)
	require.True(t, l.q.Push(o))
	assert.True(t, answered(o), "answered when Push returns")
	assert.NoError(t, o.Err())
	assert.Equal(t, [][]any{{"a"}}, l.writes())
	assert.Zero(t, l.q.Pending())
	assert.Equal(t, uint64(1), l.set.Commands.Load())
	assert.Equal(t, uint64(1), l.set.Batches.Load())
	assert.Zero(t, l.pokes.Load(), "nothing for the actor to do")
}

func TestAnIdleQueueWritesAnOpWhoseCtxCanEndOnAGoroutineOfItsOwn(t *testing.T) {
	l := newLine(t)
	l.hold()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := cmdq.Get(ctx, "a", 1)
	require.True(t, l.q.Push(o), "Push returns while the write waits for its reply")
	require.Eventually(t, func() bool { return len(l.writes()) == 1 }, eventually, time.Millisecond)
	assert.False(t, answered(o))
	assert.Equal(t, 1, l.q.Pending())
	l.release()
	require.NoError(t, wait(t, o))
	assert.Zero(t, l.q.Pending(), "a caller with its answer is no longer pending")
	cmdq.Put(o)
}

// A caller whose ctx ends while its direct write is in flight leaves at
// once; the write's end drops the op and frees the connection.
func TestACallerLeavesItsDirectWriteInFlight(t *testing.T) {
	l := newLine(t)
	l.hold()
	ctx, cancel := context.WithCancel(context.Background())
	o := cmdq.Get(ctx, "a", 1)
	require.True(t, l.q.Push(o))
	require.Eventually(t, func() bool { return len(l.writes()) == 1 }, eventually, time.Millisecond)
	cancel()
	require.True(t, o.Abandon(), "the caller leaves without its reply")
	next := cmdq.Get(context.Background(), "b", 1)
	require.True(t, l.q.Push(next), "queued behind the write in flight")
	l.release()
	require.Eventually(t, func() bool { return l.pokes.Load() == 1 }, eventually, time.Millisecond,
		"the write's end hands the queued op to the actor")
	batch, _ := l.q.Take(nil, 10, 1<<20)
	require.Equal(t, []*cmdq.Op{next}, batch)
	assert.Equal(t, 1, l.q.Pending(), "only the queued op is pending")
}

// Ops pushed while the connection is busy wait for the actor, who is
// poked once; Take hands them over within its bounds, at least one.
func TestABusyQueueKeepsOpsForTheActor(t *testing.T) {
	l := newLine(t)
	l.hold()
	first := cmdq.Get(context.Background(), "first", 1)
	go l.q.Push(first) // written on this goroutine, held
	require.Eventually(t, func() bool { return len(l.writes()) == 1 }, eventually, time.Millisecond)
	var queued []*cmdq.Op
	for _, w := range []string{"a", "b", "c", "d"} {
		o := cmdq.Get(context.Background(), w, 10)
		require.True(t, l.q.Push(o))
		queued = append(queued, o)
	}
	assert.Equal(t, 5, l.q.Pending())
	batch, more := l.q.Take(nil, 10, 100)
	assert.Empty(t, batch, "nothing is taken while a direct write is in flight")
	assert.False(t, more)
	assert.Zero(t, l.pokes.Load(), "the direct write pokes the actor when it ends")
	l.release()
	require.NoError(t, wait(t, first))
	assert.Equal(t, int32(1), l.pokes.Load())

	batch, more = l.q.Take(nil, 3, 15) // two ops of 10 bytes pass 15: one op
	assert.Equal(t, queued[:1], batch)
	assert.True(t, more)
	for _, o := range batch {
		require.True(t, o.Claim())
	}
	again := l.q.Written(len(batch))
	assert.True(t, again, "work waits: the actor drains again")
	for _, o := range batch {
		o.Finish(nil)
	}
	batch, more = l.q.Take(nil, 2, 1<<20)
	assert.Equal(t, queued[1:3], batch, "at most maxOps")
	assert.True(t, more)
	assert.True(t, l.q.Written(len(batch)))
	batch, more = l.q.Take(nil, 2, 1)
	assert.Equal(t, queued[3:], batch, "at least one op, whatever its size")
	assert.False(t, more)
	assert.False(t, l.q.Written(len(batch)))
	assert.Zero(t, l.q.Pending())
	taken, deep := l.q.Sample()
	assert.Equal(t, uint32(1), taken, "Sample counts what was written (Wrote)")
	assert.Equal(t, uint32(2), deep, "two batches left work behind")
	taken, deep = l.q.Sample()
	assert.Zero(t, taken+deep, "Sample resets")
}

// Close stops new work; the actor writes what queued and then learns,
// once, that it may end the lease. Fail hands back what queued instead.
func TestCloseDrainsAndFailHandsBack(t *testing.T) {
	l := newLine(t)
	l.hold()
	go l.q.Push(cmdq.Get(context.Background(), "first", 1))
	require.Eventually(t, func() bool { return len(l.writes()) == 1 }, eventually, time.Millisecond)
	o := cmdq.Get(context.Background(), "a", 1)
	require.True(t, l.q.Push(o))
	l.q.Close()
	assert.False(t, l.q.Live())
	assert.False(t, l.q.Push(cmdq.Get(context.Background(), "late", 1)), "a closed queue takes no work")
	assert.False(t, l.q.Ending(), "not while work is queued or in flight")
	l.release()
	require.Eventually(t, func() bool { return l.pokes.Load() == 1 }, eventually, time.Millisecond)
	batch, _ := l.q.Take(nil, 10, 1<<20)
	require.Equal(t, []*cmdq.Op{o}, batch, "what queued before Close is still written")
	assert.False(t, l.q.Ending())
	l.q.Written(1)
	assert.True(t, l.q.Ending(), "empty and idle: the lease may end")
	assert.False(t, l.q.Ending(), "once")

	l.q.Open(2)
	assert.Equal(t, uint64(2), l.q.Gen())
	l.hold()
	go l.q.Push(cmdq.Get(context.Background(), "first", 1))
	require.Eventually(t, func() bool { return len(l.writes()) == 2 }, eventually, time.Millisecond)
	a, b := cmdq.Get(context.Background(), "a", 1), cmdq.Get(context.Background(), "b", 1)
	require.True(t, l.q.Push(a))
	require.True(t, l.q.Push(b))
	assert.Equal(t, []*cmdq.Op{a, b}, l.q.Fail())
	assert.Equal(t, 1, l.q.Pending(), "what Fail hands back is no longer pending here")
	assert.False(t, l.q.Push(cmdq.Get(context.Background(), "late", 1)))
	l.release()
	require.Eventually(t, func() bool { return l.q.Pending() == 0 }, eventually, time.Millisecond)
}

// A direct write that fails leaves the error for the actor, once, and
// pokes it.
func TestABrokenDirectWriteIsTheActorsToHandle(t *testing.T) {
	l := newLine(t)
	l.err = errReply
	o := cmdq.Get(context.Background(), "a", 1)
	require.True(t, l.q.Push(o))
	assert.ErrorIs(t, o.Err(), errReply, "the caller gets the connection's error")
	assert.Equal(t, int32(1), l.pokes.Load())
	assert.ErrorIs(t, l.q.Broken(), errReply)
	assert.NoError(t, l.q.Broken(), "once")
}

// A duplex queue never writes on the pusher's goroutine: the first push
// wakes the writer, which takes batches while earlier ones are in flight.
// Once closed, the lease may end only when nothing is queued or in flight,
// and the reader's Written of the last batch wakes the writer to end it.
func TestADuplexQueueTakesWhileBatchesAreInFlight(t *testing.T) {
	var pokes atomic.Int32
	q := cmdq.NewDuplexQueue(func() { pokes.Add(1) }, cmdq.NewSet(func() {}))
	q.Open(1)
	a, b, c := cmdq.Get(context.Background(), "a", 1), cmdq.Get(context.Background(), "b", 1), cmdq.Get(context.Background(), "c", 1)
	require.True(t, q.Push(a))
	assert.Equal(t, int32(1), pokes.Load(), "the first push wakes the writer")
	require.True(t, q.Push(b))
	assert.Equal(t, int32(1), pokes.Load(), "one wake until the writer takes")
	first, more := q.Take(nil, 10, 1<<20)
	assert.Equal(t, []*cmdq.Op{a, b}, first)
	assert.False(t, more)

	require.True(t, q.Push(c))
	assert.Equal(t, int32(2), pokes.Load(), "a push after the take wakes the writer again")
	second, _ := q.Take(nil, 10, 1<<20)
	assert.Equal(t, []*cmdq.Op{c}, second, "taken while the first batch is in flight")
	assert.Equal(t, 3, q.Pending())

	assert.False(t, q.Idle(), "open")
	q.Close()
	assert.Equal(t, int32(3), pokes.Load(), "Close wakes the writer")
	assert.False(t, q.Idle(), "closed with batches in flight: the lease has yet to end")
	none, _ := q.Take(nil, 10, 1<<20) // the writer, woken, finds nothing
	assert.Empty(t, none)
	assert.False(t, q.Ending(), "not while batches are in flight")
	assert.False(t, q.Written(len(first)))
	assert.False(t, q.Ending(), "one batch still in flight")
	wakes := pokes.Load()
	assert.False(t, q.Written(len(second)))
	assert.Equal(t, wakes+1, pokes.Load(), "the last batch's Written wakes the writer to end the lease")
	assert.False(t, q.Idle(), "closed and empty, but the lease has yet to end")
	assert.True(t, q.Ending(), "closed, empty, nothing in flight")
	assert.False(t, q.Ending(), "once")
	assert.True(t, q.Idle(), "the session is over: a leftover poke finds nothing to do")
	assert.Zero(t, q.Pending())
	taken, deep := q.Sample()
	assert.Zero(t, taken, "Wrote counts what was written; nothing was here")
	assert.Zero(t, deep)
}
