package redisbackend_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// commandLoad keeps callers sending GETs in command mode until the test's
// step ends; it counts the replies and the errors that are not the
// expected ctx ends.
type commandLoad struct {
	ok, failed atomic.Int64
	stop       context.CancelFunc
	wg         sync.WaitGroup
}

func startCommandLoad(t *testing.T, rc *redisbackend.Commands, callers int) *commandLoad {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	l := &commandLoad{stop: stop}
	for range callers {
		l.wg.Go(func() {
			for ctx.Err() == nil {
				call, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				err := rc.Get(call, "k").Err()
				cancel()
				switch {
				case err == nil:
					l.ok.Add(1)
				case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, actorpool.ErrAcquireTimeout):
				default:
					l.failed.Add(1)
				}
			}
		})
	}
	t.Cleanup(l.end)
	return l
}

func (l *commandLoad) end() { l.stop(); l.wg.Wait() }

// serverClients is the number of clients redis-server sees, less the
// test's own observer.
func serverClients(s *redisserver.Server) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := s.ClientCount(ctx)
	if err != nil {
		return -1
	}
	return n
}

// leaseLoad keeps callers leasing connections for a GET each until stop.
func leaseLoad(t *testing.T, p *redisPool, callers int) (leases *atomic.Int64, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	leases = new(atomic.Int64)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if p.With(ctx, func(c *redisbackend.Conn) error { return c.Get(ctx, "k").Err() }) == nil {
					leases.Add(1)
				}
			}
		})
	}
	stop = func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return leases, stop
}

// A lower MaxConns takes connections back from leases and command mode
// alike: the server and Stats see no more than the new limit while both
// loads go on.
func TestCommandModeShrinksToALoweredMaxConns(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MaxConns: 4, MaxBatch: 2})
	rc := redisbackend.NewCommands(p)
	require.NoError(t, rc.Set(testCtx(t), "k", "v", 0).Err())
	load := startCommandLoad(t, rc, 128)
	_, stopLeases := leaseLoad(t, p, 8)
	require.Eventually(t, func() bool { return p.Stats().CommandConns() == 1 && p.Stats().Total() == 4 },
		eventually, time.Millisecond, "command mode and the leases use every connection")

	require.NoError(t, p.SetLimits(testCtx(t), 0, 2))
	assert.Eventually(t, func() bool {
		st := p.Stats()
		return st.CommandConns() <= 1 && st.Total() <= 2 && serverClients(s) <= 2
	}, eventually, 5*time.Millisecond, "the pool and the server come down to MaxConns 2")
	stopLeases()
	before := load.ok.Load()
	assert.Eventually(t, func() bool { return load.ok.Load() > before+100 }, eventually, time.Millisecond,
		"command mode goes on serving at the lower limit")
	for range 20 { // it stays within the limit while the load goes on
		assert.LessOrEqual(t, serverClients(s), 2, "the server sees more clients than MaxConns")
		assert.LessOrEqual(t, p.Stats().CommandConns(), 2)
	}
	load.end()
	assert.Zero(t, load.failed.Load(), "no command failed but for its own deadline")
}

// MaxConns 0 pauses command mode as it pauses leases: no command is served
// and the server sees none of the pool's clients until the limit rises.
func TestCommandModeIsPausedByMaxConnsZero(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MaxConns: 4, MaxBatch: 4, AcquireTimeout: 100 * time.Millisecond})
	rc := redisbackend.NewCommands(p)
	require.NoError(t, rc.Set(testCtx(t), "k", "v", 0).Err())
	load := startCommandLoad(t, rc, 16)
	require.Eventually(t, func() bool { return load.ok.Load() > 100 }, eventually, time.Millisecond)

	require.NoError(t, p.SetLimits(testCtx(t), 0, 0))
	require.Eventually(t, func() bool {
		return p.Stats().Total() == 0 && serverClients(s) == 0
	}, eventually, 5*time.Millisecond, "MaxConns 0 closes every connection, command mode's too")
	paused := load.ok.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := rc.Get(ctx, "k").Err()
	assert.Error(t, err, "a command is not served while MaxConns is 0")
	assert.Equal(t, paused, load.ok.Load(), "no command was served while paused")

	require.NoError(t, p.SetLimits(testCtx(t), 0, 4))
	assert.Eventually(t, func() bool { return load.ok.Load() > paused+100 }, eventually, time.Millisecond,
		"command mode serves again once the limit rises")
	load.end()
	assert.Zero(t, load.failed.Load())
}

// While lease callers wait, command mode holds one connection: leases are
// not starved by full batches.
func TestCommandModeGivesWaitingLeasesItsConnectionsButOne(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 4, MaxBatch: 4})
	rc := redisbackend.NewCommands(p)
	require.NoError(t, rc.Set(testCtx(t), "k", "v", 0).Err())
	load := startCommandLoad(t, rc, 64)
	require.Eventually(t, func() bool { return load.ok.Load() > 1000 }, eventually, time.Millisecond)
	assert.Equal(t, 1, p.Stats().CommandConns(), "command mode serves 64 callers from one connection")

	// Lease callers: they wait for one another and for command mode.
	leases, stop := leaseLoad(t, p, 8)
	assert.Eventually(t, func() bool {
		st := p.Stats()
		return st.CommandConns() <= 1 && st.Waiting() > 0
	}, eventually, time.Millisecond, "command mode keeps one connection while lease callers wait")
	before := leases.Load()
	assert.Eventually(t, func() bool { return leases.Load() > before+200 }, eventually, time.Millisecond,
		"lease callers are served beside command mode")
	stop()
	load.end()
	assert.Zero(t, load.failed.Load())
}

// Command mode asking for one more connection, and not getting it while a
// lease holds the other, is no caller's timeout: Stats.Timeouts stays 0.
func TestCommandModeGrowingIsNoCallersTimeout(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 2, MaxBatch: 1})
	rc := redisbackend.NewCommands(p)
	require.NoError(t, rc.Set(testCtx(t), "k", "v", 0).Err())
	held, err := p.Acquire(testCtx(t))
	require.NoError(t, err)
	load := startCommandLoad(t, rc, 32)
	// Each grow waits growWait (100 ms) for the held connection: let a few
	// of them time out.
	require.Eventually(t, func() bool { return load.ok.Load() > 2000 }, eventually, time.Millisecond)
	assert.Equal(t, 1, p.Stats().CommandConns())
	assert.Never(t, func() bool { return p.Stats().Waiting() > 0 }, 300*time.Millisecond, time.Millisecond,
		"command mode's own request for a connection is no caller waiting")
	load.end()
	require.NoError(t, held.Release())
	assert.Zero(t, p.Stats().Timeouts(), "no caller's acquire timed out")
	assert.Zero(t, load.failed.Load())
}
