package actorpool_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/messages"
)

// TestStressInvariantsHoldWhileLimitsChangeAndThePoolCloses runs rounds, each
// on a fresh pool with a random configuration. In each round, callers
// acquire, hold, release, mark broken and cancel at random while dials fail
// and recover, live connections break, actors that hold leases stop, and
// SetLimits moves the limits; then SetLimits stops and the pool must come
// back within its maximum, and then the pool is closed while the traffic
// goes on. The pool's guarantees (package doc) are checked while it runs and after
// Close:
//
//   - no connection is held by two leases, pinged while held, used after
//     close or closed twice (the memory backend counts violations);
//   - every lease ends exactly once: a holder's first Release or MarkBroken
//     succeeds or finds the lease revoked, the second fails; and the
//     leases the pool counts as granted are those its holders ended, plus
//     those it revoked or reclaimed, plus the grants that went back to the
//     pool because their caller's ctx ended or their actor had stopped;
//   - Stats add up at every snapshot, and stay within MaxConns once the
//     limits stopped moving and the connections above them came back;
//   - after Close every connection is closed, no lease is out (when Close
//     drained them), nobody waits, and every Acquire, With, SetLimits, Close
//     and actor Acquire fails with ErrPoolClosed; no message reaches one of
//     the pool's stopped actors, and no goroutine is left (the fixture).
func TestStressInvariantsHoldWhileLimitsChangeAndThePoolCloses(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 8
	}
	for i := range rounds {
		seed := uint64(i) + 1
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			stressRound(t, rand.New(rand.NewPCG(seed, seed*7919)))
		})
	}
}

// stressCounts is what the round's callers and actors saw; the round
// compares it with the pool's own Stats.
type stressCounts struct {
	ops          atomic.Int64 // acquire attempts by callers
	granted      atomic.Int64 // leases Acquire returned to callers
	endedOK      atomic.Int64 // leases a caller's first Release or MarkBroken ended
	endedRevoked atomic.Int64 // leases a caller found revoked at its first end
	ctxErrors    atomic.Int64 // acquires that failed with their ctx's error
	actorAsks    atomic.Int64 // acquires owner actors sent
	actorAnswers atomic.Int64 // answers owner actors received, granted or failed
	actorGrants  atomic.Int64 // leases granted to owner actors, kept until they stop
	limits       atomic.Int64 // SetLimits calls that returned
}

// stressRound is one fresh pool through traffic, limit changes, faults and
// Close.
func stressRound(t *testing.T, rng *rand.Rand) {
	cfg := actorpool.Config{
		MinConns:       rng.IntN(3),
		MaxConns:       1 + rng.IntN(6),
		AcquireTimeout: time.Duration(5+rng.IntN(20)) * time.Millisecond,
		BackoffMin:     time.Millisecond,
		BackoffMax:     5 * time.Millisecond,
	}
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	if rng.IntN(3) == 0 {
		cfg.LeaseTimeout = time.Duration(2+rng.IntN(8)) * time.Millisecond
	}
	if rng.IntN(3) == 0 {
		cfg.MaxWaiters = 1 + rng.IntN(4)
	}
	f := newFixture(t, cfg)
	workers := 2 + rng.IntN(6)
	var n stressCounts

	var (
		closed   atomic.Bool // Close returned
		settled  atomic.Bool // limits stopped moving and the pool is back within them
		stop     = make(chan struct{})
		stopOnce sync.Once
		wg       sync.WaitGroup // the callers
		bg       sync.WaitGroup // checker, faults, SetLimits
	)
	stopAll := func() { stopOnce.Do(func() { close(stop) }) }
	// Whatever happens, the goroutines stop before the fixture closes the
	// pool and looks for leaks.
	t.Cleanup(func() {
		stopAll()
		wg.Wait()
		bg.Wait()
	})

	chaosSeed, limitsSeed := rng.Uint64(), rng.Uint64()

	// Callers, until an Acquire made after Close returned has failed.
	for w := range workers {
		wr := rand.New(rand.NewPCG(rng.Uint64(), uint64(w)))
		wg.Go(func() {
			for !stressStep(t, f, wr, int64(w+1), &closed, &n) {
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}

	// Every snapshot adds up; once settled, each is within MaxConns.
	bg.Go(func() {
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			s := f.p.Stats()
			if !pooltest.AssertStatsAddUp(t, s) {
				return
			}
			if settled.Load() && !assert.NoError(t, pooltest.WithinMax(s), "after the limits settled") {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})

	// Faults, through Close: dials fail and recover, live connections
	// break, actors that hold leases stop.
	bg.Go(func() {
		cr := rand.New(rand.NewPCG(chaosSeed, 3))
		owner := int64(1000)
		for {
			select {
			case <-stop:
				f.b.Heal()
				return
			default:
			}
			switch cr.IntN(6) {
			case 0:
				f.b.FailDials(nil)
			case 1, 2:
				f.b.Heal()
			case 3:
				if conns := f.b.Conns(); len(conns) > 0 {
					conns[cr.IntN(len(conns))].Break()
				}
			case 4, 5:
				owner++
				stressOwnerStop(t, f, owner, &n)
			}
			runtime.Gosched()
		}
	})

	// SetLimits moves the limits while the traffic runs.
	limitsStop := make(chan struct{})
	limitsDone := make(chan struct{})
	lr := rand.New(rand.NewPCG(limitsSeed, 5))
	bg.Go(func() {
		defer close(limitsDone)
		for {
			minConns := lr.IntN(3)
			maxConns := max(minConns, 1) + lr.IntN(6)
			ctx, cancel := context.WithTimeout(context.Background(), eventually)
			err := f.p.SetLimits(ctx, minConns, maxConns)
			cancel()
			assert.NoError(t, err, "SetLimits(%d, %d)", minConns, maxConns)
			n.limits.Add(1)
			select {
			case <-limitsStop:
				return
			case <-stop:
				return
			case <-time.After(time.Duration(lr.IntN(2000)) * time.Microsecond):
			}
		}
	})

	require.Eventually(t, func() bool {
		return n.ops.Load() >= int64(60*workers) && n.limits.Load() >= 5
	}, eventually, time.Millisecond, "the traffic did not get going")

	// The limits stop moving: leased connections above the maximum retire
	// as they come back, and from then on the pool stays within it.
	close(limitsStop)
	recv(t, limitsDone)
	require.Eventually(t, func() bool { return pooltest.WithinMax(f.p.Stats()) == nil }, eventually, time.Millisecond,
		"the pool did not come back within MaxConns after the limits settled")
	settled.Store(true)
	opsSettled := n.ops.Load()
	require.Eventually(t, func() bool { return n.ops.Load() >= opsSettled+int64(20*workers) }, eventually, time.Millisecond)

	// Close while the callers, the faults and a SetLimits keep going. A
	// short ctx makes Close revoke the leases still out in some rounds.
	raceLimits := make(chan error, 1)
	go func() {
		s := f.p.Stats()
		raceLimits <- f.p.SetLimits(context.Background(), s.MinConns(), s.MaxConns()+1)
	}()
	closeCtx, cancelClose := context.WithTimeout(context.Background(), time.Duration(rng.IntN(4000))*time.Microsecond)
	defer cancelClose()
	closeErr := make(chan error, 1)
	go func() { closeErr <- f.p.Close(closeCtx) }()
	drained := recv(t, closeErr)
	if drained != nil {
		require.ErrorIs(t, drained, context.DeadlineExceeded, "Close fails only when its ctx ended first")
	}
	closed.Store(true)
	if err := recv(t, raceLimits); err != nil {
		assert.ErrorIs(t, err, actorpool.ErrPoolClosed, "SetLimits racing with Close")
	}
	workersDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(workersDone)
	}()
	recv(t, workersDone)
	stopAll()
	bg.Wait()

	// Every call after Close fails with ErrPoolClosed.
	_, err := f.p.Acquire(context.Background())
	assert.ErrorIs(t, err, actorpool.ErrPoolClosed)
	assert.ErrorIs(t, f.p.With(context.Background(), func(*membackend.Conn) error { return nil }), actorpool.ErrPoolClosed)
	assert.ErrorIs(t, f.p.SetLimits(context.Background(), 0, 1), actorpool.ErrPoolClosed)
	assert.ErrorIs(t, f.p.Close(context.Background()), actorpool.ErrPoolClosed)
	res, err := f.sys.Root.RequestFuture(f.p.Broker(), &messages.Acquire{}, eventually).Result()
	require.NoError(t, err)
	if failed, ok := res.(*messages.AcquireFailed); assert.True(t, ok, "got %T", res) {
		assert.ErrorIs(t, failed.Err, actorpool.ErrPoolClosed)
	}

	// Every connection is closed, none was held twice.
	assert.Zero(t, f.b.Violations(), "a connection was held twice, pinged while held, used after close or closed twice")
	assert.Zero(t, f.b.Live(), "connections left open after Close")
	for _, c := range f.b.Conns() {
		assert.True(t, c.Closed(), "conn %d is still open", c.ID)
	}

	// Every lease ended exactly once.
	s := f.p.Stats()
	pooltest.AssertStatsAddUp(t, s)
	if drained == nil {
		// Close waited for every lease and every reset: none is left.
		assert.Zero(t, s.Leased(), "a lease or a reset is still out after Close")
	}
	assert.Zero(t, s.Waiting(), "a caller still waits after Close")
	granted, actorGrants := uint64(n.granted.Load()), uint64(n.actorGrants.Load())
	assert.GreaterOrEqual(t, s.Acquired(), granted+actorGrants, "the pool counted fewer grants than its callers got")
	assert.GreaterOrEqual(t, s.Revoked(), uint64(n.endedRevoked.Load()), "callers saw more revoked leases than the pool revoked")
	// A lease that ended twice (revoked and released, say) would be counted
	// twice on the right; one that never ended not at all. Two kinds of
	// grant went back to the pool uncounted here: those that raced with a
	// caller's cancelled ctx (at most one for each acquire that failed with
	// a ctx error), and those that reached an owner actor only after it
	// stopped (at most one for each acquire it sent and got no answer to).
	ended := uint64(n.endedOK.Load()) + s.Revoked() + s.Reclaimed()
	givenBack := uint64(n.ctxErrors.Load() + n.actorAsks.Load() - n.actorAnswers.Load())
	if assert.GreaterOrEqual(t, s.Acquired(), ended, "more leases ended than were granted") {
		assert.LessOrEqual(t, s.Acquired()-ended, givenBack,
			"leases granted that neither their holder, nor a revoke, nor a reclaim ended")
	}
	t.Logf("%d workers, %d acquires: %d leases (%d to actors), %d ended by holders, %d revoked, %d reclaimed, "+
		"%d ctx errors; %d SetLimits; %d dials, %d dial errors",
		workers, n.ops.Load(), s.Acquired(), actorGrants, n.endedOK.Load(), s.Revoked(), s.Reclaimed(),
		n.ctxErrors.Load(), n.limits.Load(), f.b.Dials(), f.b.DialErrors())
}

// stressStep is one random thing a caller does with the pool. It returns
// true once an Acquire made after Close returned has failed, as it must,
// with ErrPoolClosed.
func stressStep(t *testing.T, f *fixture, r *rand.Rand, holder int64, closed *atomic.Bool, n *stressCounts) (done bool) {
	afterClose := closed.Load()
	ctx := context.Background()
	var cancel context.CancelFunc = func() {}
	if !afterClose { // after Close, a ctx that ended would answer first
		switch r.IntN(4) {
		case 0:
			ctx, cancel = context.WithTimeout(ctx, time.Duration(r.IntN(3000))*time.Microsecond)
		case 1:
			ctx, cancel = context.WithCancel(ctx)
			go cancel() // races with the grant
		}
	}
	defer cancel()
	n.ops.Add(1)
	l, err := f.p.Acquire(ctx)
	switch {
	case afterClose:
		if err == nil {
			t.Errorf("Acquire after Close granted a lease")
			_ = l.Release()
		} else if !errors.Is(err, actorpool.ErrPoolClosed) {
			t.Errorf("Acquire after Close: %v, want ErrPoolClosed", err)
		}
		return true
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		n.ctxErrors.Add(1)
		return false
	case err != nil:
		if !errors.Is(err, actorpool.ErrAcquireTimeout) && !errors.Is(err, actorpool.ErrBackendUnavailable) &&
			!errors.Is(err, actorpool.ErrTooManyWaiters) && !errors.Is(err, actorpool.ErrPoolClosed) {
			t.Errorf("unexpected acquire error: %v", err)
		}
		return false
	}
	n.granted.Add(1)

	var first error
	c := l.Conn()
	if err := c.Hold(holder); err != nil {
		// The pool revokes a lease before it closes its connection, so a
		// closed connection is fine only under a lease that is no longer
		// valid (revoked for LeaseTimeout or by Close while this caller
		// was slow).
		if !errors.Is(err, membackend.ErrClosed) || l.Valid() {
			t.Errorf("lent a connection already held or closed: %v", err)
		}
		first = l.Release()
	} else {
		var opErr error
		if r.IntN(2) == 0 {
			opErr = c.Do()
		}
		if r.IntN(20) == 0 {
			// A slow holder: long enough for LeaseTimeout, or for a Close
			// to give up waiting.
			time.Sleep(time.Duration(r.IntN(5000)) * time.Microsecond)
		}
		for range r.IntN(3) {
			runtime.Gosched()
		}
		c.Unhold(holder)
		if opErr != nil || r.IntN(10) == 0 {
			first = l.MarkBroken(opErr)
		} else {
			first = l.Release()
		}
	}
	second := l.Release()
	switch {
	case first == nil:
		n.endedOK.Add(1)
		if !errors.Is(second, actorpool.ErrLeaseReleased) {
			t.Errorf("second release of a released lease: %v, want ErrLeaseReleased", second)
		}
	case errors.Is(first, actorpool.ErrLeaseRevoked):
		n.endedRevoked.Add(1)
		if !errors.Is(second, actorpool.ErrLeaseRevoked) {
			t.Errorf("second release of a revoked lease: %v, want ErrLeaseRevoked", second)
		}
	default:
		t.Errorf("ending a lease: %v", first)
	}
	return false
}

// stressOwnerStop spawns an actor that acquires through messages, holds
// what it is granted, and stops before (or while) the grants arrive: its
// leases are reclaimed, and a grant that reaches it after it stopped goes
// back to the pool.
func stressOwnerStop(t *testing.T, f *fixture, holder int64, n *stressCounts) {
	granted := make(chan struct{}, 2)
	pid := f.sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			n.actorAsks.Add(2)
			ctx.Request(f.p.Broker(), &messages.Acquire{Timeout: 5 * time.Millisecond})
			ctx.Request(f.p.Broker(), &messages.Acquire{Timeout: 5 * time.Millisecond})
		case *messages.Granted[*membackend.Conn]:
			n.actorAnswers.Add(1)
			n.actorGrants.Add(1)
			l := msg.Lease
			if err := l.Conn().Hold(holder); err != nil && (!errors.Is(err, membackend.ErrClosed) || l.Valid()) {
				t.Errorf("lent an actor a connection already held or closed: %v", err)
			}
			granted <- struct{}{}
		case *messages.AcquireFailed:
			n.actorAnswers.Add(1)
			err := msg.Err
			if !errors.Is(err, actorpool.ErrAcquireTimeout) && !errors.Is(err, actorpool.ErrBackendUnavailable) &&
				!errors.Is(err, actorpool.ErrTooManyWaiters) && !errors.Is(err, actorpool.ErrPoolClosed) {
				t.Errorf("unexpected AcquireFailed: %v", err)
			}
		}
	}))
	select {
	case <-granted:
	case <-time.After(10 * time.Millisecond):
	}
	if err := f.sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Errorf("stopping owner: %v", err)
	}
}
