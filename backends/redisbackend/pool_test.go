package redisbackend_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// settled waits until no dial is in flight and the pool's Total agrees with
// the server's CLIENT LIST, and returns that count.
func settled(t *testing.T, p *redisPool, s *redisserver.Server) int {
	t.Helper()
	var total, clients int
	ok := assert.Eventually(t, func() bool {
		st := p.Stats()
		n, err := s.ClientCount(context.Background())
		total, clients = st.Total(), n
		return err == nil && st.Dialing() == 0 && st.Leased() == 0 && n == total
	}, eventually, 10*time.Millisecond)
	require.True(t, ok, "CLIENT LIST shows %d clients, Stats().Total() is %d", clients, total)
	return total
}

// pooledIDs returns the server-side ids of the pool's connections; call it
// on the test's goroutine only.
func pooledIDs(t *testing.T, s *redisserver.Server) map[int64]bool {
	t.Helper()
	ids, err := clientIDs(s)
	require.NoError(t, err)
	return ids
}

// clientIDs returns the server-side ids of the pool's connections, or the
// error of asking.
func clientIDs(s *redisserver.Server) (map[int64]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := s.Clients(ctx)
	if err != nil {
		return nil, err
	}
	ids := make(map[int64]bool)
	for _, c := range cs {
		ids[c.ID] = true
	}
	return ids, nil
}

func TestClientListAgreesWithThePoolStats(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MinConns: 2, MaxConns: 6})
	assert.Equal(t, 2, settled(t, p, s))

	// Eight callers at once need more connections than MinConns.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			err := p.With(testCtx(t), func(c *redisbackend.Conn) error {
				// Hold the lease for 50 ms: BLPOP on an empty list.
				err := c.Do(testCtx(t), "BLPOP", "queue", 0.05).Err()
				if errors.Is(err, redis.Nil) {
					return c.Incr(testCtx(t), "callers").Err()
				}
				return err
			})
			assert.NoError(t, err, "caller %d", i)
		})
	}
	wg.Wait()
	total := settled(t, p, s)
	assert.Greater(t, total, 2)
	assert.LessOrEqual(t, total, 6)
	assert.Equal(t, "8", s.Observer().Get(testCtx(t), "callers").Val())
}

func TestAKilledServerFailsAcquireFastAndThePoolRecoversByItself(t *testing.T) {
	p, s := newPool(t, actorpool.Config{
		MinConns: 2, MaxConns: 8, AcquireTimeout: 5 * time.Second,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
	})
	settled(t, p, s)

	var (
		held       sync.Map // *redisbackend.Conn -> *atomic.Int32: holders right now
		twice      atomic.Int32
		ok, failed atomic.Int64
		fastFail   atomic.Pointer[error]
		stop       = make(chan struct{})
		wg         sync.WaitGroup
	)
	work := func(c *redisbackend.Conn) error {
		n, _ := held.LoadOrStore(c, new(atomic.Int32))
		if n.(*atomic.Int32).Add(1) != 1 {
			twice.Add(1)
		}
		defer n.(*atomic.Int32).Add(-1)
		return c.Incr(context.Background(), "n").Err()
	}
	for range 32 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := p.With(ctx, work)
				cancel()
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, actorpool.ErrBackendUnavailable):
					fastFail.CompareAndSwap(nil, &err)
					failed.Add(1)
					time.Sleep(time.Millisecond) // don't spin while the server is down
				default:
					failed.Add(1)
				}
			}
		})
	}
	require.Eventually(t, func() bool { return ok.Load() > 100 }, eventually, time.Millisecond)

	s.Kill()
	require.Eventually(t, func() bool { return fastFail.Load() != nil }, eventually, time.Millisecond,
		"Acquire never failed with ErrBackendUnavailable while the server was down")
	err := *fastFail.Load()
	// A dial racing the kill may be refused, or have its handshake cut: EOF,
	// or a reset reported by the write itself (*os.SyscallError wrapping
	// ECONNRESET, not a *net.OpError). A syscall.Errno is a net.Error.
	_, isNetErr := errors.AsType[net.Error](err)
	assert.True(t, isNetErr || errors.Is(err, io.EOF), "ErrBackendUnavailable wraps the dial error: %v", err)
	assert.ErrorContains(t, err, s.Addr())

	// While the server is down, an Acquire fails at once rather than after
	// AcquireTimeout.
	start := time.Now()
	_, aerr := p.Acquire(testCtx(t))
	assert.ErrorIs(t, aerr, actorpool.ErrBackendUnavailable)
	assert.Less(t, time.Since(start), time.Second)

	s.Restart()
	okBefore := ok.Load()
	require.Eventually(t, func() bool { return ok.Load() > okBefore+100 }, eventually, time.Millisecond,
		"the pool did not recover after the server came back")
	close(stop)
	wg.Wait()

	assert.Zero(t, twice.Load(), "a connection was held by two leases at once")
	st := p.Stats()
	assert.Zero(t, st.Leased(), "a lease was lost")
	assert.Positive(t, st.Restarts())
	pooltest.RequireStatsAddUp(t, st)
	settled(t, p, s)
	t.Logf("%d successful leases, %d failed, %d restarts", ok.Load(), failed.Load(), st.Restarts())
}

func TestAClientKilledOnTheServerIsTheOnlyConnectionReplaced(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MinConns: 3, MaxConns: 3})
	require.Equal(t, 3, settled(t, p, s))
	before := pooledIDs(t, s)
	var victim int64
	for id := range before {
		victim = id
		break
	}
	require.NoError(t, s.Observer().ClientKillByFilter(testCtx(t), "ID", itoa(victim)).Err())

	// Lease all three at once: the killed one fails and is marked broken.
	var leases []actorpool.Lease[*redisbackend.Conn]
	for range 3 {
		l, err := p.Acquire(testCtx(t))
		require.NoError(t, err)
		leases = append(leases, l)
	}
	var broken int
	for _, l := range leases {
		if err := l.Conn().Ping(testCtx(t)).Err(); err != nil {
			require.True(t, redisbackend.New(redisbackend.Options{}).IsFatal(err), "%v", err)
			require.NoError(t, l.MarkBroken(err))
			broken++
			continue
		}
		require.NoError(t, l.Release())
	}
	assert.Equal(t, 1, broken)

	require.Equal(t, 3, settled(t, p, s))
	after := pooledIDs(t, s)
	assert.False(t, after[victim], "the killed client is gone")
	var kept int
	for id := range before {
		if after[id] {
			kept++
		}
	}
	assert.Equal(t, 2, kept, "the two others are the same connections")
	assert.Equal(t, uint64(1), p.Stats().Restarts())
}

func TestWithReplacesTheConnectionOnlyForFatalErrors(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MinConns: 1, MaxConns: 1})
	settled(t, p, s)
	id := func() int64 {
		var id int64
		require.NoError(t, p.With(testCtx(t), func(c *redisbackend.Conn) error {
			id = clientID(t, c)
			return nil
		}))
		return id
	}
	first := id()

	err := p.With(testCtx(t), func(c *redisbackend.Conn) error {
		require.NoError(t, c.LPush(testCtx(t), "list", "a").Err())
		return c.Get(testCtx(t), "list").Err()
	})
	assert.ErrorContains(t, err, "WRONGTYPE")
	err = p.With(testCtx(t), func(c *redisbackend.Conn) error { return c.Get(testCtx(t), "missing").Err() })
	assert.ErrorIs(t, err, redis.Nil)
	assert.Equal(t, first, id(), "error replies keep the connection")

	err = p.With(testCtx(t), func(c *redisbackend.Conn) error {
		require.NoError(t, s.Observer().ClientKillByFilter(testCtx(t), "ID", itoa(first)).Err())
		return c.Get(testCtx(t), "k").Err()
	})
	require.Error(t, err)
	assert.NotEqual(t, first, id(), "a broken connection is replaced")
	assert.Equal(t, uint64(1), p.Stats().Broken())
}

func TestWhatAHolderLeavesDoesNotReachTheNextOne(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MinConns: 1, MaxConns: 1})
	settled(t, p, s)
	ctx := testCtx(t)

	var first int64
	require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
		first = clientID(t, c)
		require.NoError(t, c.Do(ctx, "SELECT", 5).Err())
		require.NoError(t, c.Do(ctx, "CLIENT", "SETNAME", "mine").Err())
		require.NoError(t, c.Do(ctx, "WATCH", "k").Err())
		return c.Do(ctx, "MULTI").Err()
	}))
	require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
		assert.Equal(t, first, clientID(t, c), "the same connection, reset rather than replaced")
		return nil
	}))
	info := clientByID(t, s, first)
	assert.Equal(t, 0, info.DB)
	assert.Equal(t, "pooled", info.Name)
	assert.Equal(t, -1, info.Multi)

	// A holder that leaves the connection subscribed gets it replaced.
	require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
		return c.Do(ctx, "SUBSCRIBE", "news").Err()
	}))
	require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
		assert.NotEqual(t, first, clientID(t, c))
		return c.Set(ctx, "k", "v", 0).Err()
	}))
	assert.Equal(t, uint64(1), p.Stats().Restarts())
	settled(t, p, s)
}

func TestARevokedLeaseHasItsConnectionClosedOnTheServer(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MinConns: 1, MaxConns: 2, LeaseTimeout: 200 * time.Millisecond})
	settled(t, p, s)

	l, err := p.Acquire(testCtx(t))
	require.NoError(t, err)
	id := clientID(t, l.Conn())

	assert.Eventually(t, func() bool {
		ids, err := clientIDs(s)
		return err == nil && !ids[id]
	}, eventually, 10*time.Millisecond, "the revoked connection is still open on the server")
	assert.ErrorIs(t, l.Conn().Ping(testCtx(t)).Err(), redisbackend.ErrConnLost)
	assert.ErrorIs(t, l.Release(), actorpool.ErrLeaseRevoked)
	settled(t, p, s)
}

func TestClosingThePoolClosesEveryConnection(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MinConns: 4, MaxConns: 8})
	require.Equal(t, 4, settled(t, p, s))
	require.NoError(t, p.With(testCtx(t), func(c *redisbackend.Conn) error {
		return c.Set(testCtx(t), "k", "v", 0).Err()
	}))

	require.NoError(t, p.Close(testCtx(t)))
	assertClients(t, s, 0)
	assert.ErrorIs(t, p.With(testCtx(t), func(*redisbackend.Conn) error { return nil }), actorpool.ErrPoolClosed)
}

func TestNewRejectsABadURLWithoutShowingThePassword(t *testing.T) {
	sys := pooltest.NewSystem()
	defer sys.Shutdown()
	for _, raw := range []string{
		"redis://:" + secret + "@127.0.0.1:6379/notadb",
		"redis://:" + secret + "@127.0.0.1:notaport/0",
		"redis://:" + secret + "@127.0.0.1:6379/0?pool_size=4",
	} {
		_, err := actorpool.New(sys, redisbackend.NewFromURL(raw), actorpool.Config{})
		require.Error(t, err, raw)
		assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, raw)
		assert.NotContains(t, err.Error(), secret)
	}
	_, err := actorpool.New(sys, redisbackend.New(redisbackend.Options{}), actorpool.Config{})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	assert.ErrorContains(t, err, "empty address")
}
