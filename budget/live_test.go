//go:build !race

// Live members of a cluster: see site_test.go for why without -race.

package budget_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

func redisSite(t *testing.T, size int) (*site[*redisbackend.Conn], *redisserver.Server) {
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
	seen := sample(t, 6, srv.ClientCount)
	n := s.start(1)[0]
	took := s.settled(5 * time.Second)
	t.Logf("a lone member holds the budget %v after joining", took)
	assert.Equal(t, 6, n.b.Status().Limit)
	n.busy(20, 2*time.Millisecond)
	waitFor(t, 5*time.Second, "the pool opens the whole budget", func() bool { return n.pool.Stats().Total() == 6 })
	n.quiet()
	seen.check(t, 6)
}

// The budget follows the load from member to member, and the server never
// sees more than the budget: while members start, one gets the load, two
// share it, it moves, a member joins, one leaves, and one crashes.
func TestTheServerNeverSeesMoreThanTheBudgetWhileMembersComeGoAndTheLoadMoves(t *testing.T) {
	const size = 10
	s, srv := redisSite(t, size)
	seen := sample(t, size, srv.ClientCount)
	ns := s.start(3)
	t.Logf("join: three members agree %v after starting", s.settled(5*time.Second))

	ns[0].busy(24, 2*time.Millisecond)
	took := waitFor(t, 5*time.Second, "the loaded member gets all but the idle ones' floors", func() bool {
		return ns[0].b.Status().Limit == size-2 && ns[0].pool.Stats().Total() == size-2
	})
	t.Logf("demand: the loaded member has %d of %d connections open %v after its load began", size-2, size, took)

	ns[1].busy(24, 2*time.Millisecond)
	took = waitFor(t, 5*time.Second, "the second member asks for more", func() bool { return ns[1].b.Status().Demand == size })
	took += s.settled(5 * time.Second)
	t.Logf("demand: two loaded members agree %v after the second's load began", took)
	assert.Equal(t, size-1, ns[0].b.Status().Limit+ns[1].b.Status().Limit, "two loaded members split all but the idle floor")

	ns[0].quiet()
	took = waitFor(t, 5*time.Second, "the load moves to the second member", func() bool {
		return ns[1].b.Status().Limit == size-2 && ns[1].b.Status().Agreed
	})
	t.Logf("demand: the allocation moved %v after the first's load stopped", took)

	joined := s.start(1)[0]
	t.Logf("join: a fourth member agrees %v after starting", s.settled(5*time.Second))
	assert.Equal(t, 1, joined.b.Status().Limit, "the newcomer keeps a floor while the loaded member keeps the rest")

	start := time.Now()
	ns[2].leaveBudget()
	s.settled(5 * time.Second)
	t.Logf("leave: the others agree %v after a member began to leave the budget", time.Since(start))
	ns[2].leave()
	assert.Equal(t, size-2, ns[1].b.Status().Limit)

	start = time.Now()
	ns[1].crash()
	refresh := time.NewTicker(100 * time.Millisecond) // the provider's periodic update
	defer refresh.Stop()
	waitFor(t, 10*time.Second, "the crashed member's share is reclaimed", func() bool {
		select {
		case <-refresh.C:
			s.cl.Refresh()
		default:
		}
		for _, n := range s.live() {
			if st := n.b.Status(); st.Members != 2 || !st.Agreed || st.Limit != st.Share {
				return false
			}
		}
		return true
	})
	t.Logf("crash: the survivors reclaimed the crashed member's share %v after the crash", time.Since(start))
	assert.Equal(t, size, ns[0].b.Status().Limit+joined.b.Status().Limit)
	seen.check(t, size)
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
	seen := sample(t, size, srv.SessionCount)
	ns := s.start(2)
	s.settled(5 * time.Second)

	ns[0].busy(12, 2*time.Millisecond)
	took := waitFor(t, 5*time.Second, "the loaded member gets all but the idle one's floor", func() bool {
		return ns[0].b.Status().Limit == size-1 && ns[0].pool.Stats().Total() == size-1
	})
	t.Logf("demand: %d of %d sessions open on the loaded member %v after its load began", size-1, size, took)

	ns[1].busy(12, 2*time.Millisecond)
	ns[0].quiet()
	took = waitFor(t, 5*time.Second, "the load moves to the other member", func() bool {
		st := ns[1].b.Status()
		return st.Limit == size-1 && st.Agreed
	})
	t.Logf("demand: the allocation moved %v after the load moved", took)

	start := time.Now()
	ns[1].crash()
	refresh := time.NewTicker(100 * time.Millisecond)
	defer refresh.Stop()
	waitFor(t, 10*time.Second, "the crashed member's share is reclaimed", func() bool {
		select {
		case <-refresh.C:
			s.cl.Refresh()
		default:
		}
		st := ns[0].b.Status()
		return st.Members == 1 && st.Limit == size
	})
	t.Logf("crash: reclaimed %v after the crash", time.Since(start))
	seen.check(t, size)
}
