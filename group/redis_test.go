package group_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
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

// waitInSync waits until replica r's link to its primary is up.
func waitInSync(t *testing.T, r *redisserver.Server) {
	t.Helper()
	require.Eventually(t, func() bool {
		return strings.Contains(info(t, r, "replication"), "master_link_status:up")
	}, wait, 5*time.Millisecond, "replica %s never synced", r.Addr())
}

func info(t *testing.T, s *redisserver.Server, section string) string {
	t.Helper()
	v, err := s.Observer().Info(context.Background(), section).Result()
	require.NoError(t, err)
	return v
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
			}, 3*time.Second, 5*time.Millisecond, "%s still sees a client of the group", srv.Addr())
		}
	})
	return g
}

func TestRedisWritesReachOnlyThePrimaryAndReadsSpreadOverReplicas(t *testing.T) {
	p, rs := replicated(t, 2)
	g := openRedisGroup(t, group.Config{}, p, rs[0], rs[1])
	ctx := ctxT(t)

	const callers, each = 8, 100
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("k%d-%d", c, i)
				assert.NoError(t, g.With(ctx, func(conn *redisbackend.Conn) error {
					return conn.Set(ctx, key, "v", 0).Err()
				}))
				assert.NoError(t, g.WithRead(ctx, func(conn *redisbackend.Conn) error {
					return conn.Exists(ctx, "anything").Err()
				}), "a read failed")
			}
		})
	}
	wg.Wait()

	// Checked on the servers: every SET ran on the primary, no replica
	// refused a write, and the reads (GET) went to the replicas only.
	ps := info(t, p, "commandstats")
	assert.Equal(t, callers*each, stat(ps, "cmdstat_set", "calls"))
	assert.Zero(t, stat(ps, "cmdstat_exists", "calls"), "a read went to the primary")
	gets := 0
	for _, r := range rs {
		assert.Zero(t, readonlyRefusals(t, r), "a write reached replica %s", r.Addr())
		n := stat(info(t, r, "commandstats"), "cmdstat_exists", "calls")
		assert.Positive(t, n, "replica %s served no read", r.Addr())
		gets += n
	}
	assert.Equal(t, callers*each, gets)
}

func TestRedisPromotionUnderLoadMovesWritesWithNothingLost(t *testing.T) {
	a, rs := replicated(t, 1)
	b := rs[0]
	g := openRedisGroup(t, group.Config{RoleCheckInterval: 50 * time.Millisecond}, a, b)
	ctx := ctxT(t)

	// Writers write distinct keys; a write refused (READONLY) or with no
	// primary to go to is retried, so every key is written exactly once
	// with success.
	var (
		stop    atomic.Bool
		written atomic.Int64
		retried atomic.Int64
		mu      sync.Mutex
		lastRef time.Time // start of the last write refused as read-only
	)
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				key := fmt.Sprintf("w%d-%d", c, i)
				for {
					start := time.Now()
					err := g.With(ctx, func(conn *redisbackend.Conn) error {
						return conn.Set(ctx, key, "v", 0).Err()
					})
					if err == nil {
						written.Add(1)
						break
					}
					if ctx.Err() != nil {
						t.Errorf("write %s: %v", key, err)
						return
					}
					retried.Add(1)
					if strings.HasPrefix(err.Error(), "READONLY") {
						mu.Lock()
						if start.After(lastRef) {
							lastRef = start
						}
						mu.Unlock()
					}
				}
			}
		})
	}
	require.Eventually(t, func() bool { return written.Load() > 200 }, wait, time.Millisecond)

	// Switch over: pause writes on a, wait for b to catch up, promote b,
	// make a its replica.
	require.NoError(t, a.Observer().Do(ctx, "CLIENT", "PAUSE", "5000", "WRITE").Err())
	offset := func(s *redisserver.Server) int {
		for _, line := range strings.Split(info(t, s, "replication"), "\r\n") {
			if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
				n, _ := strconv.Atoi(v)
				return n
			}
		}
		return -1
	}
	require.Eventually(t, func() bool { return offset(b) == offset(a) }, wait, time.Millisecond)
	require.NoError(t, b.Observer().Do(ctx, "REPLICAOF", "NO", "ONE").Err())
	promoted := time.Now()
	host, port, _ := strings.Cut(b.Addr(), ":")
	require.NoError(t, a.Observer().Do(ctx, "REPLICAOF", host, port).Err())
	require.NoError(t, a.Observer().Do(ctx, "CLIENT", "UNPAUSE").Err())

	// Writes resume on b; the group sees the switch.
	before := stat(info(t, b, "commandstats"), "cmdstat_set", "calls")
	require.Eventually(t, func() bool {
		return stat(info(t, b, "commandstats"), "cmdstat_set", "calls") > before
	}, wait, time.Millisecond)
	resumed := time.Since(promoted)
	require.Eventually(t, func() bool {
		s := g.Stats()
		ea, _ := s.Endpoint("s0")
		eb, _ := s.Endpoint("s1")
		return ea.Role() == backends.RoleReplica && eb.Role() == backends.RolePrimary
	}, wait, time.Millisecond)
	seen := time.Now()
	n := written.Load()
	require.Eventually(t, func() bool { return written.Load() > n+200 }, wait, time.Millisecond)
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	t.Logf("writes resumed on the promoted replica %s after promotion; %d writes retried; the last write refused started %s before the switch was seen",
		resumed, retried.Load(), seen.Sub(lastRef))
	assert.False(t, lastRef.After(seen), "a write that started after the group saw the switch was refused as read-only")
	mu.Unlock()
	assert.Less(t, resumed, time.Second, "writes resumed more than 1s after the promotion")

	// Nothing lost: every key written with success is on b (and on a,
	// now its replica).
	waitInSync(t, a)
	keys, err := b.Observer().DBSize(ctx).Result()
	require.NoError(t, err)
	assert.Equal(t, written.Load(), keys)
}

func TestRedisAKilledReplicaIsSkippedAndComesBack(t *testing.T) {
	p, rs := replicated(t, 2)
	g := openRedisGroup(t, group.Config{RoleCheckInterval: 50 * time.Millisecond,
		Pool: actorpool.Config{BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond}}, p, rs[0], rs[1])
	ctx := ctxT(t)

	var (
		stop    atomic.Bool
		mu      sync.Mutex
		lastErr time.Time
		failed  int
	)
	read := func() {
		err := g.WithRead(ctx, func(conn *redisbackend.Conn) error {
			return conn.Exists(ctx, "anything").Err()
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			mu.Lock()
			if failed < 5 {
				t.Logf("read failed: %v", err)
			}
			lastErr, failed = time.Now(), failed+1
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				read()
			}
		})
	}
	acquired := func(name string) uint64 {
		e, _ := g.Stats().Endpoint(name)
		return e.Pool().Acquired()
	}
	require.Eventually(t, func() bool { return acquired("s1") > 50 && acquired("s2") > 50 }, wait, time.Millisecond)

	rs[0].Kill()
	killed := time.Now()
	require.Eventually(t, func() bool {
		e, _ := g.Stats().Endpoint("s1")
		return e.Pool().CircuitOpen()
	}, wait, time.Millisecond)
	// Reads go on, on the other replica.
	n := acquired("s2")
	require.Eventually(t, func() bool { return acquired("s2") > n+200 }, wait, time.Millisecond)
	mu.Lock()
	skippedAfter := lastErr.Sub(killed)
	failedAtKill := failed
	mu.Unlock()

	rs[0].Restart()
	waitInSync(t, rs[0])
	back := time.Now()
	n = acquired("s1")
	require.Eventually(t, func() bool { return acquired("s1") > n+50 }, wait, time.Millisecond, "the replica never came back")
	stop.Store(true)
	wg.Wait()

	t.Logf("killed replica: %d reads failed, the last %s after the kill; back in %s", failedAtKill, skippedAfter, time.Since(back))
	assert.LessOrEqual(t, failedAtKill, 16, "more reads failed than connections were open on the killed replica")
	assert.Less(t, skippedAfter, 500*time.Millisecond)
	assert.Zero(t, readonlyRefusals(t, rs[1]))
}
