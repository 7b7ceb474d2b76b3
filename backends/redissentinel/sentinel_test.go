package redissentinel_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/backends/redissentinel"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/testserver/redissentinelserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// open starts a deployment and a Sentinel on it, closed when the test
// ends with no goroutine of it left.
func open(t *testing.T) (*redissentinel.Sentinel, *redissentinelserver.Deployment) {
	t.Helper()
	d := redissentinelserver.Start(t)
	ignore := []goleak.Option{goleak.IgnoreCurrent(), redisserver.Waiters()}
	s, err := redissentinel.Open(testCtx(t, 10*time.Second), redissentinel.Config{
		Master:    redissentinelserver.Master,
		Sentinels: d.SentinelAddrs(),
		Group: group.Config{
			Pool:              actorpool.Config{MaxConns: 4, AcquireTimeout: 2 * time.Second},
			RoleCheckInterval: 200 * time.Millisecond,
		},
		Node: redisbackend.Options{DialTimeout: 200 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, s.Close(ctx))
		goleak.VerifyNone(t, ignore...)
	})
	return s, d
}

// port is the port of the server a connection is on.
func port(ctx context.Context, c *redisbackend.Conn) (string, error) {
	m, err := c.ConfigGet(ctx, "port").Result()
	return "127.0.0.1:" + m["port"], err
}

func TestWritesGoToThePrimaryAndReadsToTheReplica(t *testing.T) {
	s, d := open(t)
	ctx := testCtx(t, 10*time.Second)
	require.NoError(t, s.With(ctx, func(c *redisbackend.Conn) error {
		addr, err := port(ctx, c)
		assert.Equal(t, d.Primary.Addr(), addr)
		return err
	}))
	// Reads go to the primary until the replica's role has been read.
	require.Eventually(t, func() bool {
		var addr string
		err := s.WithRead(ctx, func(c *redisbackend.Conn) error {
			var err error
			addr, err = port(ctx, c)
			return err
		})
		return err == nil && addr == d.Replica.Addr()
	}, 5*time.Second, 10*time.Millisecond, "reads go to the replica")
}

func TestBadConfigurationAndAnUnknownMasterAreErrors(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	_, err := redissentinel.Open(ctx, redissentinel.Config{})
	require.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	_, err = redissentinel.New(ctx, nil, redissentinel.Config{Master: "m", Sentinels: []string{"127.0.0.1:1"}})
	require.ErrorIs(t, err, actorpool.ErrInvalidConfig)

	d := redissentinelserver.Start(t)
	_, err = redissentinel.Open(ctx, redissentinel.Config{
		Master: "nosuchmaster", Sentinels: d.SentinelAddrs(), SentinelPassword: "s3cret-pw",
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nosuchmaster")
	assert.NotContains(t, err.Error(), "s3cret-pw")
}

// failover runs writers through the group while cause fails the primary
// over, and reports how long writes were refused (from the first refused
// write to the first write done after it) and how long the sentinels took
// to announce the new primary.
func failover(t *testing.T, cause func(ctx context.Context, d *redissentinelserver.Deployment)) {
	failoverVia(t, cause, false)
}

// failoverVia is failover, the writers using Commands (command mode) when
// commands is set, else leases (With).
func failoverVia(t *testing.T, cause func(ctx context.Context, d *redissentinelserver.Deployment), commands bool) {
	s, d := open(t)
	ctx := testCtx(t, 60*time.Second)
	// A lease held across the failover is not lost: it is released after.
	held, err := s.Acquire(ctx)
	require.NoError(t, err)

	var ok, failed atomic.Int64
	var mu sync.Mutex
	var first, recovered time.Time // the first refused write, the first write done after it
	var wrong []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		k := "failover:" + strconv.Itoa(i)
		wg.Go(func() {
			for v := 1; ; v++ {
				select {
				case <-stop:
					return
				default:
				}
				cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				var got string
				var err error
				if commands {
					if err = s.Commands().Set(cctx, k, v, 0).Err(); err == nil {
						got, err = s.Commands().Get(cctx, k).Result()
					}
				} else {
					err = s.With(cctx, func(c *redisbackend.Conn) error {
						if err := c.Set(cctx, k, v, 0).Err(); err != nil {
							return err
						}
						var err error
						got, err = c.Get(cctx, k).Result()
						return err
					})
				}
				cancel()
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if first.IsZero() {
						first = time.Now()
					}
					mu.Unlock()
					time.Sleep(5 * time.Millisecond)
					continue
				}
				mu.Lock()
				if got != strconv.Itoa(v) {
					wrong = append(wrong, fmt.Sprintf("%s: wrote %d, read %q", k, v, got))
				}
				if !first.IsZero() && recovered.IsZero() {
					recovered = time.Now()
				}
				mu.Unlock()
				ok.Add(1)
			}
		})
	}
	require.Eventually(t, func() bool { return ok.Load() > 100 }, 10*time.Second, time.Millisecond)
	start := time.Now()
	cause(ctx, d)
	require.Eventually(t, func() bool {
		p, err := d.PrimaryAddr(ctx)
		return err == nil && p == d.Replica.Addr()
	}, 30*time.Second, 10*time.Millisecond)
	announced := time.Since(start)
	before := ok.Load()
	require.Eventually(t, func() bool { return ok.Load() > before+100 }, 15*time.Second, time.Millisecond,
		"writes go on on the new primary")
	close(stop)
	wg.Wait()
	// The sentinels answer GET-MASTER-ADDR-BY-NAME with the promoted
	// replica a moment before they announce +switch-master and demote the
	// old primary: writes move on the announcement.
	require.Eventually(t, func() bool {
		var addr string
		err := s.With(ctx, func(c *redisbackend.Conn) error {
			var err error
			addr, err = port(ctx, c)
			return err
		})
		return err == nil && addr == d.Replica.Addr()
	}, 10*time.Second, 10*time.Millisecond, "writes go to the promoted replica")
	relErr := held.Release()
	if relErr != nil {
		require.ErrorIs(t, relErr, actorpool.ErrLeaseRevoked, "a lease on a killed server is taken back, never handed on")
	}
	mu.Lock()
	refused := time.Duration(0)
	if !first.IsZero() {
		refused = recovered.Sub(first)
	}
	mu.Unlock()
	t.Logf("sentinels announced the new primary after %s; writes were refused for %s (%d failed, %d succeeded)",
		announced.Round(time.Millisecond), refused.Round(time.Millisecond), failed.Load(), ok.Load())
	assert.Empty(t, wrong)
	assert.Less(t, refused, announced+2*time.Second, "refused no longer than the failover and a role check")
}

func TestASentinelFailoverMovesWritesToTheNewPrimaryUnderLoad(t *testing.T) {
	failover(t, func(ctx context.Context, d *redissentinelserver.Deployment) {
		require.NoError(t, d.Failover(ctx))
	})
}

func TestAKilledPrimaryIsFailedOverAndWritesFollow(t *testing.T) {
	failover(t, func(ctx context.Context, d *redissentinelserver.Deployment) {
		d.Primary.Kill()
	})
}

func TestWhenTheSentinelListenedToDiesAnotherIsListenedTo(t *testing.T) {
	failover(t, func(ctx context.Context, d *redissentinelserver.Deployment) {
		d.Sentinels[0].Kill() // the first in the list, the one listened to
		require.NoError(t, d.Failover(ctx))
	})
}

func TestCommandModeFollowsASentinelFailover(t *testing.T) {
	failoverVia(t, func(ctx context.Context, d *redissentinelserver.Deployment) {
		require.NoError(t, d.Failover(ctx))
	}, true)
}

func TestCommandModeRunsPipelinesAndTransactionsOnThePrimary(t *testing.T) {
	s, d := open(t)
	ctx := testCtx(t, 10*time.Second)
	rdb := s.Commands()
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "a", "1", 0)
		p.Incr(ctx, "a")
		return nil
	})
	require.NoError(t, err)
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "a")
		p.Incr(ctx, "a")
		return nil
	})
	require.NoError(t, err)
	v, err := d.Primary.Observer().Get(ctx, "a").Result()
	require.NoError(t, err)
	assert.Equal(t, "4", v, "on the primary itself")
}

func TestCommandModeFollowsAKilledPrimarysReplacement(t *testing.T) {
	failoverVia(t, func(ctx context.Context, d *redissentinelserver.Deployment) {
		d.Primary.Kill()
	}, true)
}
