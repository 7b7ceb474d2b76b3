package mysqlbackend_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
)

// requester is an actor that sends what the test gives it to the pool's
// request mode and hands every Result to results.
func requester(to *actor.PID, results chan<- *mysqlbackend.Result) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *mysqlbackend.Query, *mysqlbackend.Exec, *mysqlbackend.Tx:
			ctx.Request(to, m)
		case *mysqlbackend.Result:
			results <- m
		}
	})
}

// ask sends req through a requester and waits for its Result.
func ask(t *testing.T, sys *actor.RootContext, pid *actor.PID, results <-chan *mysqlbackend.Result, req any) *mysqlbackend.Result {
	t.Helper()
	sys.Send(pid, req)
	select {
	case r := <-results:
		return r
	case <-time.After(eventually):
		t.Fatalf("no result for %T", req)
		return nil
	}
}

func TestActorsRunQueriesExecsAndTransactionsByMessage(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 2})
	reqs := mysqlbackend.NewRequests(p)
	root := p.ActorSystem().Root
	results := make(chan *mysqlbackend.Result, 1)
	pid := root.Spawn(requester(reqs.PID(), results))
	defer root.Stop(pid)

	r := ask(t, root, pid, results, &mysqlbackend.Exec{Tag: "create", SQL: "CREATE TABLE req_t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL UNIQUE, score DECIMAL(5,2) NULL)"})
	require.NoError(t, r.Err)
	t.Cleanup(func() { _, _ = srv.Admin().Exec("DROP TABLE IF EXISTS app.req_t") })
	assert.Equal(t, "create", r.Tag)

	r = ask(t, root, pid, results, &mysqlbackend.Exec{Tag: 1, SQL: "INSERT INTO req_t (name, score) VALUES (?, ?)", Args: []any{"ann", 1.5}})
	require.NoError(t, r.Err)
	assert.Equal(t, int64(1), r.RowsAffected)
	assert.Equal(t, int64(1), r.LastInsertID)

	r = ask(t, root, pid, results, &mysqlbackend.Tx{Tag: "tx", Statements: []mysqlbackend.Statement{
		{SQL: "INSERT INTO req_t (name) VALUES (?)", Args: []any{"bob"}},
		{SQL: "INSERT INTO req_t (name) VALUES (?)", Args: []any{"cy"}},
	}})
	require.NoError(t, r.Err)
	assert.Len(t, r.Each, 2)
	assert.Equal(t, int64(3), r.LastInsertID)

	// A transaction that fails part-way leaves nothing behind; the error
	// is the driver's.
	r = ask(t, root, pid, results, &mysqlbackend.Tx{Tag: "dup", Statements: []mysqlbackend.Statement{
		{SQL: "INSERT INTO req_t (name) VALUES (?)", Args: []any{"dee"}},
		{SQL: "INSERT INTO req_t (name) VALUES (?)", Args: []any{"ann"}},
	}})
	var me *mysql.MySQLError
	require.True(t, errors.As(r.Err, &me), "a server error: %v", r.Err)
	assert.Equal(t, uint16(1062), me.Number)
	assert.Len(t, r.Each, 2)

	r = ask(t, root, pid, results, &mysqlbackend.Query{Tag: "q", SQL: "SELECT id, name, score FROM req_t ORDER BY id"})
	require.NoError(t, r.Err)
	assert.Equal(t, "q", r.Tag)
	require.Len(t, r.Columns, 3)
	assert.Equal(t, []string{"id", "name", "score"}, []string{r.Columns[0].Name, r.Columns[1].Name, r.Columns[2].Name})
	assert.Equal(t, "INT", r.Columns[0].Type)
	assert.Equal(t, "VARCHAR", r.Columns[1].Type)
	require.Len(t, r.Rows, 3, "dee was rolled back")
	assert.Equal(t, "ann", string(r.Rows[0][1].([]byte)))
	assert.Equal(t, "1.50", string(r.Rows[0][2].([]byte)))
	assert.Nil(t, r.Rows[1][2], "NULL")

	r = ask(t, root, pid, results, &mysqlbackend.Query{Tag: "bounded", SQL: "SELECT id FROM req_t", MaxRows: 2})
	assert.ErrorIs(t, r.Err, mysqlbackend.ErrTooManyRows)
	assert.Nil(t, r.Rows, "never a silent cut")
	r = ask(t, root, pid, results, &mysqlbackend.Query{SQL: "SELECT REPEAT('x', 1000)", MaxBytes: 100})
	assert.ErrorIs(t, r.Err, mysqlbackend.ErrTooManyRows)

	for _, q := range []string{"SET @x = 1", "USE mysql", "BEGIN", "CREATE TEMPORARY TABLE tt (a INT)"} {
		r = ask(t, root, pid, results, &mysqlbackend.Exec{Tag: q, SQL: q})
		assert.ErrorIs(t, r.Err, mysqlbackend.ErrNeedsLease, q)
		assert.Equal(t, q, r.Tag)
	}
	st := p.Stats()
	assert.Positive(t, st.Commands(), "requests ran in command mode")
}

// A request that cannot run before its Timeout (every session is leased)
// is answered with a timeout; after Close, with ErrPoolClosed.
func TestARequestByMessageWaitsAtMostItsTimeout(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 1})
	reqs := mysqlbackend.NewRequests(p)
	root := p.ActorSystem().Root
	results := make(chan *mysqlbackend.Result, 1)
	pid := root.Spawn(requester(reqs.PID(), results))
	defer root.Stop(pid)
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()

	lease, err := p.Acquire(ctx)
	require.NoError(t, err)
	r := ask(t, root, pid, results, &mysqlbackend.Query{Tag: "late", SQL: "SELECT 1", Timeout: 50 * time.Millisecond})
	assert.ErrorIs(t, r.Err, actorpool.ErrAcquireTimeout)
	require.NoError(t, lease.Release())
	r = ask(t, root, pid, results, &mysqlbackend.Query{Tag: "now", SQL: "SELECT 1"})
	require.NoError(t, r.Err)
	assert.Equal(t, [][]any{{int64(1)}}, r.Rows)
	require.NoError(t, p.Close(ctx))
	r = ask(t, root, pid, results, &mysqlbackend.Query{Tag: "closed", SQL: "SELECT 1"})
	assert.ErrorIs(t, r.Err, actorpool.ErrPoolClosed)
}

// A request without a Timeout is bounded by the pool's AcquireTimeout, its
// statement included: a statement still running then is cancelled, and
// the session it cost is replaced (once the server has ended it, or after
// a second: the server finishes SLEEP first).
func TestARequestsStatementIsBoundedByAcquireTimeout(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 1, AcquireTimeout: 200 * time.Millisecond})
	reqs := mysqlbackend.NewRequests(p)
	root := p.ActorSystem().Root
	results := make(chan *mysqlbackend.Result, 1)
	pid := root.Spawn(requester(reqs.PID(), results))
	defer root.Stop(pid)
	start := time.Now()
	r := ask(t, root, pid, results, &mysqlbackend.Query{Tag: "slow", SQL: "SELECT SLEEP(2)"})
	assert.ErrorIs(t, r.Err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 1500*time.Millisecond, "the statement was cut short")
	r = ask(t, root, pid, results, &mysqlbackend.Query{Tag: "next", SQL: "SELECT 1", Timeout: eventually})
	require.NoError(t, r.Err, "a new session serves the next request")
}
