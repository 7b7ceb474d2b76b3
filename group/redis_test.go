package group_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/group"
)

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
	ctx := runCtx(t) // the callers run through every wait below

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
	defer func() { stop.Store(true); wg.Wait() }()
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
					if stop.Load() {
						return // not written: not counted
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
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		oa, errA := replOffset(a)
		ob, errB := replOffset(b)
		if assert.NoError(c, errA) && assert.NoError(c, errB) {
			assert.Equal(c, oa, ob, "b has not caught up with a")
		}
	}, wait, time.Millisecond)
	require.NoError(t, b.Observer().Do(ctx, "REPLICAOF", "NO", "ONE").Err())
	promoted := time.Now()
	host, port, _ := strings.Cut(b.Addr(), ":")
	require.NoError(t, a.Observer().Do(ctx, "REPLICAOF", host, port).Err())
	require.NoError(t, a.Observer().Do(ctx, "CLIENT", "UNPAUSE").Err())

	// Writes resume on b (within wait); the group sees the switch.
	before := stat(info(t, b, "commandstats"), "cmdstat_set", "calls")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		n, err := statOf(b, "commandstats", "cmdstat_set", "calls")
		if assert.NoError(c, err) {
			assert.Greater(c, n, before, "no write reached b since the promotion")
		}
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

	// Nothing lost: every key written with success is on b (and on a,
	// now its replica).
	waitInSync(t, a)
	keys, err := b.Observer().DBSize(ctx).Result()
	require.NoError(t, err)
	assert.Equal(t, written.Load(), keys)
}

// A killed replica costs at most the reads that were on its connections
// (each fails once and is replaced); no read that starts once its pool's
// circuit is open fails, the other replica takes the reads, and the killed
// one serves again by itself after a restart.
func TestRedisAKilledReplicaIsSkippedAndComesBack(t *testing.T) {
	p, rs := replicated(t, 2)
	g := openRedisGroup(t, group.Config{RoleCheckInterval: 50 * time.Millisecond,
		Pool: actorpool.Config{BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond}}, p, rs[0], rs[1])
	ctx := runCtx(t) // the callers run through every wait below

	var (
		stop      atomic.Bool
		mu        sync.Mutex
		lastStart time.Time // start of the last read that failed
		failed    int
	)
	read := func() {
		start := time.Now()
		err := g.WithRead(ctx, func(conn *redisbackend.Conn) error {
			return conn.Exists(ctx, "anything").Err()
		})
		if err != nil && ctx.Err() == nil {
			mu.Lock()
			if failed < 5 {
				t.Logf("read failed: %v", err)
			}
			if start.After(lastStart) {
				lastStart = start
			}
			failed++
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	defer func() { stop.Store(true); wg.Wait() }()
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
	require.Eventually(t, func() bool {
		e, _ := g.Stats().Endpoint("s1")
		return e.Pool().CircuitOpen()
	}, wait, time.Millisecond)
	open := time.Now()
	// Reads go on, on the other replica.
	n := acquired("s2")
	require.Eventually(t, func() bool { return acquired("s2") > n+200 }, wait, time.Millisecond)
	mu.Lock()
	failedAtKill, lastFailed := failed, lastStart
	mu.Unlock()
	e, _ := g.Stats().Endpoint("s1")
	t.Logf("killed replica: %d reads failed, the last started %s before its circuit was seen open", failedAtKill, open.Sub(lastFailed))
	assert.LessOrEqual(t, failedAtKill, e.Pool().MaxConns(), "more reads failed than the killed replica had connections")
	assert.False(t, lastFailed.After(open), "a read that started after the killed replica's circuit was seen open failed")

	rs[0].Restart()
	waitInSync(t, rs[0])
	back := time.Now()
	n = acquired("s1")
	require.Eventually(t, func() bool { return acquired("s1") > n+50 }, wait, time.Millisecond, "the replica never came back")
	t.Logf("the restarted replica served again %s after it was in sync", time.Since(back))
	assert.Zero(t, readonlyRefusals(t, rs[1]))
}
