package rediscluster_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/backends/rediscluster"
)

// writers SETs its keys (all in one slot) in a loop until stop, and
// records when writes failed: the first and the last failure, and how
// many. Every successful write is read back.
type writers struct {
	ok, failed          atomic.Int64
	mu                  sync.Mutex
	firstFail, lastFail time.Time
	wrong               []string
	wg                  sync.WaitGroup
	stop                chan struct{}
}

func startWriters(ctx context.Context, c *rediscluster.Cluster, n int) *writers {
	w := &writers{stop: make(chan struct{})}
	cmds := c.Commands()
	for i := range n {
		k := fmt.Sprintf("{failing}:%d", i)
		w.wg.Go(func() {
			for v := 1; ; v++ {
				select {
				case <-w.stop:
					return
				default:
				}
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				err := cmds.Set(cctx, k, v, 0).Err()
				var got string
				if err == nil {
					got, err = cmds.Get(cctx, k).Result()
				}
				cancel()
				if err != nil {
					w.failed.Add(1)
					w.mu.Lock()
					if w.firstFail.IsZero() {
						w.firstFail = time.Now()
					}
					w.lastFail = time.Now()
					w.mu.Unlock()
					time.Sleep(5 * time.Millisecond) // a caller's pause before it tries again
					continue
				}
				if got != strconv.Itoa(v) {
					w.mu.Lock()
					w.wrong = append(w.wrong, fmt.Sprintf("%s: wrote %d, read %q", k, v, got))
					w.mu.Unlock()
				}
				w.ok.Add(1)
			}
		})
	}
	return w
}

func (w *writers) end() {
	close(w.stop)
	w.wg.Wait()
}

// refused is how long writes failed, from the first failure to the last.
func (w *writers) refused() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.firstFail.IsZero() {
		return 0
	}
	return w.lastFail.Sub(w.firstFail)
}

func TestAKilledPrimaryIsReplacedByItsReplicaUnderLoad(t *testing.T) {
	c, servers := open(t, rediscluster.Config{
		Pool: actorpool.Config{MaxConns: 4, AcquireTimeout: time.Second},
		Node: redisbackend.Options{DialTimeout: 200 * time.Millisecond},
	})
	ctx := testCtx(t, 60*time.Second)
	require.NoError(t, servers.AwaitReplicas(ctx))
	owner, err := servers.Owner(ctx, "{failing}:0")
	require.NoError(t, err)
	replica, err := servers.ReplicaOf(ctx, owner)
	require.NoError(t, err)

	w := startWriters(ctx, c, 8)
	require.Eventually(t, func() bool { return w.ok.Load() > 100 }, 10*time.Second, time.Millisecond)
	killed := time.Now()
	servers.Node(owner).Kill()
	// The cluster fails the primary over once the others have not heard
	// from it for redisclusterserver.NodeTimeout, and its replica wins the
	// election.
	require.Eventually(t, func() bool {
		now, err := servers.Owner(ctx, "{failing}:0")
		return err == nil && now == replica
	}, 30*time.Second, 10*time.Millisecond)
	promoted := time.Since(killed)
	before := w.ok.Load()
	require.Eventually(t, func() bool { return w.ok.Load() > before+100 }, 15*time.Second, time.Millisecond,
		"writes go on on the promoted replica")
	w.end()
	t.Logf("primary killed: the cluster promoted its replica after %s; writes were refused for %s (%d failed, %d succeeded)",
		promoted.Round(time.Millisecond), w.refused().Round(time.Millisecond), w.failed.Load(), w.ok.Load())
	assert.Empty(t, w.wrong)
	// Refused no longer than the cluster's own failover plus a refresh
	// (and the writers' pauses): generous on a busy machine.
	assert.Less(t, w.refused(), promoted+2*time.Second)
}

func TestAManualFailoverRefusesNoWrite(t *testing.T) {
	c, servers := open(t, rediscluster.Config{})
	ctx := testCtx(t, 60*time.Second)
	require.NoError(t, servers.AwaitReplicas(ctx))
	owner, err := servers.Owner(ctx, "{failing}:0")
	require.NoError(t, err)
	replica, err := servers.ReplicaOf(ctx, owner)
	require.NoError(t, err)

	w := startWriters(ctx, c, 8)
	require.Eventually(t, func() bool { return w.ok.Load() > 100 }, 10*time.Second, time.Millisecond)
	require.NoError(t, servers.Node(replica).Observer().Do(ctx, "CLUSTER", "FAILOVER").Err())
	require.Eventually(t, func() bool {
		now, err := servers.Owner(ctx, "{failing}:0")
		return err == nil && now == replica
	}, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, servers.AwaitOK(ctx))
	before := w.ok.Load()
	require.Eventually(t, func() bool { return w.ok.Load() > before+100 }, 15*time.Second, time.Millisecond)
	w.end()
	t.Logf("manual failover: writes were refused for %s (%d failed, %d succeeded)",
		w.refused().Round(time.Millisecond), w.failed.Load(), w.ok.Load())
	assert.Empty(t, w.wrong)
	assert.Zero(t, w.failed.Load(), "a manual failover is followed by MOVED, not by errors")
}
