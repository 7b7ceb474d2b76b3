package group_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/internal/testserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
	"github.com/actorpool/actorpool/messages"
)

// refusedAddr is a loopback address that nobody listens on: a connection
// to it is refused.
func refusedAddr(t *testing.T) string {
	t.Helper()
	port, err := testserver.FreePort()
	require.NoError(t, err)
	addr := testserver.LoopbackAddr(port)
	c, err := net.Dial("tcp", addr)
	if err == nil {
		_ = c.Close()
	}
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "someone listens on %s", addr)
	return addr
}

// askFront sends req to the group's front from an actor of sys and
// returns the error of the failure it answers.
func askFront(t *testing.T, sys *actor.ActorSystem, g *redisGroup, req any) error {
	t.Helper()
	out := make(chan any, 1)
	pid := sys.Root.Spawn(askerOf[*redisbackend.Conn](g.Broker(), req, out))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	failed, ok := pooltest.Recv(t, out, wait).(*messages.AcquireFailed)
	require.True(t, ok, "the front granted a lease")
	return failed.Err
}

// assertNamesEach checks that err is the group's "cannot serve": it wraps
// ErrBackendUnavailable and the refused endpoint's own dial error, and
// names each endpoint.
func assertNamesEach(t *testing.T, err error, names ...string) {
	t.Helper()
	require.Error(t, err)
	t.Logf("%v", err)
	assert.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "the refused endpoint's dial error is not in the error")
	for _, n := range names {
		assert.ErrorContains(t, err, n+": ", "endpoint %s is not named", n)
	}
}

// An endpoint refused from the start never gets a role, so no request can
// go to it; when no other endpoint can serve, the group's error (from
// With, Acquire and the front actor alike) joins its dial error and names
// every endpoint with the reason it could not serve.
func TestRedisAnEndpointRefusedFromTheStartIsInTheGroupsError(t *testing.T) {
	ctx := ctxT(t)
	write := func(conn *redisbackend.Conn) error { return conn.Set(ctx, "k", "v", 0).Err() }
	read := func(conn *redisbackend.Conn) error { return conn.Exists(ctx, "k").Err() }

	t.Run("alone", func(t *testing.T) {
		sys := pooltest.NewSystem()
		g := openRedisGroupOf(t, sys, group.Config{}, nil, redisEndpoint("unreached", refusedAddr(t)))
		assertNamesEach(t, g.With(ctx, write), "unreached")
		_, err := g.Acquire(ctx)
		assertNamesEach(t, err, "unreached")
		assertNamesEach(t, g.WithRead(ctx, read), "unreached")
		assertNamesEach(t, askFront(t, sys, g, &messages.Acquire{Timeout: wait}), "unreached")
		assertNamesEach(t, askFront(t, sys, g, &group.AcquireRead{Acquire: messages.Acquire{Timeout: wait}}), "unreached")
	})

	t.Run("writes beside a replica", func(t *testing.T) {
		down := refusedAddr(t)
		r := redisserver.Start(t, redisserver.WithReplicaOf(down))
		sys := pooltest.NewSystem()
		g := openRedisGroupOf(t, sys, group.Config{}, []*redisserver.Server{r},
			redisEndpoint("unreached", down), redisEndpoint("replica", r.Addr()))
		assertNamesEach(t, g.With(ctx, write), "unreached", "replica")
		_, err := g.Acquire(ctx)
		assertNamesEach(t, err, "unreached", "replica")
		assertNamesEach(t, askFront(t, sys, g, &messages.Acquire{Timeout: wait}), "unreached", "replica")
		assert.NoError(t, g.WithRead(ctx, read), "the replica serves reads")
	})

	t.Run("strict reads beside a primary", func(t *testing.T) {
		p := redisserver.Start(t)
		sys := pooltest.NewSystem()
		g := openRedisGroupOf(t, sys, group.Config{StrictReads: true}, []*redisserver.Server{p},
			redisEndpoint("unreached", refusedAddr(t)), redisEndpoint("primary", p.Addr()))
		assertNamesEach(t, g.WithRead(ctx, read), "unreached", "primary")
		_, err := g.AcquireRead(ctx)
		assertNamesEach(t, err, "unreached", "primary")
		assertNamesEach(t, askFront(t, sys, g, &group.AcquireRead{Acquire: messages.Acquire{Timeout: wait}}), "unreached", "primary")
		assert.NoError(t, g.With(ctx, write), "the primary serves writes")
	})
}

// An endpoint that answers but whose role check fails is named with the
// check's error. A check that timed out is named as such, but the group's
// error does not match context.DeadlineExceeded: the caller's context has
// not ended.
func TestAnEndpointWhoseRoleCheckFailsIsNamedWithItsError(t *testing.T) {
	errRole := errors.New("ROLE refused")
	for _, tc := range []struct {
		name    string
		timeout time.Duration // Config.RoleCheckTimeout
		roleErr func(ctx context.Context) error
		is      error
		says    string
	}{
		{"fails", 0, func(context.Context) error { return errRole }, errRole, "a: role not known: role check: ROLE refused"},
		{"times out", 50 * time.Millisecond, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, nil,
			"a: role not known: role check: context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newRoleBackend(backends.RolePrimary)
			b.roleErr = tc.roleErr
			g := openGroup(t, group.Config{RoleCheckTimeout: tc.timeout},
				group.Endpoint[*membackend.Conn]{Name: "a", Backend: b})
			err := g.With(ctxT(t), func(*membackend.Conn) error { return nil })
			require.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
			assert.ErrorContains(t, err, tc.says)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.NotErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}
