package actors

// The dialer's rules not visible from outside the broker, on a bare broker
// whose supervisor is a recorder.

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// bare is a broker with no actor of its own: the test calls its handlers
// in run, and what it sends the supervisor arrives on sent.
type bare struct {
	*broker[int]
	sys  *actor.ActorSystem
	sent chan any
}

// newBare returns a broker over a ledger with the given limits, with an
// hour's backoff (no timer fires during a test).
func newBare(t *testing.T, minConns, maxConns int) *bare {
	t.Helper()
	b := &bare{
		broker: &broker[int]{cfg: &BrokerConfig[int]{Logger: slog.New(slog.DiscardHandler)},
			l: ledger.New(ledger.Config[int]{}, minConns, maxConns)},
		sys:  actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) })),
		sent: make(chan any, 16),
	}
	b.dialer.init(proto.NewSettings(proto.Lifecycle{BackoffMin: time.Hour, BackoffMax: time.Hour}))
	b.supervisor = b.sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *proto.Spawn, *proto.Restart, *proto.StopChild:
			b.sent <- ctx.Message()
		}
	}))
	t.Cleanup(func() {
		b.dialer.stopTimers()
		b.sys.Shutdown()
	})
	return b
}

// run calls fn with an actor's context, on that actor, and waits for it.
func (b *bare) run(t *testing.T, fn func(ctx actor.Context)) {
	t.Helper()
	done := make(chan struct{})
	pid := b.sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(string); ok {
			fn(ctx)
			close(done)
		}
	}))
	defer b.sys.Root.Stop(pid)
	b.sys.Root.Send(pid, "run")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler did not run")
	}
}

// next returns what the broker sent the supervisor next.
func (b *bare) next(t *testing.T) any {
	t.Helper()
	select {
	case m := <-b.sent:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("nothing sent to the supervisor")
		return nil
	}
}

// none checks that the broker sent the supervisor nothing more: the
// recorder gets messages in order, so a marker sent after them comes
// first.
func (b *bare) none(t *testing.T) {
	t.Helper()
	b.sys.Root.Send(b.supervisor, &proto.Spawn{N: -1})
	assert.Equal(t, &proto.Spawn{N: -1}, b.next(t), "sent to the supervisor")
}

func TestCallersFailedFastBringTheProbeForwardOncePerFailedDial(t *testing.T) {
	b := newBare(t, 0, 1)
	d := &b.dialer
	c := d.child(actor.NewPID("nonhost", "probe"))
	b.handleConnFailed(nil, &proto.ConnFailed{Child: c.pid, Err: errors.New("refused")})
	require.True(t, d.open)
	require.Same(t, c, d.probe)
	// A tenth of BackoffMin: six minutes at most, against an hour's
	// backoff of at least half an hour.
	soon := d.policy().Min / 10
	forward := func() bool { return !c.due.After(c.failedAt.Add(soon)) }
	require.False(t, forward(), "the probe waits for its backoff while nobody asks")

	b.demand(nil)
	assert.True(t, forward(), "callers failed fast bring the probe forward")
	assert.Equal(t, backingOff, c.state)

	b.schedule(c, time.Hour) // as if brought forward no more
	b.demand(nil)
	assert.False(t, forward(), "brought forward a second time for the same failed dial")

	b.handleConnFailed(nil, &proto.ConnFailed{Child: c.pid, Err: errors.New("refused")})
	require.False(t, forward())
	b.demand(nil)
	assert.True(t, forward(), "after the next failed dial, callers bring it forward again")
}

func TestLoweringMaxConnsStopsParkedActorsBeforeThoseBackingOff(t *testing.T) {
	b := newBare(t, 2, 2) // both counted in Total
	d := &b.dialer
	d.open = true
	backing := d.child(actor.NewPID("nonhost", "backing"))
	b.schedule(backing, time.Hour)
	parkedOne := d.child(actor.NewPID("nonhost", "parked"))
	d.park(parkedOne)

	b.l.SetLimits(0, 1)
	b.run(t, b.shrinkDialing)
	assert.Equal(t, &proto.StopChild{Child: parkedOne.pid}, b.next(t))
	b.none(t)
	assert.Equal(t, leaving, parkedOne.state)
	assert.Empty(t, d.parked)
	assert.Equal(t, backingOff, backing.state, "Total is within MaxConns once the parked one stopped")
	assert.Equal(t, 1, b.l.Counts().Total)
}

func TestAnActorThatCrashesWhileBeingRetiredIsStoppedAndThenReplaced(t *testing.T) {
	b := newBare(t, 1, 1)
	c := b.dialer.child(actor.NewPID("nonhost", "retired"))
	c.state = connected
	require.True(t, b.dialer.leaving(c.pid, true), "retired, its replacement counted in Total")

	// Its failed ping crashed it before it took its Retire: suspended, it
	// would never stop by itself.
	b.run(t, func(ctx actor.Context) {
		b.handleConnFailed(ctx, &proto.ConnFailed{Child: c.pid, Lost: true, Err: errors.New("ping failed")})
	})
	assert.Equal(t, &proto.StopChild{Child: c.pid}, b.next(t), "the crashed actor is stopped")
	b.none(t)

	b.run(t, func(ctx actor.Context) { b.handleConnStopped(ctx, c.pid) })
	assert.Equal(t, &proto.Spawn{N: 1}, b.next(t), "its replacement is spawned once it stopped")
	assert.Empty(t, b.dialer.children)
}
