package group_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/pooltest"
)

func TestLeasesComeFromEveryEndpointAndEndOnTheirOwnPool(t *testing.T) {
	a, ba := mem("a", false)
	b, bb := mem("b", false)
	g := openGroup(t, group.Config{Picker: group.RoundRobin()}, a, b)
	ctx := ctxT(t)

	var leases []actorpool.Lease[*membackend.Conn]
	seen := [2]int{}
	for range 6 {
		l, err := g.Acquire(ctx)
		require.NoError(t, err)
		seen[from(t, l.Conn(), ba, bb)]++
		leases = append(leases, l)
	}
	assert.Equal(t, [2]int{3, 3}, seen, "round-robin takes the endpoints in turn")
	s := g.Stats()
	assert.Equal(t, 6, s.Leased())
	ea, _ := s.Endpoint("a")
	assert.Equal(t, 3, ea.Pool().Leased())
	for _, l := range leases {
		require.NoError(t, l.Release())
		assert.ErrorIs(t, l.Release(), actorpool.ErrLeaseReleased)
	}
	s = g.Stats()
	assert.Zero(t, s.Leased())
	assert.Equal(t, uint64(6), s.Acquired())
}

func TestWritesGoToThePrimaryAndReadsToReplicas(t *testing.T) {
	p, bp := mem("primary", false)
	r1, br1 := mem("r1", true)
	r2, br2 := mem("r2", true)
	g := openGroup(t, group.Config{}, p, r1, r2)
	ctx := ctxT(t)
	bs := []*membackend.Backend{bp, br1, br2}

	reads := [3]int{}
	for range 40 {
		require.NoError(t, g.With(ctx, func(c *membackend.Conn) error {
			assert.Equal(t, 0, from(t, c, bs...), "a write reached a replica")
			return nil
		}))
		require.NoError(t, g.WithRead(ctx, func(c *membackend.Conn) error {
			reads[from(t, c, bs...)]++
			return nil
		}))
	}
	assert.Zero(t, reads[0], "a read went to the primary while replicas could serve")
	assert.Positive(t, reads[1])
	assert.Positive(t, reads[2])
}

func TestReadsFallBackToThePrimaryUnlessStrict(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("StrictReads=%v", strict), func(t *testing.T) {
			p, bp := mem("primary", false)
			r, br := mem("replica", true)
			br.FailDials(nil)
			g := openGroup(t, group.Config{StrictReads: strict}, p, r)
			ctx := ctxT(t)

			l, err := g.AcquireRead(ctx)
			if strict {
				require.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
				assert.ErrorIs(t, err, membackend.ErrDialRefused)
				assert.ErrorContains(t, err, "replica")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 0, from(t, l.Conn(), bp, br))
			require.NoError(t, l.Release())
		})
	}
}

func TestADeadEndpointIsSkippedAndAllDownWrapsEachError(t *testing.T) {
	a, ba := mem("a", false)
	b, bb := mem("b", false)
	ba.FailDials(nil)
	g := openGroup(t, group.Config{Picker: group.RoundRobin(), Pool: actorpool.Config{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}}, a, b)
	ctx := ctxT(t)

	for range 10 {
		require.NoError(t, g.With(ctx, func(c *membackend.Conn) error {
			assert.Equal(t, 1, from(t, c, ba, bb))
			return nil
		}))
	}

	errB := errors.New("b refuses")
	bb.FailDials(errB)
	for _, c := range bb.Conns() {
		c.Break()
	}
	// b's idle connections are found broken when used; its pool then
	// fails fast, and so does the group.
	var err error
	require.Eventually(t, func() bool {
		err = g.With(ctx, func(c *membackend.Conn) error { return c.Do() })
		return errors.Is(err, actorpool.ErrBackendUnavailable)
	}, wait, time.Millisecond)
	assert.ErrorIs(t, err, membackend.ErrDialRefused, "a's dial error")
	assert.ErrorIs(t, err, errB, "b's dial error")
	assert.ErrorContains(t, err, "a: ")
	assert.ErrorContains(t, err, "b: ")

	ba.Heal()
	require.Eventually(t, func() bool { return g.With(ctx, func(*membackend.Conn) error { return nil }) == nil },
		wait, time.Millisecond, "a came back by itself")
}

func TestRemoveDrainsTheEndpoint(t *testing.T) {
	a, ba := mem("a", false)
	b, bb := mem("b", false)
	g := openGroup(t, group.Config{Picker: group.RoundRobin()}, a, b)
	ctx := ctxT(t)

	// Hold one lease on each endpoint.
	held := map[int]actorpool.Lease[*membackend.Conn]{}
	for len(held) < 2 {
		l, err := g.Acquire(ctx)
		require.NoError(t, err)
		i := from(t, l.Conn(), ba, bb)
		if _, ok := held[i]; ok {
			require.NoError(t, l.Release())
			continue
		}
		held[i] = l
	}

	removed := make(chan error, 1)
	go func() { removed <- g.Remove(ctx, "a") }()
	require.Eventually(t, func() bool {
		e, ok := g.Stats().Endpoint("a")
		return ok && e.Draining()
	}, wait, time.Millisecond)
	for range 10 {
		require.NoError(t, g.With(ctx, func(c *membackend.Conn) error {
			assert.Equal(t, 1, from(t, c, ba, bb), "a draining endpoint got a lease")
			return nil
		}))
	}
	select {
	case err := <-removed:
		t.Fatalf("Remove returned (%v) while a lease was out", err)
	default:
	}
	assert.True(t, held[0].Valid(), "the lease out ends normally")
	require.NoError(t, held[0].Release())
	select {
	case err := <-removed:
		require.NoError(t, err)
	case <-time.After(wait):
		t.Fatal("Remove did not return once the lease ended")
	}
	assert.Zero(t, ba.Live(), "a's connections are closed")
	_, ok := g.Stats().Endpoint("a")
	assert.False(t, ok)
	require.NoError(t, held[1].Release())
	assert.ErrorIs(t, g.Remove(ctx, "a"), group.ErrUnknownEndpoint)
}

func TestAddAndSetWeightAreValidated(t *testing.T) {
	a, _ := mem("a", false)
	g := openGroup(t, group.Config{Picker: group.Weighted()}, a)
	ctx := ctxT(t)

	dup, _ := mem("a", false)
	assert.ErrorIs(t, g.Add(dup), actorpool.ErrInvalidConfig)
	bad, _ := mem("bad", false)
	bad.Pool = &actorpool.Config{MinConns: 3, MaxConns: 1}
	assert.ErrorIs(t, g.Add(bad), actorpool.ErrInvalidConfig)
	assert.ErrorIs(t, g.SetWeight("a", -1), actorpool.ErrInvalidConfig)
	assert.ErrorIs(t, g.SetWeight("nope", 1), group.ErrUnknownEndpoint)
	assert.Len(t, g.Stats().Endpoints(), 1, "a refused Add changes nothing")

	b, bb := mem("b", false)
	require.NoError(t, g.Add(b))
	require.NoError(t, g.SetWeight("a", 0))
	for range 20 {
		require.NoError(t, g.With(ctx, func(c *membackend.Conn) error {
			assert.Contains(t, bb.Conns(), c, "weight 0 took a request")
			return nil
		}))
	}
	e, _ := g.Stats().Endpoint("a")
	assert.Zero(t, e.Weight())
}

func TestNewRejectsBadConfigAndLeavesNothingRunning(t *testing.T) {
	a, ba := mem("a", false)
	a2, _ := mem("a", false)
	sys := newSystem(t)
	_, err := group.New(sys, group.Config{}, a, a2)
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	_, err = group.New(sys, group.Config{RoleCheckInterval: -1}, a)
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	_, err = group.New(sys, group.Config{}, group.Endpoint[*membackend.Conn]{Name: "x"})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	assert.Zero(t, ba.Live())
}

func TestCloseEndsEverything(t *testing.T) {
	a, _ := mem("a", false)
	g := openGroup(t, group.Config{}, a)
	ctx := ctxT(t)
	l, err := g.Acquire(ctx)
	require.NoError(t, err)

	closed := make(chan error, 1)
	go func() { closed <- g.Close(ctx) }()
	require.Eventually(t, func() bool {
		l, err := g.Acquire(ctx)
		if err == nil {
			_ = l.Release() // won the race with Close
		}
		return errors.Is(err, actorpool.ErrPoolClosed)
	}, wait, time.Millisecond)
	require.NoError(t, l.Release())
	require.NoError(t, <-closed)
	assert.ErrorIs(t, g.Close(ctx), actorpool.ErrPoolClosed)
	assert.ErrorIs(t, g.Add(a), actorpool.ErrPoolClosed)
}

func TestStatsAddUpUnderLoad(t *testing.T) {
	var eps []group.Endpoint[*membackend.Conn]
	for i := range 3 {
		ep, _ := mem(fmt.Sprintf("e%d", i), i > 0)
		ep.Pool = &actorpool.Config{MaxConns: 3}
		eps = append(eps, ep)
	}
	g := openGroup(t, group.Config{}, eps...)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 200 {
				f := g.With
				if i%2 == 0 {
					f = g.WithRead
				}
				assert.NoError(t, f(ctx, func(c *membackend.Conn) error { return c.Do() }))
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	snapshots := 0
	for running := true; running; snapshots++ {
		select {
		case <-done:
			running = false
		default:
		}
		s := g.Stats()
		assert.LessOrEqual(t, s.Total(), 9)
		assert.LessOrEqual(t, s.Leased(), 9)
		for _, ep := range s.Endpoints() {
			pooltest.RequireStatsAddUp(t, ep.Pool())
		}
	}
	t.Logf("%d snapshots while the load ran", snapshots)
	assert.Equal(t, uint64(16*200), g.Stats().Acquired())
}

func TestRolesAreReadFromTheServersAndFollowAPromotion(t *testing.T) {
	ba := newRoleBackend(backends.RolePrimary)
	bb := newRoleBackend(backends.RoleReplica)
	g := openGroup(t, group.Config{RoleCheckInterval: time.Hour},
		group.Endpoint[*membackend.Conn]{Name: "a", Backend: ba},
		group.Endpoint[*membackend.Conn]{Name: "b", Backend: bb, Replica: false})
	ctx := ctxT(t)
	write := func(c *membackend.Conn) error {
		for _, b := range []*roleBackend{ba, bb} {
			if b.Owns(c) {
				return b.write()
			}
		}
		return errors.New("unknown connection")
	}

	// The first write waits for the first round of checks.
	for range 20 {
		require.NoError(t, g.With(ctx, write))
	}
	assert.Equal(t, int64(20), ba.writes.Load())
	assert.Zero(t, bb.refused.Load())
	e, _ := g.Stats().Endpoint("b")
	assert.Equal(t, backends.RoleReplica, e.Role())

	// Switch over: b is promoted, a demoted. The first write refused as
	// read-only has the roles read again at once (the interval is an
	// hour); once the group has seen the switch, every write goes to b.
	bb.role.Store(int32(backends.RolePrimary))
	ba.role.Store(int32(backends.RoleReplica))
	assert.ErrorIs(t, g.With(ctx, write), errReadOnly)
	require.Eventually(t, func() bool {
		s := g.Stats()
		a, _ := s.Endpoint("a")
		b, _ := s.Endpoint("b")
		return a.Role() == backends.RoleReplica && b.Role() == backends.RolePrimary
	}, wait, time.Millisecond)
	refused := ba.refused.Load()
	for range 50 {
		require.NoError(t, g.With(ctx, write))
	}
	assert.Equal(t, refused, ba.refused.Load(), "a write reached the demoted primary after the switch was seen")
	assert.Equal(t, int64(50), bb.writes.Load())
}

func TestRemovingAnEndpointUnderLoadDrainsCleanly(t *testing.T) {
	var eps []group.Endpoint[*membackend.Conn]
	var bs []*membackend.Backend
	for i := range 3 {
		ep, b := mem(fmt.Sprintf("e%d", i), false)
		ep.Pool = &actorpool.Config{MaxConns: 3}
		eps, bs = append(eps, ep), append(bs, b)
	}
	g := openGroup(t, group.Config{}, eps...)
	ctx := ctxT(t)

	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			for !stop.Load() {
				assert.NoError(t, g.With(ctx, func(c *membackend.Conn) error { return c.Do() }))
			}
		})
	}
	require.Eventually(t, func() bool { return g.Stats().Acquired() > 300 }, wait, time.Millisecond)
	require.NoError(t, g.Remove(ctx, "e1"))
	assert.Zero(t, bs[1].Live(), "the removed endpoint's connections are closed")
	n := g.Stats().Acquired()
	require.Eventually(t, func() bool { return g.Stats().Acquired() > n+300 }, wait, time.Millisecond)
	stop.Store(true)
	wg.Wait()

	s := g.Stats()
	assert.Len(t, s.Endpoints(), 2)
	for _, e := range s.Endpoints() {
		assert.Zero(t, e.Pool().Revoked(), "%s: a lease was revoked", e.Name())
	}
	assert.Zero(t, bs[1].Violations())
}
