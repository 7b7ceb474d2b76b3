package mysqlbackend_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends/mysqlbackend"
)

// resetTable is a table for the reset tests, emptied before each use.
func resetTable(t *testing.T, c *mysqlbackend.Conn) {
	t.Helper()
	ctx := testCtx(t)
	_, err := c.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS reset_t (id INT PRIMARY KEY) ENGINE=InnoDB")
	require.NoError(t, err)
	_, err = c.ExecContext(ctx, "DELETE FROM reset_t")
	require.NoError(t, err)
}

func countRows(t *testing.T, c *mysqlbackend.Conn) int {
	t.Helper()
	var n int
	require.NoError(t, c.QueryRowContext(testCtx(t), "SELECT COUNT(*) FROM reset_t").Scan(&n))
	return n
}

func TestResetRollsBackATransactionStartedWithSQL(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t)
	c, other := dial(t, b), dial(t, b)
	resetTable(t, c)
	require.NoError(t, b.Reset(ctx, c))

	_, err := c.ExecContext(ctx, "START TRANSACTION")
	require.NoError(t, err)
	_, err = c.ExecContext(ctx, "INSERT INTO reset_t VALUES (1)")
	require.NoError(t, err)
	require.NoError(t, b.Reset(ctx, c), "a transaction is undone in place")

	var inTx int
	require.NoError(t, c.QueryRowContext(ctx, "SELECT @@in_transaction").Scan(&inTx))
	assert.Zero(t, inTx)
	assert.Zero(t, countRows(t, c))
	assert.Zero(t, countRows(t, other))
}

func TestResetAcceptsATransactionTheHolderEnded(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t)
	c := dial(t, b)
	resetTable(t, c)

	tx, err := c.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, "INSERT INTO reset_t VALUES (1)")
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	require.NoError(t, b.Reset(ctx, c))
	assert.Equal(t, 1, countRows(t, c))
}

func TestResetRefusesATransactionLeftOpenAndCloseDoesNotWaitForIt(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t)
	settledSessions(t)
	other := dial(t, b)
	resetTable(t, other)
	before := sessions(t)

	c, err := b.Dial(ctx)
	require.NoError(t, err)
	tx, err := c.BeginTx(context.Background(), nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, "INSERT INTO reset_t VALUES (1)")
	require.NoError(t, err)

	err = b.Reset(ctx, c)
	assert.ErrorIs(t, err, mysqlbackend.ErrSessionDirty)
	assert.ErrorContains(t, err, "transaction left open")
	closeWithin(t, b, c, 5*time.Second)
	assert.Eventually(t, sessionsAre(before), 5*time.Second, 10*time.Millisecond)
	assert.Zero(t, countRows(t, other), "the server rolled back the transaction of the closed session")
}

func TestResetRefusesRowsOrAStatementLeftOpen(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t)
	before := settledSessions(t)

	c, err := b.Dial(ctx)
	require.NoError(t, err)
	rows, err := c.QueryContext(context.Background(), "SELECT seq FROM seq_1_to_10000")
	require.NoError(t, err)
	require.True(t, rows.Next())
	err = b.Reset(ctx, c)
	assert.ErrorIs(t, err, mysqlbackend.ErrSessionDirty)
	assert.ErrorContains(t, err, "result set left open")
	closeWithin(t, b, c, 5*time.Second)

	c, err = b.Dial(ctx)
	require.NoError(t, err)
	stmt, err := c.PrepareContext(ctx, "SELECT ?")
	require.NoError(t, err)
	srows, err := stmt.QueryContext(context.Background(), 1)
	require.NoError(t, err)
	err = b.Reset(ctx, c)
	assert.ErrorIs(t, err, mysqlbackend.ErrSessionDirty)
	closeWithin(t, b, c, 5*time.Second)
	_ = srows

	c = dial(t, b)
	stmt, err = c.PrepareContext(ctx, "SELECT ?")
	require.NoError(t, err)
	var v int
	require.NoError(t, stmt.QueryRowContext(ctx, 7).Scan(&v))
	err = b.Reset(ctx, c)
	assert.ErrorContains(t, err, "prepared statement left open")
	require.NoError(t, stmt.Close())
	require.NoError(t, b.Reset(ctx, c), "closed by the holder: accepted")

	assert.Eventually(t, sessionsAre(before+1), 5*time.Second, 10*time.Millisecond)
}

// closeWithin closes c and fails the test if Close blocks.
func closeWithin(t *testing.T, b *mysqlbackend.Backend, c *mysqlbackend.Conn, d time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.Close(c) }()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(d):
		t.Fatal("Close blocked")
	}
}

func TestResetRefusesSessionStateSoThatItNeverReachesTheNextHolder(t *testing.T) {
	cases := []struct {
		name   string
		lease  []string
		probe  string // answers the baseline on a new session, and something else after the lease
		reason string
	}{
		{"user variable", []string{"SET @x = 42"}, "SELECT COALESCE(@x, 0)", "user variable"},
		{"user variable by assignment", []string{"SELECT @y := 42"}, "SELECT COALESCE(@y, 0)", "user variable"},
		{"session variable", []string{"SET SESSION sql_mode = 'ANSI_QUOTES'"}, "SELECT @@session.sql_mode = @@global.sql_mode", "SET"},
		{"session variable in a transaction", []string{"BEGIN", "SET SESSION wait_timeout = 5", "COMMIT"}, "SELECT @@session.wait_timeout = @@global.wait_timeout", "SET"},
		{"temporary table", []string{"CREATE TEMPORARY TABLE shadow_t (id INT)", "INSERT INTO shadow_t VALUES (1)"}, "SELECT COUNT(*) FROM shadow_t", "CREATE TEMPORARY"},
		{"user lock", []string{"SELECT GET_LOCK('reset-lock', 0)"}, "SELECT IS_USED_LOCK('reset-lock') IS NULL", "GET_LOCK"},
		{"default database", []string{"USE information_schema"}, "SELECT DATABASE()", "USE"},
		{"SQL prepared statement", []string{"PREPARE s FROM 'SELECT 1'"}, "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_PREPARE_SQL'", "PREPARE"},
		{"stored procedure call", []string{"CALL p_reset()"}, "SELECT COALESCE(@p, 0)", "CALL"},
	}
	b, _ := newBackend(t)
	setup := dial(t, b)
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS shadow_t (id INT)",
		"DELETE FROM shadow_t",
		"CREATE PROCEDURE IF NOT EXISTS p_reset() SET @p = 1",
	} {
		_, err := setup.ExecContext(testCtx(t), q)
		require.NoError(t, err, q)
	}
	query := func(c *mysqlbackend.Conn, q string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var v string
		err := c.QueryRowContext(ctx, q).Scan(&v)
		return v, err
	}
	// probe runs on the test's goroutine only.
	probe := func(t *testing.T, c *mysqlbackend.Conn, q string) string {
		v, err := query(c, q)
		require.NoError(t, err, q)
		return v
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			want := probe(t, dial(t, b), tc.probe)

			c, err := b.Dial(ctx)
			require.NoError(t, err)
			for _, q := range tc.lease {
				_, err := c.ExecContext(ctx, q)
				require.NoError(t, err, q)
			}
			require.NotEqual(t, want, probe(t, c, tc.probe), "the lease changed the session")

			err = b.Reset(ctx, c)
			require.ErrorIs(t, err, mysqlbackend.ErrSessionDirty)
			assert.ErrorContains(t, err, tc.reason)
			require.NoError(t, b.Close(c))

			// What the pool does next: a new session, at the baseline (the
			// server ends the old session, releasing its lock, right after
			// COM_QUIT, asynchronously).
			next := dial(t, b)
			assert.Eventually(t, func() bool {
				v, err := query(next, tc.probe)
				return err == nil && v == want
			}, 5*time.Second, 10*time.Millisecond)
		})
	}
}

func TestResetAcceptsALeaseThatOnlyReadAndWroteRows(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t)
	c := dial(t, b)
	resetTable(t, c)
	require.NoError(t, b.Reset(ctx, c))

	_, err := c.ExecContext(ctx, "INSERT INTO reset_t VALUES (?), (?)", 1, 2)
	require.NoError(t, err)
	_, err = c.ExecContext(ctx, "UPDATE reset_t SET id = id + 10 WHERE id = ?", 2)
	require.NoError(t, err)
	rows, err := c.QueryContext(ctx, "SELECT id, @@autocommit FROM reset_t ORDER BY id")
	require.NoError(t, err)
	for rows.Next() {
	}
	require.NoError(t, rows.Close())
	_, err = c.ExecContext(ctx, "SELEC 1")
	require.Error(t, err, "a statement the server could not parse changed nothing")
	require.NoError(t, b.Reset(ctx, c))
}

func TestClassifyTellsWhatAStatementMayLeaveOnTheSession(t *testing.T) {
	cases := map[string]string{
		"SELECT 1":                                    "none",
		"  select * from t where id = ?":              "none",
		"/* c */ (SELECT 1) UNION (SELECT 2)":         "none",
		"-- c\nINSERT INTO t VALUES (1)":              "none",
		"SELECT @@autocommit, @@session.tx_isolation": "none",
		"CREATE TABLE t (id INT)":                     "none",
		"DROP TABLE t":                                "none",
		"BEGIN":                                       "tx",
		"start transaction read only":                 "tx",
		"COMMIT":                                      "tx",
		"SELECT 1; COMMIT":                            "tx",
		"SET @x = 1":                                  "session: user variable",
		"SELECT 1 INTO @x":                            "session: user variable",
		"SELECT 'a@b.example'":                        "session: user variable",
		"set names utf8mb4":                           "session: SET",
		"SELECT 1; SET autocommit = 0":                "session: SET",
		"SELECT get_lock('l', 1)":                     "session: GET_LOCK",
		"SELECT 1 /*!99999 , 2 */":                    "session: executable comment",
		"create temporary table x (id int)":           "session: CREATE TEMPORARY",
		"BEGIN NOT ATOMIC SELECT 1; END":              "session: BEGIN NOT ATOMIC",
		"use other":                                   "session: USE",
		"LOCK TABLES t READ":                          "session: LOCK",
		"CALL p()":                                    "session: CALL",
		"XA START 'x'":                                "session: XA",
		"'what'":                                      "session: ?",
	}
	for q, want := range cases {
		assert.Equal(t, want, mysqlbackend.Classify(q), q)
	}
}

func TestNeedsResetIsFalseOnlyForALeaseThatLeftNothing(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t, "SET time_zone = '+00:00'")
	c := dial(t, b)
	resetTable(t, c)
	require.NoError(t, b.Reset(ctx, c))
	assert.False(t, b.NeedsReset(c), "a fresh session, init statements included")

	_, err := c.ExecContext(ctx, "INSERT INTO reset_t VALUES (?)", 1)
	require.NoError(t, err)
	tx, err := c.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM reset_t").Scan(new(int)))
	require.NoError(t, tx.Rollback())
	assert.False(t, b.NeedsReset(c), "rows and an ended transaction")

	_, err = c.ExecContext(ctx, "ROLLBACK")
	require.NoError(t, err)
	assert.True(t, b.NeedsReset(c), "transaction control as SQL")
	require.NoError(t, b.Reset(ctx, c))
	assert.False(t, b.NeedsReset(c), "after a successful Reset")

	tx, err = c.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, "SET @inside = 1")
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	assert.True(t, b.NeedsReset(c), "a variable set inside a transaction")

	other := dial(t, b)
	require.NoError(t, srv.KillSession(ctx, int64(other.ID())))
	_, err = other.ExecContext(ctx, "SELECT 1")
	require.Error(t, err)
	assert.True(t, b.NeedsReset(other), "a session the driver closed")
}
