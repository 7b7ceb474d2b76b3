package group_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

type redisGroup = group.Group[*redisbackend.Conn]

// replicated starts a primary and n replicas of it, and waits until every
// replica is in sync.
func replicated(t *testing.T, n int) (*redisserver.Server, []*redisserver.Server) {
	t.Helper()
	p := redisserver.Start(t)
	var rs []*redisserver.Server
	for range n {
		rs = append(rs, redisserver.Start(t, redisserver.WithReplicaOf(p.Addr())))
	}
	for _, r := range rs {
		waitInSync(t, r)
	}
	return p, rs
}

// runCtx is the context of callers that run through a whole test: it ends
// with the test, or after 8 waits, longer than the test's waits together.
func runCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 8*wait)
	t.Cleanup(cancel)
	return ctx
}

// waitInSync waits until replica r's link to its primary is up.
func waitInSync(t *testing.T, r *redisserver.Server) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		text, err := infoOf(r, "replication")
		if assert.NoError(c, err) {
			assert.Contains(c, text, "master_link_status:up")
		}
	}, wait, 5*time.Millisecond, "replica %s never synced", r.Addr())
}

// info is s's INFO section; an error fails the test (call it on the test
// goroutine).
func info(t *testing.T, s *redisserver.Server, section string) string {
	t.Helper()
	v, err := infoOf(s, section)
	require.NoError(t, err)
	return v
}

// infoOf is s's INFO section, asked within wait.
func infoOf(s *redisserver.Server, section string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return s.Observer().Info(ctx, section).Result()
}

// statOf is stat of s's INFO section.
func statOf(s *redisserver.Server, section, key, field string) (int, error) {
	text, err := infoOf(s, section)
	return stat(text, key, field), err
}

// replOffset is s's master_repl_offset.
func replOffset(s *redisserver.Server) (int, error) {
	text, err := infoOf(s, "replication")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(text, "\r\n") {
		if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("%s: no master_repl_offset in INFO replication", s.Addr())
}

// stat reads field (calls= or count=) of the INFO line starting with
// key, 0 when the line is missing.
func stat(text, key, field string) int {
	for _, line := range strings.Split(text, "\r\n") {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, field+"="); ok {
				n, _ := strconv.Atoi(v)
				return n
			}
		}
	}
	return 0
}

// readonlyRefusals is how many writes the server refused as a replica.
func readonlyRefusals(t *testing.T, s *redisserver.Server) int {
	return stat(info(t, s, "errorstats"), "errorstat_READONLY", "count")
}

// openRedisGroup opens a group over the servers (roles read from them),
// closed when the test ends, with no connection left on any server and no
// goroutine left.
func openRedisGroup(t *testing.T, cfg group.Config, servers ...*redisserver.Server) *redisGroup {
	t.Helper()
	var eps []group.Endpoint[*redisbackend.Conn]
	for i, s := range servers {
		eps = append(eps, redisEndpoint(fmt.Sprintf("s%d", i), s.Addr()))
	}
	return openRedisGroupOf(t, pooltest.NewSystem(), cfg, servers, eps...)
}

// redisEndpoint is an endpoint called name over the server at addr, its
// connections named "pooled" on the server.
func redisEndpoint(name, addr string) group.Endpoint[*redisbackend.Conn] {
	return group.Endpoint[*redisbackend.Conn]{
		Name:    name,
		Backend: redisbackend.New(redisbackend.Options{Addr: addr, ClientName: "pooled"}),
	}
}

// openRedisGroupOf is openRedisGroup on sys over given endpoints; servers
// are those checked for connections left when the test ends.
func openRedisGroupOf(t *testing.T, sys *actor.ActorSystem, cfg group.Config, servers []*redisserver.Server, eps ...group.Endpoint[*redisbackend.Conn]) *redisGroup {
	t.Helper()
	for _, s := range servers {
		s.Observer()
	}
	ignore := []goleak.Option{goleak.IgnoreCurrent(),
		redisserver.Waiters()}
	t.Cleanup(func() { goleak.VerifyNone(t, ignore...) })
	g, err := group.New(sys, cfg, eps...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), pooltest.CloseTimeout)
		defer cancel()
		if err := g.Close(ctx); !errors.Is(err, actorpool.ErrPoolClosed) {
			assert.NoError(t, err)
		}
		s := g.Stats()
		assert.Zero(t, s.Leased())
		for _, e := range s.Endpoints() {
			assert.Zero(t, e.Pool().Revoked(), "%s: a lease was revoked", e.Name())
			pooltest.AssertStatsAddUp(t, e.Pool())
		}
		// A close reaches the server a moment after Close returns.
		for _, srv := range servers {
			assert.Eventually(t, func() bool {
				cs, err := srv.Clients(context.Background())
				if err != nil {
					return true // killed
				}
				for _, c := range cs {
					if c.Name == "pooled" {
						return false
					}
				}
				return true
			}, wait, 5*time.Millisecond, "%s still sees a client of the group", srv.Addr())
		}
	})
	return g
}
