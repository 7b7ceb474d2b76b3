package actorpool_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/group"
)

func TestOpenRunsThePoolOnASystemOfItsOwnAndCloseEndsIt(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	b := membackend.New()
	p, err := actorpool.Open(b, actorpool.Config{MinConns: 1, MaxConns: 2})
	require.NoError(t, err)
	require.NoError(t, p.With(context.Background(), func(c *membackend.Conn) error { return c.Do() }))
	require.NoError(t, p.Close(context.Background()))
	assert.ErrorIs(t, p.Close(context.Background()), actorpool.ErrPoolClosed)
	assert.ErrorIs(t, p.With(context.Background(), func(*membackend.Conn) error { return nil }), actorpool.ErrPoolClosed)
	assert.Zero(t, b.Live(), "connections still open after Close")
}

func TestConstructorsRefuseANilBackendWithErrInvalidConfig(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var typedNil *membackend.Backend
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	_, err := actorpool.New(sys, typedNil, actorpool.Config{MaxConns: 1})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "New, typed nil")
	_, err = actorpool.New[*membackend.Conn](sys, nil, actorpool.Config{MaxConns: 1})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "New, nil")
	_, err = actorpool.New[*membackend.Conn](nil, membackend.New(), actorpool.Config{MaxConns: 1})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "New, nil system")
	_, err = actorpool.Open(typedNil, actorpool.Config{MaxConns: 1})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "Open, typed nil")
	_, err = group.New(sys, group.Config{}, group.Endpoint[*membackend.Conn]{Name: "a", Backend: typedNil})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "group.New, typed nil")
}

// A failed dial, a broken lease and a revoked one are the pool's to
// report, on its own Logger: the actor system's log, at every level, has
// no line of them.
func TestFailuresLeaveTheActorSystemsLogQuiet(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var sysLog, poolLog recorder
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(&sysLog)
	}))
	b := membackend.New()
	p, err := actorpool.New(sys, b, actorpool.Config{MaxConns: 1, Logger: slog.New(&poolLog),
		BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond})
	require.NoError(t, err)
	l, err := p.Acquire(context.Background())
	require.NoError(t, err)
	b.FailDials(errors.New("connection refused")) // its replacement's dials fail
	require.NoError(t, l.MarkBroken(errors.New("lost")))
	require.Eventually(t, func() bool { return p.Stats().DialErrors() >= 3 }, eventually, time.Millisecond)
	b.Heal()
	require.Eventually(t, func() bool { return p.Stats().Idle() == 1 }, eventually, time.Millisecond, "redialled once the backend healed")
	require.NoError(t, p.With(context.Background(), func(c *membackend.Conn) error { return c.Do() }))
	require.NoError(t, p.Close(context.Background()))
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		assert.Empty(t, sysLog.find(level, "Recovering"), "the actor system logged a connection's failure")
	}
	assert.NotEmpty(t, poolLog.find(slog.LevelDebug, "actorpool: dial failed"), "the pool reported its failed dials")
}

func TestStatsPrintReadably(t *testing.T) {
	f := newFixture(t, actorpool.Config{MinConns: 1, MaxConns: 3})
	require.NoError(t, f.p.With(context.Background(), func(c *membackend.Conn) error { return c.Do() }))
	require.Eventually(t, func() bool { return f.p.Stats().Idle() == 1 }, eventually, time.Millisecond)
	got := fmt.Sprintf("%+v", f.p.Stats())
	assert.Regexp(t, `^total=1 idle=1 leased=0 dialing=0 waiting=0 limits=1\.\.3 acquired=1 dials=1$`, got)
}
