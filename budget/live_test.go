//go:build !race

// Live members of a cluster: see site_test.go for why without -race.

package budget_test

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/budget"
	"github.com/actorpool/actorpool/internal/clustertest"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

func redisSite(t *testing.T, size int) (*clustertest.Site[*redisbackend.Conn], *redisserver.Server) {
	srv := redisserver.Start(t)
	s := newSite(t, "redis", size,
		func() backends.Backend[*redisbackend.Conn] {
			return redisbackend.New(redisbackend.Options{Addr: srv.Addr()})
		},
		func(ctx context.Context, c *redisbackend.Conn) error { return c.Ping(ctx).Err() })
	return s, srv
}

func TestALoneMemberGetsTheWholeBudget(t *testing.T) {
	s, srv := redisSite(t, 6)
	check := sample(t, 6, srv.ClientCount)
	n := start(t, s, 1)[0]
	t.Logf("a lone member holds the budget %v after joining", settled(t, s))
	assert.Equal(t, 6, n.Share.Status().Limit)
	n.Busy(20, 2*time.Millisecond)
	waitFor(t, 5*time.Second, "the pool opens the whole budget", func() bool { return n.Pool.Stats().Total() == 6 })
	n.Quiet()
	check()
}

// The budget follows the load from member to member, and the server never
// sees more than the budget: while members start, one gets the load, two
// share it, it moves, a member joins, one leaves, and one crashes.
func TestTheServerNeverSeesMoreThanTheBudgetWhileMembersComeGoAndTheLoadMoves(t *testing.T) {
	const size = 10
	s, srv := redisSite(t, size)
	check := sample(t, size, srv.ClientCount)
	ns := start(t, s, 3)
	t.Logf("join: three members agree %v after starting", settled(t, s))

	ns[0].Busy(24, 2*time.Millisecond)
	took := waitFor(t, 5*time.Second, "the loaded member gets all but the idle ones' floors", func() bool {
		return ns[0].Share.Status().Limit == size-2 && ns[0].Pool.Stats().Total() == size-2
	})
	t.Logf("demand: the loaded member has %d of %d connections open %v after its load began", size-2, size, took)

	ns[1].Busy(24, 2*time.Millisecond)
	took = waitFor(t, 5*time.Second, "the second member asks for more", func() bool { return ns[1].Share.Status().Demand == size })
	took += settled(t, s)
	t.Logf("demand: two loaded members agree %v after the second's load began", took)
	assert.Equal(t, size-1, ns[0].Share.Status().Limit+ns[1].Share.Status().Limit, "two loaded members split all but the idle floor")

	ns[0].Quiet()
	took = waitFor(t, 5*time.Second, "the load moves to the second member", func() bool {
		st := ns[1].Share.Status()
		return st.Limit == size-2 && st.Agreed
	})
	t.Logf("demand: the allocation moved %v after the first's load stopped", took)

	joined := start(t, s, 1)[0]
	t.Logf("join: a fourth member agrees %v after starting", settled(t, s))
	assert.Equal(t, 1, joined.Share.Status().Limit, "the newcomer keeps a floor while the loaded member keeps the rest")

	begin := time.Now()
	require.NoError(t, ns[2].LeaveBudget(context.Background()))
	settled(t, s)
	t.Logf("leave: the others agree %v after a member began to leave the budget", time.Since(begin))
	assert.Equal(t, size-2, ns[1].Share.Status().Limit)

	ns[1].Crash()
	took = reclaimed(t, s, func() bool { return len(s.Live()) == 2 && s.Settled() })
	t.Logf("crash: the survivors reclaimed the crashed member's share %v after the crash", took)
	assert.Equal(t, size, ns[0].Share.Status().Limit+joined.Share.Status().Limit)
	check()
}

func TestMariaDBSessionsStayWithinTheBudgetAsTheLoadMovesAndAMemberCrashes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := mariadbserver.Start(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	const size = 6
	s := newSite(t, "mariadb", size,
		func() backends.Backend[*mysqlbackend.Conn] {
			return mysqlbackend.New(mysqlbackend.Options{DSN: srv.DSN()})
		},
		func(ctx context.Context, c *mysqlbackend.Conn) error {
			_, err := c.ExecContext(ctx, "DO 1")
			return err
		})
	check := sample(t, size, srv.SessionCount)
	ns := start(t, s, 2)
	settled(t, s)

	ns[0].Busy(12, 2*time.Millisecond)
	took := waitFor(t, 5*time.Second, "the loaded member gets all but the idle one's floor", func() bool {
		return ns[0].Share.Status().Limit == size-1 && ns[0].Pool.Stats().Total() == size-1
	})
	t.Logf("demand: %d of %d sessions open on the loaded member %v after its load began", size-1, size, took)

	ns[1].Busy(12, 2*time.Millisecond)
	ns[0].Quiet()
	took = waitFor(t, 5*time.Second, "the load moves to the other member", func() bool {
		st := ns[1].Share.Status()
		return st.Limit == size-1 && st.Agreed
	})
	t.Logf("demand: the allocation moved %v after the load moved", took)

	ns[1].Crash()
	took = reclaimed(t, s, func() bool {
		st := ns[0].Share.Status()
		return st.Members == 1 && st.Limit == size
	})
	t.Logf("crash: reclaimed %v after the crash", took)
	check()
}

func TestJoinRefusesAMemberWithoutTheBudgetsKind(t *testing.T) {
	cl := clustertest.New(clustertest.Options{})
	m, err := cl.Start()
	require.NoError(t, err)
	defer m.Leave()
	p, err := actorpool.New(pooltest.NewSystem(), membackend.New(), actorpool.Config{})
	require.NoError(t, err)
	defer p.Close(context.Background())
	_, err = budget.Join(m.Cluster, p, budget.Config{Name: "db", Budget: 4})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	assert.Equal(t, 10, p.Stats().MaxConns(), "the pool's limits are untouched")
}

func TestAMemberReportsItsStatusAsGauges(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	cl := clustertest.New(clustertest.Options{Kinds: []*cluster.Kind{budget.Kind("db")}})
	m, err := cl.Start()
	require.NoError(t, err)
	defer m.Leave()
	p, err := actorpool.New(pooltest.NewSystem(), membackend.New(), actorpool.Config{})
	require.NoError(t, err)
	defer p.Close(context.Background())
	cfg := testBudget
	cfg.Name, cfg.Budget, cfg.MeterProvider = "db", 5, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	b, err := budget.Join(m.Cluster, p, cfg)
	require.NoError(t, err)
	waitFor(t, 5*time.Second, "the lone member holds the budget", func() bool { return b.Status().Limit == 5 })

	gauges := func() map[string]int64 {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		out := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, mt := range sm.Metrics {
				g, ok := mt.Data.(metricdata.Gauge[int64])
				require.True(t, ok, mt.Name)
				require.Len(t, g.DataPoints, 1, mt.Name)
				name, _ := g.DataPoints[0].Attributes.Value("actorpool.budget.name")
				assert.Equal(t, "db", name.AsString(), mt.Name)
				out[mt.Name] = g.DataPoints[0].Value
			}
		}
		return out
	}
	got := gauges()
	assert.Equal(t, map[string]int64{
		"actorpool.budget.limit": 5, "actorpool.budget.share": 5, "actorpool.budget.claim": 5,
		"actorpool.budget.demand": 0, "actorpool.budget.members": 1, "actorpool.budget.size": 5,
		"actorpool.budget.agreed": 1,
	}, got)
	require.NoError(t, b.Leave(context.Background()))
	assert.Empty(t, gauges(), "a member that left reports nothing")
}

func TestAMemberWhoseClusterStopsFirstClosesItsPoolAndOneMemberHasOnePoolPerBudget(t *testing.T) {
	cl := clustertest.New(clustertest.Options{Kinds: []*cluster.Kind{budget.Kind("db")}})
	m, err := cl.Start()
	require.NoError(t, err)
	p, err := actorpool.New(pooltest.NewSystem(), membackend.New(), actorpool.Config{})
	require.NoError(t, err)
	defer p.Close(context.Background())
	cfg := testBudget
	cfg.Name, cfg.Budget = "db", 5
	b, err := budget.Join(m.Cluster, p, cfg)
	require.NoError(t, err)
	other, err := actorpool.New(pooltest.NewSystem(), membackend.New(), actorpool.Config{})
	require.NoError(t, err)
	defer other.Close(context.Background())
	_, err = budget.Join(m.Cluster, other, cfg)
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "a second pool in the same budget on the same member")
	assert.ErrorContains(t, err, "this cluster member has a pool in budget")
	waitFor(t, 5*time.Second, "the lone member holds the budget", func() bool { return p.Stats().MaxConns() == 5 })

	m.Leave() // the cluster member shuts down before the budget is left
	waitFor(t, 5*time.Second, "the pool is set to 0", func() bool { return p.Stats().MaxConns() == 0 })
	assert.ErrorIs(t, b.Leave(context.Background()), budget.ErrStopped)
	assert.ErrorIs(t, b.Leave(context.Background()), budget.ErrLeft)
}
