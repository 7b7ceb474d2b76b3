package group_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/pooltest"
)

const wait = 5 * time.Second // bound of every wait in these tests

// roleBackend is a membackend whose "server" has a role that the test
// sets, and that counts writes it receives while it is a replica.
type roleBackend struct {
	*membackend.Backend
	role    atomic.Int32
	writes  atomic.Int64
	refused atomic.Int64 // writes that reached it as a replica
	// roleErr, when set (before the group starts), answers every role
	// check in place of the role.
	roleErr func(ctx context.Context) error
}

var errReadOnly = errors.New("roleBackend: READONLY")

func newRoleBackend(r backends.Role) *roleBackend {
	b := &roleBackend{Backend: membackend.New()}
	b.role.Store(int32(r))
	return b
}

func (b *roleBackend) Role(ctx context.Context, c *membackend.Conn) (backends.Role, error) {
	if err := c.Do(); err != nil {
		return backends.RoleUnknown, err
	}
	if b.roleErr != nil {
		return backends.RoleUnknown, b.roleErr(ctx)
	}
	return backends.Role(b.role.Load()), nil
}

func (b *roleBackend) IsReadOnly(err error) bool { return errors.Is(err, errReadOnly) }

// write is a write as the server sees it: refused when it is a replica.
func (b *roleBackend) write() error {
	if backends.Role(b.role.Load()) == backends.RoleReplica {
		b.refused.Add(1)
		return errReadOnly
	}
	b.writes.Add(1)
	return nil
}

var _ backends.RoleReader[*membackend.Conn] = (*roleBackend)(nil)

// openGroup starts a group on a fresh actor system and, when the test
// ends, closes it and checks that no connection and no goroutine is left.
func openGroup(t *testing.T, cfg group.Config, eps ...group.Endpoint[*membackend.Conn]) *group.Group[*membackend.Conn] {
	t.Helper()
	return openGroupOn(t, pooltest.NewSystem(), cfg, eps...)
}

// openGroupOn is openGroup on a given actor system.
func openGroupOn(t *testing.T, sys *actor.ActorSystem, cfg group.Config, eps ...group.Endpoint[*membackend.Conn]) *group.Group[*membackend.Conn] {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
	g, err := group.New(sys, cfg, eps...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), pooltest.CloseTimeout)
		defer cancel()
		err := g.Close(ctx)
		if !errors.Is(err, actorpool.ErrPoolClosed) {
			assert.NoError(t, err)
		}
		s := g.Stats()
		for _, e := range s.Endpoints() {
			pooltest.AssertStatsAddUp(t, e.Pool())
		}
		assert.Zero(t, s.Leased(), "leases out after Close")
		for _, ep := range eps {
			if b, ok := ep.Backend.(interface{ Live() int }); ok {
				assert.Zero(t, b.Live(), "%s: connections open after Close", ep.Name)
			}
		}
	})
	return g
}

// mem returns an endpoint over a fresh membackend.
func mem(name string, replica bool) (group.Endpoint[*membackend.Conn], *membackend.Backend) {
	b := membackend.New()
	return group.Endpoint[*membackend.Conn]{Name: name, Backend: b, Replica: replica}, b
}

// from returns the index of the backend that dialled c.
func from(t *testing.T, c *membackend.Conn, bs ...*membackend.Backend) int {
	t.Helper()
	for i, b := range bs {
		if slices.Contains(b.Conns(), c) {
			return i
		}
	}
	t.Fatalf("connection %d comes from none of the backends", c.ID)
	return -1
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// Owns reports whether c was dialled by b.
func (b *roleBackend) Owns(c *membackend.Conn) bool { return slices.Contains(b.Conns(), c) }

func newSystem(t *testing.T) *actor.ActorSystem {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	return pooltest.NewSystem()
}
