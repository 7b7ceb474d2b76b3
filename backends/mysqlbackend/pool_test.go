package mysqlbackend_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// settled waits until no dial is in flight and the pool's total agrees with
// the server's process list, and returns that count.
func settled(t *testing.T, p *mysqlPool, base int) int {
	t.Helper()
	var total int
	require.Eventually(t, func() bool {
		s := p.Stats()
		total = s.Total()
		n, err := sessionCount()
		return err == nil && s.Dialing() == 0 && n-base == total
	}, eventually, 10*time.Millisecond, "process list and Stats().Total() disagree")
	return total
}

func TestTheProcessListAgreesWithThePoolStats(t *testing.T) {
	base := settledSessions(t)
	p, _ := newPool(t, actorpool.Config{MinConns: 2, MaxConns: 6})
	assert.Equal(t, 2, settled(t, p, base))

	// Eight callers at once need more connections than MinConns.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			err := p.With(testCtx(t), func(c *mysqlbackend.Conn) error {
				_, err := c.ExecContext(testCtx(t), "DO SLEEP(0.05)")
				return err
			})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	total := settled(t, p, base)
	assert.Greater(t, total, 2)
	assert.LessOrEqual(t, total, 6)
	assert.Zero(t, p.Stats().Leased())
}

func TestTheNextHolderNeverSeesWhatTheLastOneLeft(t *testing.T) {
	ctx := testCtx(t)
	p, _ := newPool(t, actorpool.Config{MinConns: 1, MaxConns: 1})

	var first uint64
	require.NoError(t, p.With(ctx, func(c *mysqlbackend.Conn) error {
		first = c.ID()
		for _, q := range []string{"SET @x = 42", "CREATE TEMPORARY TABLE left_behind (id INT)", "DO GET_LOCK('left', 0)"} {
			if _, err := c.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, p.With(ctx, func(c *mysqlbackend.Conn) error {
		assert.NotEqual(t, first, c.ID(), "a dirty session is replaced")
		var x sql.NullInt64
		require.NoError(t, c.QueryRowContext(ctx, "SELECT @x").Scan(&x))
		assert.False(t, x.Valid)
		_, err := c.ExecContext(ctx, "SELECT * FROM left_behind")
		assert.Error(t, err, "the temporary table went with the old session")
		return nil
	}))

	// A clean lease keeps its session.
	var second uint64
	require.NoError(t, p.With(ctx, func(c *mysqlbackend.Conn) error {
		second = c.ID()
		return c.QueryRowContext(ctx, "SELECT 1").Scan(new(int))
	}))
	require.NoError(t, p.With(ctx, func(c *mysqlbackend.Conn) error {
		assert.Equal(t, second, c.ID())
		return nil
	}))
}

func TestKillingOneSessionReplacesOnlyThatConnection(t *testing.T) {
	ctx := testCtx(t)
	base := settledSessions(t)
	p, b := newPool(t, actorpool.Config{MinConns: 3, MaxConns: 3})
	require.Equal(t, 3, settled(t, p, base))

	ids, err := srv.Sessions(ctx, "")
	require.NoError(t, err)
	victim := ids[len(ids)-1]
	require.NoError(t, srv.KillSession(ctx, victim))
	restarts := p.Stats().Restarts()

	// Use every connection: the one whose session was killed fails once
	// with a fatal error, With marks it broken, and it is replaced.
	fatal := 0
	for range 6 {
		var leases []actorpool.Lease[*mysqlbackend.Conn]
		for range 3 {
			l, err := p.Acquire(ctx)
			require.NoError(t, err)
			leases = append(leases, l)
		}
		for _, l := range leases {
			if _, err := l.Conn().ExecContext(ctx, "SELECT 1"); err != nil {
				require.True(t, b.IsFatal(err), "%v", err)
				fatal++
				require.NoError(t, l.MarkBroken(err))
				continue
			}
			require.NoError(t, l.Release())
		}
	}
	assert.Equal(t, 1, fatal)
	assert.Equal(t, 3, settled(t, p, base))
	assert.Equal(t, restarts+1, p.Stats().Restarts())
	after, err := srv.Sessions(ctx, "")
	require.NoError(t, err)
	for _, id := range ids[:len(ids)-1] {
		if id != victim {
			assert.Contains(t, after, id, "a healthy session was kept")
		}
	}
	assert.NotContains(t, after, victim)
}

func TestAKilledServerFailsCallersFastAndThePoolRecoversByItself(t *testing.T) {
	base := settledSessions(t)
	p, b := newPool(t, actorpool.Config{
		MinConns: 2, MaxConns: 10,
		AcquireTimeout: 5 * time.Second,
		DialTimeout:    time.Second,
		BackoffMin:     10 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	})
	settled(t, p, base)
	t.Cleanup(func() {
		if err := srv.Restart(testCtx(t)); err != nil && err.Error() != "mariadbserver: restart: server is running" {
			t.Errorf("restart: %v", err)
		}
	})

	var (
		inUse       sync.Map // *Conn -> *atomic.Int32: holders right now
		heldTwice   atomic.Int32
		ok, unavail atomic.Int64
		fatal       atomic.Int64
		slowFail    atomic.Int64 // failures that took longer than a fast fail
		other       sync.Map     // unexpected errors, by text
		stop        = make(chan struct{})
		wg          sync.WaitGroup
	)
	for range 32 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				start := time.Now()
				err := p.With(ctx, func(c *mysqlbackend.Conn) error {
					n, _ := inUse.LoadOrStore(c, new(atomic.Int32))
					if n.(*atomic.Int32).Add(1) != 1 {
						heldTwice.Add(1)
					}
					defer n.(*atomic.Int32).Add(-1)
					_, err := c.ExecContext(ctx, "SELECT 1")
					return err
				})
				cancel()
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, actorpool.ErrBackendUnavailable):
					unavail.Add(1)
					if time.Since(start) > time.Second {
						slowFail.Add(1)
					}
					time.Sleep(time.Millisecond) // a caller that fails fast retries soon
				case b.IsFatal(err):
					fatal.Add(1)
				default:
					other.Store(err.Error(), true)
				}
			}
		})
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	require.Eventually(t, func() bool { return ok.Load() > 100 }, eventually, time.Millisecond)
	require.NoError(t, srv.Kill())
	killed := time.Now()
	require.Eventually(t, func() bool { return unavail.Load() > 0 }, eventually, time.Millisecond,
		"callers fail fast with ErrBackendUnavailable while the server is down")
	t.Logf("first fast failure %v after the kill", time.Since(killed).Round(time.Millisecond))
	// Down long enough that the pool has redialled and failed, with 32
	// callers retrying.
	require.Eventually(t, func() bool { return p.Stats().DialErrors() >= 2 }, eventually, time.Millisecond)
	downOK := ok.Load()

	require.NoError(t, srv.Restart(testCtx(t)))
	back := time.Now()
	require.Eventually(t, func() bool { return ok.Load() > downOK+100 }, eventually, time.Millisecond,
		"the pool recovers by itself")
	t.Logf("first successes %v after the restart", time.Since(back).Round(time.Millisecond))
	close(stop)
	wg.Wait()

	other.Range(func(k, _ any) bool {
		t.Errorf("unexpected error: %v", k)
		return true
	})
	assert.Zero(t, heldTwice.Load(), "a connection was held by two callers")
	assert.Zero(t, slowFail.Load(), "a caller waited instead of failing fast")
	t.Logf("ok %d, unavailable %d, fatal %d; stats: restarts %d, dial errors %d, failed fast %d",
		ok.Load(), unavail.Load(), fatal.Load(), p.Stats().Restarts(), p.Stats().DialErrors(), p.Stats().FailedFast())

	// Nothing lost: every lease came back and the pool's connections are
	// exactly the server's sessions.
	settled(t, p, base)
	assert.Zero(t, p.Stats().Leased())
	pooltest.RequireStatsAddUp(t, p.Stats())
}

func TestClosingThePoolEndsEverySessionOnTheServer(t *testing.T) {
	ctx := testCtx(t)
	base := settledSessions(t)
	p, _ := newPool(t, actorpool.Config{MinConns: 4, MaxConns: 4})
	require.Equal(t, 4, settled(t, p, base))
	l, err := p.Acquire(ctx)
	require.NoError(t, err)
	closed := make(chan error, 1)
	go func() { closed <- p.Close(ctx) }()
	// Close has started once Acquire refuses; it waits for the lease out.
	require.Eventually(t, func() bool {
		extra, err := p.Acquire(ctx)
		if err == nil {
			assert.NoError(t, extra.Release()) // Close has not started yet
		}
		return errors.Is(err, actorpool.ErrPoolClosed)
	}, eventually, time.Millisecond)
	assert.Equal(t, base+4, sessions(t), "sessions stay open while a lease is out")
	require.NoError(t, l.Release())
	require.NoError(t, pooltest.Recv(t, closed, eventually))
	assert.Eventually(t, sessionsAre(base), eventually, 10*time.Millisecond)
}
