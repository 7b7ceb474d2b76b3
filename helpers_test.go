package actorpool_test

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/internal/pooltest"
)

const eventually = 5 * time.Second

type memPool = actorpool.Pool[*membackend.Conn]

// fixture is a pool over a memory backend, opened by pooltest.Open: its
// cleanup closes the pool and checks what must hold after any test. On top
// of those, the memory backend must have no connection live and none held
// twice, used after close or closed twice.
type fixture struct {
	sys *actor.ActorSystem
	b   *membackend.Backend
	p   *memPool
}

// newFixture starts a pool; prepare runs on the backend before the pool
// dials anything.
func newFixture(t *testing.T, cfg actorpool.Config, prepare ...func(*membackend.Backend)) *fixture {
	t.Helper()
	b := membackend.New()
	for _, fn := range prepare {
		fn(b)
	}
	return newFixtureOver(t, b, b, cfg)
}

// newFixtureOver starts a pool over backend, which dials through b (a
// wrapper of b, or b itself); the checks on b are newFixture's.
func newFixtureOver(t *testing.T, backend backends.Backend[*membackend.Conn], b *membackend.Backend, cfg actorpool.Config) *fixture {
	t.Helper()
	pf := pooltest.Open(t, backend, cfg, pooltest.AfterClose(func(t testing.TB) {
		assert.Zero(t, b.Live(), "connections still open after Close")
		assert.Zero(t, b.Violations(), "a connection was held twice, used after close or closed twice")
	}))
	return &fixture{sys: pf.Sys, b: b, p: pf.Pool}
}

// acquire leases a connection; call it on the test's goroutine only.
func (f *fixture) acquire(t *testing.T) actorpool.Lease[*membackend.Conn] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	l, err := f.p.Acquire(ctx)
	require.NoError(t, err)
	return l
}

// newSystem returns an actor system that logs nowhere, as a library's host
// would configure it.
func newSystem() *actor.ActorSystem { return pooltest.NewSystem() }

// requireStatsAddUp checks invariant 5, and that the pool is within
// MaxConns, on one snapshot; call it on the test's goroutine only.
var requireStatsAddUp = pooltest.RequireStatsAddUp

// recv receives from ch within eventually; call it on the test's goroutine
// only.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	return pooltest.Recv(t, ch, eventually)
}

// acquireLater acquires on another goroutine and releases at once; the
// channel gets Acquire's error, or Release's.
func (f *fixture) acquireLater(ctx context.Context) <-chan error {
	got := make(chan error, 1)
	go func() {
		l, err := f.p.Acquire(ctx)
		if err == nil {
			err = l.Release()
		}
		got <- err
	}()
	return got
}
