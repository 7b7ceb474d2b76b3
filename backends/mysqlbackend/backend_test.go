package mysqlbackend_test

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends/mysqlbackend"
)

func TestDialPingAndCloseOpenAndEndOneSession(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t)
	before := settledSessions(t)

	c, err := b.Dial(ctx)
	require.NoError(t, err)
	assert.NotZero(t, c.ID())
	require.NoError(t, b.Ping(ctx, c))
	var one int
	require.NoError(t, c.QueryRowContext(ctx, "SELECT 1").Scan(&one))
	assert.Equal(t, 1, one)
	ids, err := srv.Sessions(ctx, "")
	require.NoError(t, err)
	assert.Contains(t, ids, int64(c.ID()), "ID is the process list id")
	assert.Equal(t, before+1, len(ids))

	require.NoError(t, b.Close(c))
	assert.Eventually(t, sessionsAre(before), 5*time.Second, 10*time.Millisecond)
}

func TestTheProcessListCountsExactlyTheOpenConnections(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t)
	before := settledSessions(t)

	var conns []*mysqlbackend.Conn
	for range 5 {
		conns = append(conns, dial(t, b))
	}
	assert.Equal(t, before+5, sessions(t))

	// Errors of every kind, and a lot of use, open no other session.
	for _, c := range conns {
		_, err := c.ExecContext(ctx, "SELEC 1")
		require.Error(t, err)
		_, err = c.ExecContext(ctx, "SELECT * FROM no_such_table")
		require.Error(t, err)
		for range 20 {
			_, err := c.ExecContext(ctx, "SELECT ?", 1) // prepared: driver.ErrSkip path
			require.NoError(t, err)
		}
		require.NoError(t, b.Reset(ctx, c))
	}
	assert.Equal(t, before+5, sessions(t))

	for _, c := range conns[:2] {
		require.NoError(t, b.Close(c))
	}
	assert.Eventually(t, sessionsAre(before+3), 5*time.Second, 10*time.Millisecond)
}

func TestAConnectionNeverOpensASecondSessionAfterABadConnection(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t)
	before := settledSessions(t)
	c := dial(t, b)
	require.NoError(t, srv.KillSession(ctx, int64(c.ID())))
	assert.Eventually(t, sessionsAre(before), 5*time.Second, 10*time.Millisecond)

	// The driver answers driver.ErrBadConn or invalid connection; database/sql
	// would retry on a fresh session if it could. It cannot.
	for range 5 {
		_, err := c.ExecContext(ctx, "SELECT 1")
		require.Error(t, err)
		assert.True(t, b.IsFatal(err), "%v", err)
	}
	assert.Error(t, b.Ping(ctx, c))
	assert.Error(t, b.Reset(ctx, c))
	assert.Equal(t, before, sessions(t))
}

func TestInitStatementsRunOnEveryNewSession(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t,
		"SET time_zone = '+03:00'",
		"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
		"SET sql_mode = 'STRICT_ALL_TABLES'",
	)
	for range 2 {
		c := dial(t, b)
		var tz, iso, mode string
		require.NoError(t, c.QueryRowContext(ctx,
			"SELECT @@session.time_zone, @@session.tx_isolation, @@session.sql_mode").Scan(&tz, &iso, &mode))
		assert.Equal(t, "+03:00", tz)
		assert.Equal(t, "READ-COMMITTED", iso)
		assert.Equal(t, "STRICT_ALL_TABLES", mode)
		// The baseline itself does not make the session dirty.
		require.NoError(t, b.Reset(ctx, c))
	}
}

func TestAFailingInitStatementFailsTheDialAndLeavesNoSession(t *testing.T) {
	ctx := testCtx(t)
	before := settledSessions(t)
	b, _ := newBackend(t, "SET time_zone = 'Nowhere/Nothing'")
	_, err := b.Dial(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "init statement 1")
	assert.Eventually(t, sessionsAre(before), 5*time.Second, 10*time.Millisecond)
}

func TestAWrongPasswordIsAClearTypedErrorThatNeverShowsThePassword(t *testing.T) {
	ctx := testCtx(t)
	const wrong = "not-the-Password-42"
	logs := &logBuffer{}
	dsn := fmt.Sprintf("%s:%s@tcp(%s)/%s", srv.User(), wrong, srv.Addr(), srv.Database())
	b := mysqlbackend.New(mysqlbackend.Options{DSN: dsn, Logger: newLogger(logs)})
	require.NoError(t, b.Validate())

	_, err := b.Dial(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, mysqlbackend.ErrAccessDenied)
	var me *mysql.MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1045), me.Number)
	assert.Contains(t, err.Error(), "access denied")
	assert.Contains(t, err.Error(), srv.Addr())
	assert.NotContains(t, err.Error(), wrong)
	assert.NotContains(t, b.String(), wrong)
	assert.NotContains(t, fmt.Sprint(b), wrong)
	assert.NotContains(t, logs.String(), wrong)
	assert.False(t, b.IsFatal(nil))
}

func TestStringRedactsThePassword(t *testing.T) {
	b := mysqlbackend.New(mysqlbackend.Options{DSN: srv.DSN("parseTime=true")})
	assert.Equal(t, fmt.Sprintf("%s:xxxxx@tcp(%s)/%s", srv.User(), srv.Addr(), srv.Database()), b.String())
	assert.NotContains(t, b.String(), srv.Password())

	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = "u", "hunter2", "tcp", "db.example:3306"
	b = mysqlbackend.New(mysqlbackend.Options{Config: cfg})
	require.NoError(t, b.Validate())
	assert.Equal(t, "u:xxxxx@tcp(db.example:3306)/", b.String())
}

func TestValidateRejectsABadDSNOrAMissingAddressWithoutShowingThePassword(t *testing.T) {
	cases := map[string]mysqlbackend.Options{
		"empty":               {},
		"no slash":            {DSN: "u:Secret-pw@tcp(127.0.0.1:3306)"},
		"unclosed address":    {DSN: "u:Secret-pw@tcp(127.0.0.1:3306/db"},
		"bad parameter value": {DSN: "u:Secret-pw@tcp(127.0.0.1:3306)/db?parseTime=maybe"},
		"unknown tls config":  {DSN: "u:Secret-pw@tcp(127.0.0.1:3306)/db?tls=nosuchconfig"},
		"no address":          {DSN: "u:Secret-pw@/db"},
		"empty address":       {DSN: "u:Secret-pw@tcp()/db"},
		"config without addr": {Config: &mysql.Config{User: "u", Passwd: "Secret-pw", Net: "tcp"}},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			b := mysqlbackend.New(opts)
			err := b.Validate()
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "mysqlbackend: "), err.Error())
			assert.NotContains(t, err.Error(), "Secret-pw")
			assert.NotContains(t, b.String(), "Secret-pw")
			_, dialErr := b.Dial(testCtx(t))
			assert.Equal(t, err, dialErr, "Dial returns the configuration error")
		})
	}
}

func TestTLSSettingsFromTheDSNPassThroughToTheDriver(t *testing.T) {
	// The test server has no TLS: a DSN that requires it must fail to dial
	// with the driver's error, and "preferred" must fall back to plain TCP.
	ctx := testCtx(t)
	b := mysqlbackend.New(mysqlbackend.Options{DSN: srv.DSN("tls=skip-verify")})
	require.NoError(t, b.Validate())
	_, err := b.Dial(ctx)
	assert.ErrorIs(t, err, mysql.ErrNoTLS)
	assert.ErrorIs(t, err, mysqlbackend.ErrTLS)

	b = mysqlbackend.New(mysqlbackend.Options{DSN: srv.DSN("tls=preferred")})
	c := dial(t, b)
	require.NoError(t, b.Ping(ctx, c))
}

func TestIsFatalTellsALostSessionFromAnErrorReply(t *testing.T) {
	b := mysqlbackend.New(mysqlbackend.Options{DSN: srv.DSN()})
	opErr := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	cases := []struct {
		err   error
		fatal bool
	}{
		{driver.ErrBadConn, true},
		{fmt.Errorf("query: %w", driver.ErrBadConn), true},
		{mysql.ErrInvalidConn, true},
		{mysql.ErrMalformPkt, true},
		{mysql.ErrPktSync, true},
		{mysql.ErrBusyBuffer, true},
		{sql.ErrConnDone, true},
		{mysqlbackend.ErrSessionClosed, true},
		{mysqlbackend.ErrRedial, true},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{net.ErrClosed, true},
		{opErr, true},
		{syscall.EPIPE, true},
		{&mysql.MySQLError{Number: 1053, Message: "Server shutdown in progress"}, true},
		{&mysql.MySQLError{Number: 1927, Message: "Connection was killed"}, true},
		{&mysql.MySQLError{Number: 1152, Message: "Aborted connection"}, true},
		{&mysql.MySQLError{Number: 4031, Message: "client interaction timeout"}, true},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry"}, false},
		{&mysql.MySQLError{Number: 1064, Message: "You have an error in your SQL syntax"}, false},
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found"}, false},
		{&mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"}, false},
		{&mysql.MySQLError{Number: 1317, Message: "Query execution was interrupted"}, false},
		{sql.ErrNoRows, false},
		{sql.ErrTxDone, false},
		{mysqlbackend.ErrSessionDirty, false},
		{errors.New("some other error"), false},
		{nil, false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.fatal, b.IsFatal(tc.err), "IsFatal(%v)", tc.err)
	}
}

func TestRealServerErrorsAreNotFatal(t *testing.T) {
	ctx := testCtx(t)
	b, _ := newBackend(t)
	c := dial(t, b)
	_, err := c.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS fatal_t (id INT PRIMARY KEY)")
	require.NoError(t, err)
	_, err = c.ExecContext(ctx, "INSERT INTO fatal_t VALUES (1) ON DUPLICATE KEY UPDATE id = id")
	require.NoError(t, err)

	_, err = c.ExecContext(ctx, "INSERT INTO fatal_t VALUES (1)")
	var me *mysql.MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1062), me.Number)
	assert.False(t, b.IsFatal(err))

	_, err = c.ExecContext(ctx, "SELEC 1")
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1064), me.Number)
	assert.False(t, b.IsFatal(err))

	require.NoError(t, b.Reset(ctx, c))
	require.NoError(t, b.Ping(ctx, c))
}
