// Package pooltest holds what the pool's test suites share: an actor system
// set up as a library's host would set it up, one way to open a pool for a
// test (Open) with the checks every test owes invariant 6, and checks of
// the Stats invariant.
package pooltest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
)

// CloseTimeout bounds the Close that Open's cleanup runs: leases still out
// by then are revoked, and the test fails.
const CloseTimeout = 10 * time.Second

// NewSystem returns an actor system that logs nowhere. A dead letter starts
// a protoactor throttle goroutine that lives for the throttle interval; it is
// kept short so that goleak, run right after Close, sees it end. (Open fails
// the test on dead letters to the pool's own actors by other means.)
func NewSystem() *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.DiscardHandler)
		}),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
}

// Fixture is a pool opened for one test, and the actor system it runs on
// (for tests that spawn actors of their own).
type Fixture[C any] struct {
	Sys  *actor.ActorSystem
	Pool *actorpool.Pool[C]
}

// Option adds a suite's own checks to Open.
type Option func(*options)

type options struct {
	afterClose []func(t testing.TB)
	leaks      []goleak.Option
}

// AfterClose adds a check that runs once the pool is closed, before the
// goroutine check: what the backend or the server sees (no connection
// left open, none held twice).
func AfterClose(check func(t testing.TB)) Option {
	return func(o *options) { o.afterClose = append(o.afterClose, check) }
}

// IgnoreGoroutines passes options to the goroutine check, for goroutines
// the suite's harness owns: goleak.IgnoreCurrent() taken once a test server
// and its observer run, a server process's waiter.
func IgnoreGoroutines(opts ...goleak.Option) Option {
	return func(o *options) { o.leaks = append(o.leaks, opts...) }
}

// Open starts a pool over backend on a new actor system (NewSystem), and
// registers the checks that hold after any test, run when it ends, in this
// order:
//
//   - the pool is closed within CloseTimeout (a Close the test already
//     made is fine); its Stats add up, nobody waits, and, when this Close
//     did the draining, no lease is out;
//   - the AfterClose checks run;
//   - no message went to one of the pool's own actors after it stopped (a
//     dead letter to them means the pool lost track of one);
//   - no goroutine is left (goleak, with the IgnoreGoroutines options).
//
// A message to a user actor that stopped while it waited for a lease is no
// such sign, and is not checked: its leases are reclaimed, and protoactor
// answers a Watch of a stopped actor with Terminated.
func Open[C any](t testing.TB, backend backends.Backend[C], cfg actorpool.Config, opts ...Option) *Fixture[C] {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	// Cleanups run last registered first: the goroutine check runs last.
	// A fuzz target's runner waits for its inputs on a goroutine of its
	// own, and a fuzzing worker process watches for interrupts; the pool
	// starts neither.
	leaks := append(o.leaks, goleak.IgnoreTopFunction("testing.(*F).Fuzz.func1"),
		goleak.IgnoreTopFunction("os/signal.NotifyContext.func1"))
	t.Cleanup(func() { goleak.VerifyNone(t, leaks...) })

	f := &Fixture[C]{Sys: NewSystem()}
	sub := f.Sys.EventStream.Subscribe(func(evt any) {
		dl, ok := evt.(*actor.DeadLetterEvent)
		if ok && strings.HasPrefix(dl.PID.GetId(), "actorpool") {
			t.Errorf("dead letter: %T to %v from %v", dl.Message, dl.PID, dl.Sender)
		}
	})
	t.Cleanup(func() { f.Sys.EventStream.Unsubscribe(sub) })

	p, err := actorpool.New(f.Sys, backend, cfg)
	require.NoError(t, err)
	f.Pool = p
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
		defer cancel()
		err := p.Close(ctx)
		if err != nil && !errors.Is(err, actorpool.ErrPoolClosed) {
			t.Errorf("close: %v", err)
		}
		s := p.Stats()
		AssertStatsAddUp(t, s)
		if err == nil {
			// This Close waited until every lease and every reset was done.
			assert.Zero(t, s.Leased(), "a lease is still out after Close: %+v", s)
		}
		assert.Zero(t, s.Waiting(), "a caller still waits after Close: %+v", s)
		for _, check := range o.afterClose {
			check(t)
		}
	})
	return f
}

// StatsAddUp checks invariant 5 on one snapshot: Total = Idle + Leased +
// Dialing, and nothing negative.
func StatsAddUp(s actorpool.Stats) error {
	switch {
	case s.Total() != s.Idle()+s.Leased()+s.Dialing():
		return fmt.Errorf("stats do not add up: total %d != idle %d + leased %d + dialing %d",
			s.Total(), s.Idle(), s.Leased(), s.Dialing())
	case s.Idle() < 0 || s.Leased() < 0 || s.Dialing() < 0 || s.Waiting() < 0:
		return fmt.Errorf("stats below zero: %+v", s)
	}
	return nil
}

// WithinMax checks that the pool has no more connections than MaxConns.
// That holds at every snapshot, except after SetLimits lowered MaxConns
// below the connections leased: those retire as they come back.
func WithinMax(s actorpool.Stats) error {
	if s.Total() > s.MaxConns() {
		return fmt.Errorf("%d connections, above MaxConns %d: %+v", s.Total(), s.MaxConns(), s)
	}
	return nil
}

// AssertStatsAddUp reports StatsAddUp's error, if any, as a test error. It
// may run on any goroutine.
func AssertStatsAddUp(t testing.TB, s actorpool.Stats) bool {
	t.Helper()
	return assert.NoError(t, StatsAddUp(s))
}

// RequireStatsAddUp checks invariant 5 and WithinMax on one snapshot, and
// stops the test when either fails; call it on the test's goroutine only.
func RequireStatsAddUp(t testing.TB, s actorpool.Stats) {
	t.Helper()
	require.NoError(t, StatsAddUp(s))
	require.NoError(t, WithinMax(s))
}

// Recv receives from ch, and fails the test when nothing comes within d;
// call it on the test's goroutine only.
func Recv[T any](t testing.TB, ch <-chan T, d time.Duration) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("nothing received within %s", d)
		var zero T
		return zero
	}
}

// Goroutines returns the stack of every goroutine, one string each, the
// caller's first.
func Goroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(string(buf[:n]), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// RunCallers runs op b.N times: on the benchmark's goroutine for one
// caller, else spread over about callers goroutines (RunParallel), so that
// sub-benchmarks named Callers=n compare across pools.
func RunCallers(b *testing.B, callers int, op func()) {
	b.ReportAllocs()
	if callers == 1 {
		b.ResetTimer()
		for range b.N {
			op()
		}
		return
	}
	b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op()
		}
	})
}
