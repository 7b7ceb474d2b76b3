//go:build !race

// Members whose pools replace connections all the time: see site_test.go
// for why without -race.

package budget_test

import (
	"context"
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
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/budget"
	"github.com/actorpool/actorpool/internal/clustertest"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

type redisNode = clustertest.Node[*redisbackend.Conn]

// The server never sees more than the budget, nor more than a member's
// limit from that member, while one member marks many of its leases
// broken: its pool replaces each connection only once the server let go of
// the one it replaces.
func TestAMemberReplacingConnectionsNeverShowsTheServerMoreThanItsLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every int64
	}{
		{"every 3rd lease broken", 3},
		{"every 10th lease broken", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const size = 12
			ns, mc := namedRedisSite(t, budgetOf("redis", size), 3)
			for _, n := range ns {
				require.Equal(t, size/3, n.Share.Status().Limit, "three members split the budget evenly")
			}
			broken := ns[0].Pool.Stats().Broken()
			load(t, ns[0], 12, tc.every)
			load(t, ns[1], 12, 0)
			load(t, ns[2], 12, 0)
			w := watchMembers(t, mc, size, ns, 3*time.Second)
			w.wait()
			replaced := ns[0].Pool.Stats().Broken() - broken
			t.Logf("%s replaced %d connections in %v", memberName(0), replaced, w.took.Round(time.Millisecond))
			w.check(t)
			assert.Greater(t, replaced, uint64(50), "the member replaced connections")
		})
	}
}

// A member replacing connections counts no more than its limit against
// the budget, so the others still grow to their shares: a loaded member
// grows past the even split while another marks every lease broken, and
// the server sees no more than the limits as they move. Settle is the
// Window, so that the member replaces connections within every Settle.
func TestAMemberReplacingConnectionsDoesNotHoldTheOthersBack(t *testing.T) {
	const size = 12
	cfg := budgetOf("redis", size)
	cfg.Settle = cfg.Window
	ns, mc := namedRedisSite(t, cfg, 3)
	w := watchMembers(t, mc, size, ns, 2*time.Second)
	broken := ns[1].Pool.Stats().Broken()
	load(t, ns[1], 4, 1)
	load(t, ns[0], 24, 0)
	took := waitFor(t, 5*time.Second, "the loaded member grows past the even split", func() bool {
		st := ns[0].Share.Status()
		return st.Agreed && st.Limit == st.Share && st.Limit > size/3
	})
	t.Logf("the loaded member holds %d of %d %v after its load began, while %s replaced %d connections",
		ns[0].Share.Status().Limit, size, took.Round(time.Millisecond), memberName(1), ns[1].Pool.Stats().Broken()-broken)
	w.wait()
	w.check(t)
}

// namedRedisSite starts n members sharing the budget cfg on one
// redis-server, and waits until they agree. Member i's pool names its
// connections memberName(i) and dials them through mc.
func namedRedisSite(t *testing.T, cfg budget.Config, n int) ([]*redisNode, *memberClients) {
	mc := newMemberClients(redisserver.Start(t), n)
	var next atomic.Int32 // the site joins its members' pools in order
	s := newSiteOf(t, cfg,
		func() backends.Backend[*redisbackend.Conn] {
			i := int(next.Add(1) - 1)
			return redisbackend.New(redisbackend.Options{
				Addr: mc.srv.Addr(), ClientName: memberName(i), Dialer: mc.dialer(i),
			})
		},
		func(ctx context.Context, c *redisbackend.Conn) error { return c.Ping(ctx).Err() })
	ns := start(t, s, n)
	settled(t, s)
	return ns, mc
}

func memberName(i int) string { return fmt.Sprintf("member-%d", i) }

var errMarked = errors.New("the test marks this lease broken")

// load has workers lease connections of n's pool, ping, hold each for
// 2 ms and give it back, marking every breakEvery-th lease broken (none
// when 0), until the test ends.
func load(t *testing.T, n *redisNode, workers int, breakEvery int64) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { // before the site closes: cleanups run last first
		cancel()
		wg.Wait()
	})
	var leases atomic.Int64
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				l, err := n.Pool.Acquire(ctx)
				if errors.Is(err, actorpool.ErrPoolClosed) {
					return
				} else if err != nil {
					continue
				}
				err = l.Conn().Ping(ctx).Err()
				if err == nil {
					select {
					case <-time.After(2 * time.Millisecond):
					case <-ctx.Done():
					}
				}
				if k := leases.Add(1); err != nil || breakEvery > 0 && k%breakEvery == 0 {
					_ = l.MarkBroken(errMarked)
				} else {
					_ = l.Release()
				}
			}
		})
	}
}
