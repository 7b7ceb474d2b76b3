package redisbackend_test

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
	"github.com/actorpool/actorpool/backends/redisbackend"
)

// The server is killed under load and started again: commands in flight
// fail with the network error, calls fail fast while it is down, and
// command mode recovers by itself. Every reply that comes back is right.
func TestCommandsKillAndRestart(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MaxConns: 4, BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)

	var ok, failed atomic.Int64
	var wrong []string
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 64 {
		wg.Go(func() {
			key := fmt.Sprintf("cmd:kill:%d", c)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				v := fmt.Sprint(i)
				err := rc.Set(cctx, key, v, 0).Err()
				if err == nil {
					var got string
					got, err = rc.Get(cctx, key).Result()
					if err == nil && got != v {
						mu.Lock()
						wrong = append(wrong, fmt.Sprintf("%s: got %q, want %q", key, got, v))
						mu.Unlock()
					}
				}
				cancel()
				if err != nil {
					failed.Add(1)
					if !errors.Is(err, actorpool.ErrBackendUnavailable) {
						time.Sleep(time.Millisecond) // pace the errors of a dead server
					}
					continue
				}
				ok.Add(1)
			}
		})
	}
	require.Eventually(t, func() bool { return ok.Load() > 1000 }, eventually, time.Millisecond)
	s.Kill()
	require.Eventually(t, func() bool { return failed.Load() > 0 }, eventually, time.Millisecond)
	down, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := rc.Get(down, "cmd:kill:0").Err()
	cancel()
	require.Error(t, err, "the server is down")
	require.Eventually(t, func() bool {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return errors.Is(rc.Get(c, "cmd:kill:0").Err(), actorpool.ErrBackendUnavailable)
	}, eventually, 10*time.Millisecond, "while the server is down, calls fail fast")
	s.Restart()
	before := ok.Load()
	require.Eventually(t, func() bool { return ok.Load() > before+1000 }, eventually, time.Millisecond,
		"command mode recovers by itself")
	close(stop)
	wg.Wait()
	assert.Empty(t, wrong, "a reply never reaches the wrong caller")
	t.Logf("%d ok, %d failed; %+v", ok.Load(), failed.Load(), p.Stats())
}

// Command mode on Redis serves every caller from one connection, however
// full its batches (that keeps each caller's commands in order), and gives
// it back once the load stops.
func TestCommandsServeFromOneConnectionAndGiveItBack(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MaxConns: 3, MaxBatch: 4})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)

	require.NoError(t, rc.Set(ctx, "cmd:grow", "v", 0).Err())
	assert.Equal(t, 1, p.Stats().CommandConns(), "one caller needs one connection")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := rc.Get(ctx, "cmd:grow").Err(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var most atomic.Int64 // clients the server saw
	mostConns := 0
	start := p.Stats().Batches()
	require.Eventually(t, func() bool {
		if n, err := s.ClientCount(ctx); err == nil && int64(n) > most.Load() {
			most.Store(int64(n))
		}
		mostConns = max(mostConns, p.Stats().CommandConns())
		return p.Stats().Batches() > start+1000
	}, eventually, time.Millisecond, "1,000 batches of at most 4 for 64 callers")
	assert.Equal(t, 1, mostConns, "connections serving command mode at once")
	close(stop)
	wg.Wait()
	assert.LessOrEqual(t, most.Load(), int64(1), "one client on the server")
	// The connection leaves command mode, then its writer ends the lease
	// and its actor puts it back idle.
	require.Eventually(t, func() bool {
		st := p.Stats()
		return st.CommandConns() == 0 && st.Leased() == 0 && st.Total() == st.Idle()
	}, eventually, 10*time.Millisecond, "the idle connection goes back to the pool")
	st := p.Stats()
	t.Logf("%d commands in %d batches", st.Commands(), st.Batches())
}
