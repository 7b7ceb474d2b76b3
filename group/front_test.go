package group_test

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
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/messages"
)

// asker is an actor that sends req to the group's front when started and
// passes on what comes back; it holds any lease it is granted.
func asker(front *actor.PID, req any, out chan<- any) *actor.Props {
	return askerOf[*membackend.Conn](front, req, out)
}

// askerOf is asker for a group of connections of type C.
func askerOf[C any](front *actor.PID, req any, out chan<- any) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			ctx.Request(front, req)
		case *messages.Granted[C], *messages.AcquireFailed:
			out <- msg
		}
	})
}

func TestActorsLeaseFromTheGroupByMessage(t *testing.T) {
	p, bp := mem("p", false)
	r, br := mem("r", true)
	sys := pooltest.NewSystem()
	g := openGroupOn(t, sys, group.Config{}, p, r)
	out := make(chan any, 1)

	// A read goes to the replica; the lease is the replica pool's, and
	// its owner is the asking actor: when it stops, the lease is reclaimed.
	pid := sys.Root.Spawn(asker(g.Broker(), &group.AcquireRead{Acquire: messages.Acquire{Timeout: time.Second}}, out))
	granted, ok := pooltest.Recv(t, out, wait).(*messages.Granted[*membackend.Conn])
	require.True(t, ok)
	assert.Equal(t, 1, from(t, granted.Lease.Conn(), bp, br))
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
	require.Eventually(t, func() bool {
		e, _ := g.Stats().Endpoint("r")
		return e.Pool().Reclaimed() == 1 && e.Pool().Leased() == 0
	}, wait, time.Millisecond)
	assert.ErrorIs(t, granted.Lease.Release(), actorpool.ErrLeaseRevoked)

	// A write goes to the primary.
	pid = sys.Root.Spawn(asker(g.Broker(), &messages.Acquire{Timeout: time.Second}, out))
	granted, ok = pooltest.Recv(t, out, wait).(*messages.Granted[*membackend.Conn])
	require.True(t, ok)
	assert.Equal(t, 0, from(t, granted.Lease.Conn(), bp, br))
	require.NoError(t, granted.Lease.Release())
	require.NoError(t, sys.Root.StopFuture(pid).Wait())

	// After Close the front answers ErrPoolClosed.
	require.NoError(t, g.Close(context.Background()))
	pid = sys.Root.Spawn(asker(g.Broker(), &messages.Acquire{}, out))
	failed, ok := pooltest.Recv(t, out, wait).(*messages.AcquireFailed)
	require.True(t, ok)
	assert.ErrorIs(t, failed.Err, actorpool.ErrPoolClosed)
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
}

func TestTheFrontFailsAtOnceWhenNoEndpointCanServe(t *testing.T) {
	a, ba := mem("a", false)
	ba.FailDials(nil)
	sys := pooltest.NewSystem()
	g := openGroupOn(t, sys, group.Config{}, a)
	_, err := g.Acquire(ctxT(t)) // the pool finds a down
	require.ErrorIs(t, err, actorpool.ErrBackendUnavailable)

	out := make(chan any, 1)
	pid := sys.Root.Spawn(asker(g.Broker(), &messages.Acquire{Timeout: time.Minute}, out))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	failed, ok := pooltest.Recv(t, out, wait).(*messages.AcquireFailed)
	require.True(t, ok)
	assert.ErrorIs(t, failed.Err, actorpool.ErrBackendUnavailable)
	assert.ErrorIs(t, failed.Err, membackend.ErrDialRefused)
}

// Right after New, no role has been read yet: the front waits for one
// round of role checks, as Acquire does, instead of failing the actor.
func TestTheFrontWaitsForTheFirstRoundOfRoleChecks(t *testing.T) {
	b := newRoleBackend(backends.RolePrimary)
	sys := pooltest.NewSystem()
	g := openGroupOn(t, sys, group.Config{}, group.Endpoint[*membackend.Conn]{Name: "a", Backend: b})
	out := make(chan any, 1)
	pid := sys.Root.Spawn(asker(g.Broker(), &messages.Acquire{Timeout: 5 * time.Second}, out))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	granted, ok := pooltest.Recv(t, out, wait).(*messages.Granted[*membackend.Conn])
	require.True(t, ok, "the actor is granted a lease from the primary once its role is known")
	require.NoError(t, granted.Lease.Release())
}
