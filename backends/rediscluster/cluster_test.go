package rediscluster_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/backends/rediscluster"
)

func TestEveryKeyGoesToThePrimaryThatServesItsSlot(t *testing.T) {
	c, servers := open(t, rediscluster.Config{})
	ctx := testCtx(t, 30*time.Second)
	cmds := c.Commands()
	const n = 300
	for i := range n {
		require.NoError(t, cmds.Set(ctx, "key:"+strconv.Itoa(i), i, 0).Err())
	}
	// A pipeline is split by node, and its replies come back in order.
	_, err := cmds.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range n {
			p.Set(ctx, "piped:"+strconv.Itoa(i), i, 0)
		}
		return nil
	})
	require.NoError(t, err)
	gets, err := cmds.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range n {
			p.Get(ctx, "piped:"+strconv.Itoa(i))
		}
		return nil
	})
	require.NoError(t, err)
	for i, g := range gets {
		assert.Equal(t, strconv.Itoa(i), g.(*redis.StringCmd).Val())
	}

	for _, prefix := range []string{"key:", "piped:"} {
		for i := range n {
			k := prefix + strconv.Itoa(i)
			owner, err := servers.Owner(ctx, k)
			require.NoError(t, err)
			// On its owner, read without redirection.
			v, err := servers.Node(owner).Observer().Get(ctx, k).Result()
			require.NoError(t, err, k)
			assert.Equal(t, strconv.Itoa(i), v)
		}
	}
	primaries, err := servers.Primaries(ctx)
	require.NoError(t, err)
	served := map[string]uint64{}
	for _, ns := range c.Stats().Nodes() {
		served[ns.Addr] = ns.Stats.Commands()
	}
	for _, p := range primaries {
		assert.GreaterOrEqual(t, served[p], uint64(n/len(primaries)/2), "commands served by %s", p)
	}
}

func TestHashTagsKeepKeysTogetherAndCrossSlotCommandsFail(t *testing.T) {
	c, _ := open(t, rediscluster.Config{})
	ctx := testCtx(t, 10*time.Second)
	cmds := c.Commands()
	require.NoError(t, cmds.MSet(ctx, "{user:1}:name", "ada", "{user:1}:city", "london").Err())
	vals, err := cmds.MGet(ctx, "{user:1}:name", "{user:1}:city").Result()
	require.NoError(t, err)
	assert.Equal(t, []any{"ada", "london"}, vals)

	// A transaction on one slot.
	_, err = cmds.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "{user:1}:visits")
		p.Incr(ctx, "{user:1}:visits")
		return nil
	})
	require.NoError(t, err)
	visits, err := cmds.Get(ctx, "{user:1}:visits").Int()
	require.NoError(t, err)
	assert.Equal(t, 2, visits)

	// Keys on different slots, found by their slots.
	err = cmds.Do(ctx, "MSET", "a", "1", "b", "2").Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CROSSSLOT")
}

func TestALeaseForAKeyIsOnThePrimaryThatServesIt(t *testing.T) {
	c, servers := open(t, rediscluster.Config{})
	ctx := testCtx(t, 10*time.Second)
	for i := range 20 {
		k := "lease:" + strconv.Itoa(i)
		owner, err := servers.Owner(ctx, k)
		require.NoError(t, err)
		l, err := c.AcquireFor(ctx, k)
		require.NoError(t, err)
		port, err := l.Conn().ConfigGet(ctx, "port").Result()
		require.NoError(t, err)
		assert.Equal(t, owner, "127.0.0.1:"+port["port"], k)
		// A blocking command runs on a lease.
		require.NoError(t, l.Conn().RPush(ctx, k, "x").Err())
		v, err := l.Conn().BLPop(ctx, time.Second, k).Result()
		require.NoError(t, err)
		assert.Equal(t, []string{k, "x"}, v)
		require.NoError(t, l.Release())
	}
	require.NoError(t, c.WithKey(ctx, "lease:0", func(conn *redisbackend.Conn) error {
		return conn.Set(ctx, "lease:0", "with", 0).Err()
	}))
	v, err := c.Commands().Get(ctx, "lease:0").Result()
	require.NoError(t, err)
	assert.Equal(t, "with", v)
}

func TestBadConfigurationAndUseAfterCloseAreTypedErrors(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	_, err := rediscluster.Open(ctx, rediscluster.Config{})
	require.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	_, err = rediscluster.Open(ctx, rediscluster.Config{Seeds: []string{"127.0.0.1:1"}, Pool: actorpool.Config{MaxConns: -1}})
	require.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	_, err = rediscluster.New(ctx, nil, rediscluster.Config{Seeds: []string{"127.0.0.1:1"}})
	require.ErrorIs(t, err, actorpool.ErrInvalidConfig)

	c, _ := open(t, rediscluster.Config{})
	require.NoError(t, c.Close(ctx))
	require.NoError(t, c.Close(ctx), "a second Close")
	_, err = c.AcquireFor(ctx, "k")
	require.ErrorIs(t, err, actorpool.ErrPoolClosed)
	err = c.Commands().Get(ctx, "k").Err()
	require.Error(t, err)
}

func TestAnUnreachableClusterFailsOpenWithTheSeedsError(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	_, err := rediscluster.Open(ctx, rediscluster.Config{
		Seeds: []string{"127.0.0.1:1"},
		Pool:  actorpool.Config{MaxConns: 2, AcquireTimeout: time.Second},
		Node:  redisbackend.Options{Password: "s3cret-pw"},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "127.0.0.1:1")
	assert.NotContains(t, err.Error(), "s3cret-pw")
}

// TestASlotMovedUnderLoadAnswersEveryCallerRight moves slots between
// primaries, keys and all, while callers write and read them: single
// commands and pipelines, every reply the right one, no error.
func TestASlotMovedUnderLoadAnswersEveryCallerRight(t *testing.T) {
	c, servers := open(t, rediscluster.Config{})
	ctx := testCtx(t, 60*time.Second)
	cmds := c.Commands()
	primaries, err := servers.Primaries(ctx)
	require.NoError(t, err)

	// Keys of one hash tag share a slot: the callers' keys all move together.
	const callers = 16
	key := func(caller int) string { return fmt.Sprintf("{moving}:%d", caller) }
	slot, err := servers.Nodes[0].Observer().ClusterKeySlot(ctx, key(0)).Result()
	require.NoError(t, err)
	// Other keys in the slot make each move take a while (MIGRATE moves
	// them a hundred at a time), in which the slot is half moved and
	// callers are sent on with ASK.
	_, err = cmds.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 3000 {
			p.Set(ctx, fmt.Sprintf("{moving}:fill:%d", i), i, 0)
		}
		return nil
	})
	require.NoError(t, err)

	var ops, errs atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			for n := 1; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var got string
				var err error
				if n%2 == 0 {
					err = cmds.Set(ctx, key(i), n, 0).Err()
					if err == nil {
						got, err = cmds.Get(ctx, key(i)).Result()
					}
				} else {
					var set *redis.StatusCmd
					var get *redis.StringCmd
					_, err = cmds.Pipelined(ctx, func(p redis.Pipeliner) error {
						set = p.Set(ctx, key(i), n, 0)
						get = p.Get(ctx, key(i))
						p.Get(ctx, "elsewhere:"+strconv.Itoa(n%50)) // other slots, other nodes
						return nil
					})
					if errors.Is(err, redis.Nil) {
						err = set.Err()
					}
					got = get.Val()
				}
				if err == nil && got != strconv.Itoa(n) {
					err = fmt.Errorf("caller %d wrote %d and read %q", i, n, got)
				}
				ops.Add(1)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	for move := range 4 {
		owner, err := servers.SlotOwner(ctx, int(slot))
		require.NoError(t, err)
		to := primaries[(indexOf(primaries, owner)+1)%len(primaries)]
		before := ops.Load()
		require.NoError(t, servers.MoveSlot(ctx, int(slot), to), "move %d", move)
		require.Eventually(t, func() bool { return ops.Load() > before+100 }, 10*time.Second, time.Millisecond,
			"callers go on after move %d", move)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d operations during 4 moves of slot %d", ops.Load(), slot)
	assert.Zero(t, errs.Load(), "errors: first %v", firstErr.Load())
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

func TestReadsGoToReplicasWhenAsked(t *testing.T) {
	c, servers := openReplicated(t, rediscluster.Config{ReadFromReplicas: true})
	ctx := testCtx(t, 30*time.Second)
	cmds := c.Commands()
	const n = 200
	for i := range n {
		require.NoError(t, cmds.Set(ctx, "replicated:"+strconv.Itoa(i), i, 0).Err())
	}
	// Replicas lag: wait until each has its primary's keys.
	primaries, err := servers.Primaries(ctx)
	require.NoError(t, err)
	replicas := map[string]bool{}
	for _, p := range primaries {
		r, err := servers.ReplicaOf(ctx, p)
		require.NoError(t, err)
		replicas[r] = true
		require.Eventually(t, func() bool {
			want, err1 := servers.Node(p).Observer().DBSize(ctx).Result()
			got, err2 := servers.Node(r).Observer().DBSize(ctx).Result()
			return err1 == nil && err2 == nil && got == want
		}, 10*time.Second, 10*time.Millisecond)
	}
	for i := range n {
		v, err := cmds.Get(ctx, "replicated:"+strconv.Itoa(i)).Result()
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(i), v)
	}
	// The replicas served the reads, the primaries the writes.
	for _, ns := range c.Stats().Nodes() {
		if replicas[ns.Addr] {
			assert.Positive(t, ns.Stats.Commands(), "reads served by replica %s", ns.Addr)
		}
	}
	gets, served := 0, map[string]int{} // GETs run, by node
	for _, node := range servers.Nodes {
		info, err := node.Observer().Info(ctx, "commandstats").Result()
		require.NoError(t, err)
		if i := strings.Index(info, "cmdstat_get:calls="); i >= 0 {
			calls, _, _ := strings.Cut(info[i+len("cmdstat_get:calls="):], ",")
			k, err := strconv.Atoi(calls)
			require.NoError(t, err)
			served[node.Addr()] = k
			if replicas[node.Addr()] {
				gets += k
			}
		}
	}
	assert.Equal(t, n, gets, "every GET was served by a replica; GETs by node %v, replicas %v", served, replicas)
}
