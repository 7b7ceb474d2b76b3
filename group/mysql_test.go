package group_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
)

// startMariaDB starts a server with a table app.t, stopped when the test
// ends. It may run on any goroutine: it reports failures with assert.
func startMariaDB(t *testing.T) *mariadbserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := mariadbserver.Start(ctx)
	if !assert.NoError(t, err) {
		return nil
	}
	t.Cleanup(func() { _ = s.Stop() })
	_, err = s.Admin().ExecContext(ctx, "CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT)")
	assert.NoError(t, err)
	return s
}

func globalStatus(t *testing.T, s *mariadbserver.Server, name string) int {
	t.Helper()
	var n string
	var v int
	require.NoError(t, s.Admin().QueryRowContext(context.Background(), "SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&n, &v))
	return v
}

func rows(t *testing.T, s *mariadbserver.Server) int {
	t.Helper()
	var n int
	require.NoError(t, s.Admin().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM app.t").Scan(&n))
	return n
}

func setReadOnly(t *testing.T, s *mariadbserver.Server, on bool) {
	t.Helper()
	v := "0"
	if on {
		v = "1"
	}
	_, err := s.Admin().ExecContext(context.Background(), "SET GLOBAL read_only = "+v)
	require.NoError(t, err)
}

// TestMySQLRolesFollowReadOnly: two servers, one read_only. Writes go to
// the other only, reads to the read_only one; when read_only moves from
// one server to the other under load, writes follow it, and every write
// that succeeded is on one of them.
func TestMySQLRolesFollowReadOnly(t *testing.T) {
	var a, b *mariadbserver.Server
	var starting sync.WaitGroup // both at once: each takes seconds
	starting.Go(func() { a = startMariaDB(t) })
	starting.Go(func() { b = startMariaDB(t) })
	starting.Wait()
	require.False(t, t.Failed())
	setReadOnly(t, b, true)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })

	var eps []group.Endpoint[*mysqlbackend.Conn]
	for i, s := range []*mariadbserver.Server{a, b} {
		eps = append(eps, group.Endpoint[*mysqlbackend.Conn]{
			Name: []string{"a", "b"}[i], Backend: mysqlbackend.New(mysqlbackend.Options{DSN: s.DSN()}),
			Pool: &actorpool.Config{MaxConns: 4},
		})
	}
	g, err := group.New(pooltest.NewSystem(), group.Config{RoleCheckInterval: 50 * time.Millisecond}, eps...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), pooltest.CloseTimeout)
		defer cancel()
		if err := g.Close(ctx); !errors.Is(err, actorpool.ErrPoolClosed) {
			assert.NoError(t, err)
		}
		// A close reaches the server a moment after Close returns.
		for _, s := range []*mariadbserver.Server{a, b} {
			assert.Eventually(t, func() bool {
				n, err := s.SessionCount(context.Background())
				return err == nil && n == 0
			}, 3*time.Second, 5*time.Millisecond, "sessions left after Close")
		}
	})
	ctx := ctxT(t)

	insert := func(c *mysqlbackend.Conn) error {
		_, err := c.ExecContext(ctx, "INSERT INTO t () VALUES ()")
		return err
	}
	selectOne := func(c *mysqlbackend.Conn) error {
		var n int
		return c.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n)
	}
	for range 50 {
		require.NoError(t, g.With(ctx, insert))
		require.NoError(t, g.WithRead(ctx, selectOne))
	}
	assert.Equal(t, 50, rows(t, a))
	assert.Zero(t, rows(t, b))
	assert.Zero(t, globalStatus(t, b, "Com_insert"), "a write reached the read_only server")
	assert.GreaterOrEqual(t, globalStatus(t, b, "Com_select"), 50, "reads went elsewhere")

	// Under load, read_only moves from b to a. Refused writes are retried.
	var written, refused atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				switch err := g.With(ctx, insert); {
				case err == nil:
					written.Add(1)
				case ctx.Err() != nil:
					return
				default:
					refused.Add(1)
				}
			}
		})
	}
	require.Eventually(t, func() bool { return written.Load() > 50 }, wait, time.Millisecond)
	setReadOnly(t, a, true)
	setReadOnly(t, b, false)
	require.Eventually(t, func() bool {
		s := g.Stats()
		ea, _ := s.Endpoint("a")
		eb, _ := s.Endpoint("b")
		return ea.Role() == backends.RoleReplica && eb.Role() == backends.RolePrimary
	}, wait, time.Millisecond)
	n := written.Load()
	require.Eventually(t, func() bool { return written.Load() > n+50 }, wait, time.Millisecond)
	stop.Store(true)
	wg.Wait()

	t.Logf("%d writes, %d refused and retried around the switch", written.Load(), refused.Load())
	assert.Equal(t, int(50+written.Load()), rows(t, a)+rows(t, b), "a write that succeeded is missing")
	assert.Positive(t, rows(t, b))
}
