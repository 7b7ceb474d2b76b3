package actorpool_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/messages"
)

// These tests drive the pool the way an actor-based service does: through
// messages to the broker, never blocking the requesting actor's mailbox.

// job asks a worker actor to run one command on a leased connection.
type job struct{ id int }

// jobDone is the worker's answer to the actor that sent the job.
type jobDone struct {
	id     int
	connID uint64
	err    error
}

// worker leases a connection per job, asynchronously: it sends Acquire to
// the broker and keeps handling messages until Granted or AcquireFailed
// comes back.
type worker struct {
	broker  *actor.PID
	timeout time.Duration
	pending map[int]*actor.PID                       // by job id, the request's tag: who to answer
	leases  chan<- actorpool.Lease[*membackend.Conn] // when set, leases are kept, not released
}

func (w *worker) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *job:
		if w.pending == nil {
			w.pending = map[int]*actor.PID{}
		}
		w.pending[msg.id] = ctx.Sender()
		ctx.Request(w.broker, &messages.Acquire{Timeout: w.timeout, Tag: msg.id})
	case *messages.Granted[*membackend.Conn]:
		id, replyTo := w.answered(msg.Tag)
		if w.leases != nil {
			w.leases <- msg.Lease
			ctx.Send(replyTo, &jobDone{id: id, connID: msg.Lease.ID()})
			return
		}
		err := msg.Lease.Conn().Do()
		if rerr := msg.Lease.Release(); err == nil {
			err = rerr
		}
		ctx.Send(replyTo, &jobDone{id: id, connID: msg.Lease.ID(), err: err})
	case *messages.AcquireFailed:
		id, replyTo := w.answered(msg.Tag)
		ctx.Send(replyTo, &jobDone{id: id, err: msg.Err})
	}
}

// answered takes the job whose request carried tag out of pending.
func (w *worker) answered(tag any) (int, *actor.PID) {
	id := tag.(int)
	replyTo := w.pending[id]
	delete(w.pending, id)
	return id, replyTo
}

// collector forwards every jobDone to a channel the test reads.
func collector(out chan<- *jobDone) actor.ReceiveFunc {
	return func(ctx actor.Context) {
		if d, ok := ctx.Message().(*jobDone); ok {
			out <- d
		}
	}
}

// keeper is a worker that keeps the leases it is granted (on leases), and
// the sink its answers go to.
type keeper struct {
	w, sink *actor.PID
	leases  chan actorpool.Lease[*membackend.Conn]
}

// spawnKeeper starts a keeper that can hold n leases.
func spawnKeeper(f *fixture, n int) keeper {
	k := keeper{leases: make(chan actorpool.Lease[*membackend.Conn], n)}
	k.sink = f.sys.Root.Spawn(actor.PropsFromFunc(collector(make(chan *jobDone, n))))
	k.w = f.sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &worker{broker: f.p.Broker(), leases: k.leases}
	}))
	return k
}

// lease asks the keeper to lease one more connection.
func (k keeper) lease(f *fixture, id int) {
	f.sys.Root.RequestWithCustomSender(k.w, &job{id: id}, k.sink)
}

func TestActorsLeaseThroughMessagesWithoutBlocking(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 3})
	done := make(chan *jobDone, 100)
	sink := f.sys.Root.Spawn(actor.PropsFromFunc(collector(done)))
	const workers, jobs = 5, 20
	var pids []*actor.PID
	for range workers {
		pids = append(pids, f.sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
			return &worker{broker: f.p.Broker()}
		})))
	}
	for i := range jobs {
		f.sys.Root.RequestWithCustomSender(pids[i%workers], &job{id: i}, sink)
	}
	seen := map[int]bool{}
	for range jobs {
		d := recv(t, done)
		require.NoError(t, d.err)
		assert.NotZero(t, d.connID)
		seen[d.id] = true
	}
	assert.Len(t, seen, jobs)
	assert.LessOrEqual(t, f.b.Dials(), 3)
	for _, pid := range append(pids, sink) {
		require.NoError(t, f.sys.Root.StopFuture(pid).Wait())
	}
	require.Eventually(t, func() bool { return f.p.Stats().Leased() == 0 }, eventually, time.Millisecond)
	assert.Equal(t, uint64(jobs), f.p.Stats().Acquired())
}

func TestAnActorGetsAcquireFailedWhenItsTimeoutPasses(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	held := f.acquire(t)
	done := make(chan *jobDone, 1)
	sink := f.sys.Root.Spawn(actor.PropsFromFunc(collector(done)))
	w := f.sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &worker{broker: f.p.Broker(), timeout: 20 * time.Millisecond}
	}))
	f.sys.Root.RequestWithCustomSender(w, &job{id: 1}, sink)
	d := recv(t, done)
	assert.ErrorIs(t, d.err, actorpool.ErrAcquireTimeout)
	require.NoError(t, held.Release())
	require.NoError(t, f.sys.Root.StopFuture(w).Wait())
	require.NoError(t, f.sys.Root.StopFuture(sink).Wait())
}

func TestAnActorStoppedWhileHoldingTwoLeasesHasThemReclaimed(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 2})
	k := spawnKeeper(f, 2)
	owner := k.w
	k.lease(f, 1)
	k.lease(f, 2)
	a, b := recv(t, k.leases), recv(t, k.leases)
	require.True(t, a.Valid())
	require.True(t, b.Valid())

	require.NoError(t, f.sys.Root.StopFuture(owner).Wait())
	require.Eventually(t, func() bool { return f.p.Stats().Reclaimed() == 2 }, eventually, time.Millisecond)
	assert.ErrorIs(t, a.Release(), actorpool.ErrLeaseRevoked)
	assert.ErrorIs(t, b.Release(), actorpool.ErrLeaseRevoked)
	require.Eventually(t, func() bool { return a.Conn().Closed() && b.Conn().Closed() }, eventually, time.Millisecond,
		"reclaimed connections are closed, not lent on")

	// The pool replaces both and keeps serving.
	l1, l2 := f.acquire(t), f.acquire(t)
	assert.NotSame(t, a.Conn(), l1.Conn())
	assert.NotSame(t, b.Conn(), l1.Conn())
	assert.NotSame(t, a.Conn(), l2.Conn())
	assert.NotSame(t, b.Conn(), l2.Conn())
	require.NoError(t, l1.Release())
	require.NoError(t, l2.Release())
	require.NoError(t, f.sys.Root.StopFuture(k.sink).Wait())
}

func TestAnActorReleasingBeforeItStopsLosesNothing(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	done := make(chan *jobDone, 1)
	sink := f.sys.Root.Spawn(actor.PropsFromFunc(collector(done)))
	w := f.sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &worker{broker: f.p.Broker()} }))
	f.sys.Root.RequestWithCustomSender(w, &job{id: 1}, sink)
	require.NoError(t, recv(t, done).err)
	require.NoError(t, f.sys.Root.StopFuture(w).Wait())
	l := f.acquire(t)
	require.NoError(t, l.Release())
	assert.Zero(t, f.p.Stats().Reclaimed())
	assert.Equal(t, 1, f.b.Dials())
	require.NoError(t, f.sys.Root.StopFuture(sink).Wait())
}

func TestActorsGetErrPoolClosedAfterClose(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	broker := f.p.Broker()
	require.NoError(t, f.p.Close(context.Background()))
	res, err := f.sys.Root.RequestFuture(broker, &messages.Acquire{}, time.Second).Result()
	require.NoError(t, err, "the broker answers after Close: no dead letter, no timeout")
	failed, ok := res.(*messages.AcquireFailed)
	require.True(t, ok, "got %T", res)
	assert.ErrorIs(t, failed.Err, actorpool.ErrPoolClosed)
}

func TestAnActorThatLeasedAndStopsAfterCloseSendsNoDeadLetter(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	var late []string
	var mu sync.Mutex
	sub := f.sys.EventStream.Subscribe(func(evt any) {
		if dl, ok := evt.(*actor.DeadLetterEvent); ok {
			mu.Lock()
			late = append(late, fmt.Sprintf("%T to %v", dl.Message, dl.PID))
			mu.Unlock()
		}
	})
	defer f.sys.EventStream.Unsubscribe(sub)
	done := make(chan *jobDone, 1)
	sink := f.sys.Root.Spawn(actor.PropsFromFunc(collector(done)))
	w := f.sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &worker{broker: f.p.Broker()} }))
	f.sys.Root.RequestWithCustomSender(w, &job{id: 1}, sink)
	require.NoError(t, recv(t, done).err)
	require.NoError(t, f.p.Close(context.Background()))
	// The broker watched w; it must have unwatched it when it stopped.
	require.NoError(t, f.sys.Root.StopFuture(w).Wait())
	require.NoError(t, f.sys.Root.StopFuture(sink).Wait())
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, late)
}

func TestAnActorInLineKeepsItsPlaceAmongCallerGoroutines(t *testing.T) {
	// Holders hand connections straight to a waiting goroutine, but an
	// actor's lease must be recorded by the broker: the connection goes
	// through it, and the goroutine queued behind the actor still waits.
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	held := f.acquire(t)
	order := make(chan string, 3)
	errs := make(chan error, 2)
	waitFor := func(name string) {
		go func() {
			l, err := f.p.Acquire(context.Background())
			if err == nil {
				order <- name
				err = l.Release()
			}
			errs <- err
		}()
	}
	waitFor("first goroutine")
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, time.Millisecond)

	k := spawnKeeper(f, 1)
	k.lease(f, 1)
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 2 }, eventually, time.Millisecond)

	waitFor("second goroutine")
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 3 }, eventually, time.Millisecond)

	require.NoError(t, held.Release())
	actorLease := recv(t, k.leases)
	order <- "actor"
	require.NoError(t, actorLease.Release())
	for range 2 {
		require.NoError(t, recv(t, errs))
	}
	close(order)
	var got []string
	for name := range order {
		got = append(got, name)
	}
	assert.Equal(t, []string{"first goroutine", "actor", "second goroutine"}, got)
	for _, pid := range []*actor.PID{k.w, k.sink} {
		require.NoError(t, f.sys.Root.StopFuture(pid).Wait())
	}
}

func TestACallerBehindAnActorWithALongerTimeoutTimesOutAtItsOwn(t *testing.T) {
	// The actor, first in line, is due in a minute; the broker's waiter
	// timer is armed for then. A caller that comes after it with a shorter
	// AcquireTimeout must still time out at its own deadline.
	const timeout = 100 * time.Millisecond
	// The connection is dialled up front and taken on the fast path, so
	// that no earlier waiter left the timer armed.
	f := newFixture(t, actorpool.Config{MinConns: 1, MaxConns: 1, AcquireTimeout: timeout})
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 1 }, eventually, time.Millisecond)
	held := f.acquire(t)
	done := make(chan *jobDone, 1)
	sink := f.sys.Root.Spawn(actor.PropsFromFunc(collector(done)))
	w := f.sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &worker{broker: f.p.Broker(), timeout: time.Minute}
	}))
	f.sys.Root.RequestWithCustomSender(w, &job{id: 1}, sink)
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, time.Millisecond)

	start := time.Now()
	_, err := f.p.Acquire(context.Background())
	waited := time.Since(start)
	require.ErrorIs(t, err, actorpool.ErrAcquireTimeout)
	assert.Less(t, waited, 20*timeout, "timed out at the actor's deadline, not its own")

	require.NoError(t, held.Release())
	d := recv(t, done)
	require.NoError(t, d.err, "the actor, first in line, gets the connection")
	require.NoError(t, f.sys.Root.StopFuture(w).Wait())
	require.NoError(t, f.sys.Root.StopFuture(sink).Wait())
}

// A grant that reaches nobody (here: a future that timed out while its
// request waited in line) is a dead letter; the pool notices it and takes
// the lease back, instead of leaving it out until LeaseTimeout or Close.
func TestAGrantToAFutureThatTimedOutIsGivenBack(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	held := f.acquire(t)
	_, err := f.sys.Root.RequestFuture(f.p.Broker(), &messages.Acquire{Timeout: time.Minute}, 20*time.Millisecond).Result()
	require.ErrorIs(t, err, actor.ErrTimeout)
	require.Equal(t, 1, f.p.Stats().Waiting(), "the request still waits after its future gave up")

	require.NoError(t, held.Release()) // handed to the request: a grant to a dead future
	require.Eventually(t, func() bool {
		s := f.p.Stats()
		return s.Leased() == 0 && s.Idle() == 1
	}, eventually, time.Millisecond, "the lease granted to nobody came back")
	l := f.acquire(t)
	require.NoError(t, l.Release())
}

// Answers carry the request's tag: an actor with two requests out, the
// later one with a shorter timeout, is told which one failed and which one
// was granted, though they come back in the other order.
func TestAnswersToAnActorCarryTheRequestsTag(t *testing.T) {
	f := newFixture(t, actorpool.Config{MaxConns: 1})
	held := f.acquire(t)
	answers := make(chan any, 4)
	pid := f.sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case string:
			timeout := eventually
			if m == "short" {
				timeout = 50 * time.Millisecond
			}
			ctx.Request(f.p.Broker(), &messages.Acquire{Timeout: timeout, Tag: m})
		case *messages.Granted[*membackend.Conn]:
			answers <- m
			_ = m.Lease.Release()
		case *messages.AcquireFailed:
			answers <- m
		}
	}))
	defer f.sys.Root.Stop(pid)
	f.sys.Root.Send(pid, "long")
	f.sys.Root.Send(pid, "short")
	failed := recv(t, answers)
	require.IsType(t, &messages.AcquireFailed{}, failed)
	assert.Equal(t, "short", failed.(*messages.AcquireFailed).Tag)
	assert.ErrorIs(t, failed.(*messages.AcquireFailed).Err, actorpool.ErrAcquireTimeout)
	require.NoError(t, held.Release())
	granted := recv(t, answers)
	require.IsType(t, &messages.Granted[*membackend.Conn]{}, granted)
	assert.Equal(t, "long", granted.(*messages.Granted[*membackend.Conn]).Tag)
}
