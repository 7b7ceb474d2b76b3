package promises_test

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// promises are the matrix's columns; doc.go says what each checks.
var promises = []struct {
	name  string
	check func(t *testing.T, r *rig)
}{
	{"Limit", checkLimit},
	{"Close", checkClose},
	{"NoDoubleLease", checkNoDoubleLease},
	{"StatsAddUp", checkStatsAddUp},
	{"ErrorsNameCause", checkErrorsNameCause},
	{"EveryCallerAnswered", checkEveryCallerAnswered},
}

// TestPromises runs every promise against every mode, each cell (a
// subtest Mode/Promise) on pools and servers of its own.
func TestPromises(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			for _, p := range promises {
				t.Run(p.name, func(t *testing.T) { p.check(t, m.start(t)) })
			}
		})
	}
}

// callers is how many callers load a rig: four for each connection it
// may open, so that callers wait for connections.
func callers(r *rig) int { return 4 * r.limit * len(r.servers) }

func checkLimit(t *testing.T, r *rig) {
	ss := sampleServers(t, r, r.limit)
	l := startLoad(t, r, loadOpts{callers: callers(r)})
	waitLoaded(t, l, ss, "under load")
	stopSamplers(t, ss, r.limitIs)

	if r.lower != nil {
		low := r.limit / 2
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		require.NoError(t, r.lower(ctx, low))
		require.Eventually(t, func() bool { return mostClients(r) <= low }, bound, 5*time.Millisecond,
			"the server does not come down to the lowered MaxConns %d within %s", low, bound)
		ss = sampleServers(t, r, low)
		waitLoaded(t, l, ss, "at the lowered MaxConns")
		stopSamplers(t, ss, "the lowered MaxConns")
	}
	l.stop(t)
	assert.Zero(t, l.failed.Load(), "calls failed: %v", l.firstErrors(5))
}

func checkClose(t *testing.T, r *rig) {
	l := startLoad(t, r, loadOpts{callers: callers(r)})
	l.waitOK(t, 0, 100, "before Close")
	l.stop(t) // every lease is back
	require.Zero(t, l.failed.Load(), "calls failed: %v", l.firstErrors(5))

	ctx, cancel := context.WithTimeout(context.Background(), closeBound)
	defer cancel()
	begin := time.Now()
	err := r.close(ctx)
	took := time.Since(begin)
	t.Logf("Close took %v", took)
	require.NoError(t, err, "Close with every lease back")
	assert.Less(t, took, promptClose, "Close with every lease back took %v", took)
	for _, s := range r.stats() {
		assert.Zero(t, s.Total(), "connections left after Close: %+v", s)
		pooltest.AssertStatsAddUp(t, s)
	}
	for _, s := range r.servers {
		assertNoClients(t, s)
	}
	for c := range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		assert.ErrorIs(t, r.call(ctx, c, 0), actorpool.ErrPoolClosed, "a call after Close")
		cancel()
	}
}

func checkNoDoubleLease(t *testing.T, r *rig) {
	l := startLoad(t, r, loadOpts{callers: callers(r)})
	l.waitOK(t, 0, 500, "under load")
	l.stop(t)
	assert.Zero(t, r.h.doubles.Load(), "a client id was held by two leases at once")
	assert.Zero(t, r.h.wrong.Load(), "a reply was another request's")
	assert.Zero(t, l.failed.Load(), "calls failed: %v", l.firstErrors(5))
}

func checkStatsAddUp(t *testing.T, r *rig) {
	l := startLoad(t, r, loadOpts{callers: callers(r)})
	tick := time.NewTicker(statsEvery)
	defer tick.Stop()
	timeout := time.After(bound)
	var snapshots, wrong int
	for l.ok.Load() < 300 {
		select {
		case <-tick.C:
		case <-timeout:
			require.FailNow(t, "300 calls did not succeed", "within %s: %d did, %d failed: %v",
				bound, l.ok.Load(), l.failed.Load(), l.firstErrors(3))
		}
		for _, s := range r.stats() {
			snapshots++
			err := pooltest.StatsAddUp(s)
			if err == nil && !r.limitsMove {
				err = pooltest.WithinMax(s)
			}
			if err == nil && s.CommandConns() > s.MaxConns() {
				err = errors.New("command mode holds more connections than MaxConns")
			}
			if err != nil {
				if wrong++; wrong <= 3 {
					t.Errorf("snapshot %d: %v", snapshots, err)
				}
			}
		}
	}
	l.stop(t)
	t.Logf("%d snapshots under load, %d wrong", snapshots, wrong)
	assert.Positive(t, snapshots)
	assert.Zero(t, wrong, "snapshots that do not add up")
	assert.Zero(t, l.failed.Load(), "calls failed: %v", l.firstErrors(5))
	assert.Equal(t, uint64(r.counted.Load()), r.granted(), "the pools' count against the test's")
	for _, s := range r.stats() {
		assert.Zero(t, s.Waiting(), "a caller waits after the load: %+v", s)
		assert.Equal(t, s.CommandConns(), s.Leased(), "a lease is out after the load: %+v", s)
	}
}

// failFast bounds a call while the server is down: it must fail at once,
// not wait for its deadline.
const failFast = time.Second

func checkErrorsNameCause(t *testing.T, r *rig) {
	l := startLoad(t, r, loadOpts{callers: callers(r)})
	l.waitOK(t, 0, 100, "before the kill")
	for _, s := range r.servers {
		s.Kill()
	}
	require.Eventually(t, func() bool { return l.unavailable.Load() > 0 }, bound, time.Millisecond,
		"no call failed with ErrBackendUnavailable within %s: %v", bound, l.firstErrors(3))
	l.stop(t)
	assert.Zero(t, l.late.Load(), "calls returned after their deadline")
	assert.Zero(t, l.timeouts.Load(), "calls waited until their deadline: %v", l.firstErrors(5))
	assert.Zero(t, l.closed.Load(), "calls failed with ErrPoolClosed")
	for _, err := range l.otherErrors() {
		if !r.isFatal(err) {
			t.Errorf("while the server went away, a call failed with neither ErrBackendUnavailable nor a network error: %v", err)
		}
	}

	// The redials that reached the dying server fail otherwise (EOF) and
	// may end after one was refused; once calls alone find a refused
	// dial, every call fails at once, naming it.
	require.Eventually(t, func() bool {
		for c := range 2 {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			err := r.call(ctx, c, 0)
			cancel()
			if !errors.Is(err, actorpool.ErrBackendUnavailable) || !errors.Is(err, syscall.ECONNREFUSED) {
				return false
			}
		}
		return true
	}, bound, 5*time.Millisecond, "calls do not come to fail with a refused dial within %s", bound)
	errs := make([]error, callers(r))
	took := make([]time.Duration, len(errs))
	var wg sync.WaitGroup
	for c := range errs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			begin := time.Now()
			errs[c] = r.call(ctx, c, 0)
			took[c] = time.Since(begin)
		})
	}
	wg.Wait()
	for c, err := range errs {
		require.Error(t, err, "a call succeeded with the server down")
		assert.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED, "the dial's error is not in %v", err)
		for _, name := range r.names {
			assert.ErrorContains(t, err, name+": ", "endpoint %s is not named", name)
		}
		assert.Less(t, took[c], failFast, "a call took %v to fail: %v", took[c], err)
	}
	t.Logf("with the server down: %v", errs[0])

	for _, s := range r.servers {
		s.Restart()
	}
	after := startLoad(t, r, loadOpts{callers: callers(r)})
	begin := time.Now()
	after.waitOK(t, 0, 100, "after the restart")
	t.Logf("100 calls served %v after the restart", time.Since(begin))
	after.stop(t)
}

func checkEveryCallerAnswered(t *testing.T, r *rig) {
	l := startLoad(t, r, loadOpts{callers: callers(r), short: true, untilClosed: true})
	l.waitOK(t, 0, 100, "before Close")
	require.Eventually(t, func() bool { return l.timeouts.Load() > 0 }, bound, time.Millisecond,
		"no call ran into its short deadline within %s", bound)

	ctx, cancel := context.WithTimeout(context.Background(), closeBound)
	defer cancel()
	closeErr := r.close(ctx)
	select { // each caller ends at its first call after Close
	case <-l.done:
	case <-time.After(callTimeout + slack + bound):
		require.FailNow(t, "callers did not end after Close",
			"%d calls started, %d returned; errors: %v", l.started.Load(), l.returned.Load(), l.firstErrors(3))
	}

	t.Logf("%d calls: %d succeeded, %d timed out, %d failed with ErrPoolClosed",
		l.started.Load(), l.ok.Load(), l.timeouts.Load(), l.closed.Load())
	assert.NoError(t, closeErr, "Close under load")
	assert.Equal(t, int64(callers(r)), l.closed.Load(), "callers whose last call failed with ErrPoolClosed")
	assert.Equal(t, l.started.Load(), l.returned.Load(), "calls started and never returned")
	assert.Zero(t, l.late.Load(), "calls returned later than their deadline and %s", slack)
	assert.Zero(t, l.unavailable.Load(), "calls failed with ErrBackendUnavailable: %v", l.firstErrors(5))
	for _, err := range l.otherErrors() {
		t.Errorf("a call failed with an error of no kind the pool promises: %v", err)
	}
}
