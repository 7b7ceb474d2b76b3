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
	"github.com/actorpool/actorpool/messages"
)

// TestStressInvariantsHoldOverRandomSequences runs many fresh pools through
// random acquire / hold / release / cancel / mark-broken / owner-stop /
// dial-failure sequences and checks the invariants while they run and
// after Close: no connection held twice or used after close (the memory
// backend counts violations), Stats that add up and stay within MaxConns,
// every connection closed, no goroutine left.
func TestStressInvariantsHoldOverRandomSequences(t *testing.T) {
	pools := 24
	if testing.Short() {
		pools = 6
	}
	for i := range pools {
		seed := uint64(i) + 1
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			stressOnePool(t, rand.New(rand.NewPCG(seed, seed*7919)))
		})
	}
}

func stressOnePool(t *testing.T, rng *rand.Rand) {
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
	ops := 150

	var granted, ended atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wseed := rng.Uint64()
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := rand.New(rand.NewPCG(wseed, uint64(w)))
			holder := int64(w + 1)
			for range ops {
				stressStep(t, f, wr, holder, &granted, &ended)
			}
		}()
	}

	// Chaos: dial failures come and go, live connections break, an actor
	// that holds leases stops.
	stop := make(chan struct{})
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		cr := rand.New(rand.NewPCG(rng.Uint64(), 3))
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
			case 4:
				stressOwnerStop(t, f)
			}
			requireStatsAddUp(t, f.p.Stats())
			runtime.Gosched()
		}
	}()
	wg.Wait()
	close(stop)
	<-chaosDone

	s := f.p.Stats()
	requireStatsAddUp(t, s)
	assert.Equal(t, granted.Load(), ended.Load(), "every lease a worker got ended once")
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	require.NoError(t, f.p.Close(ctx))
	assert.Zero(t, f.b.Live(), "connections left open after Close")
	assert.Zero(t, f.b.Violations())
}

// stressStep is one random thing a caller does with the pool.
func stressStep(t *testing.T, f *fixture, r *rand.Rand, holder int64, granted, ended *atomic.Int64) {
	ctx := context.Background()
	var cancel context.CancelFunc = func() {}
	switch r.IntN(4) {
	case 0:
		ctx, cancel = context.WithTimeout(ctx, time.Duration(r.IntN(3000))*time.Microsecond)
	case 1:
		ctx, cancel = context.WithCancel(ctx)
		go cancel() // races with the grant
	}
	defer cancel()
	l, err := f.p.Acquire(ctx)
	if err != nil {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
			!errors.Is(err, actorpool.ErrAcquireTimeout) && !errors.Is(err, actorpool.ErrBackendUnavailable) &&
			!errors.Is(err, actorpool.ErrTooManyWaiters) {
			t.Errorf("unexpected acquire error: %v", err)
		}
		return
	}
	granted.Add(1)
	c := l.Conn()
	if err := c.Hold(holder); err != nil {
		// The pool revokes a lease before it closes its connection, so a
		// closed connection is fine only under a lease that is no longer
		// valid (revoked for LeaseTimeout while this worker was slow).
		if !errors.Is(err, membackend.ErrClosed) || l.Valid() {
			t.Errorf("lent a connection already held or closed: %v", err)
		}
		ended.Add(1)
		return
	}
	var opErr error
	if r.IntN(2) == 0 {
		opErr = c.Do()
	}
	for range r.IntN(3) {
		runtime.Gosched()
	}
	c.Unhold(holder)
	var endErr error
	if opErr != nil || r.IntN(10) == 0 {
		endErr = l.MarkBroken(opErr)
	} else {
		endErr = l.Release()
	}
	if endErr != nil && !errors.Is(endErr, actorpool.ErrLeaseRevoked) {
		t.Errorf("ending a lease: %v", endErr)
	}
	ended.Add(1)
	if err := l.Release(); !errors.Is(err, actorpool.ErrLeaseReleased) && !errors.Is(err, actorpool.ErrLeaseRevoked) {
		t.Errorf("second release: %v", err)
	}
}

// stressOwnerStop spawns an actor that acquires through messages and stops
// before (or while) it holds its leases.
func stressOwnerStop(t *testing.T, f *fixture) {
	granted := make(chan struct{}, 2)
	pid := f.sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actor.Started:
			ctx.Request(f.p.Broker(), &messages.Acquire{Timeout: 5 * time.Millisecond})
			ctx.Request(f.p.Broker(), &messages.Acquire{Timeout: 5 * time.Millisecond})
		case *messages.Granted[*membackend.Conn]:
			granted <- struct{}{}
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
