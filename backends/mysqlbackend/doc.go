// Package mysqlbackend pools MySQL and MariaDB sessions with
// go-sql-driver/mysql: a pool of *Conn, each one server session.
//
// # One session per connection
//
// The holder of a lease uses its *Conn as a *sql.Conn (ExecContext,
// QueryContext, QueryRowContext, PrepareContext, BeginTx). Behind it, each
// Dial builds a private *sql.DB on a connector that hands out exactly one
// driver connection, dialed up front, and fails any later Connect with
// ErrRedial; the *sql.DB allows one open connection and no lifetime, and the
// *Conn keeps the *sql.Conn taken from it until the pool closes it. So
// database/sql never re-dials behind the pool: after driver.ErrBadConn, a
// killed session or a server restart, the *Conn stays dead (IsFatal errors)
// until the pool replaces it, and the server's process list shows exactly
// one session per live connection.
//
// # Closing
//
// Backend.Close sends COM_QUIT and returns once the server has closed its
// side of the socket, at most a second later: by then the server has ended
// the session (rolled back, released its locks) and no longer counts it
// against the user's MAX_USER_CONNECTIONS. The pool dials a replacement
// only after Close, so replacing connections never takes the server above
// MaxConns sessions. A session the server or the network already dropped
// closes at once. A connection without CloseWrite (from a Config.DialFunc)
// and the sessions of a network registered with mysql.RegisterDialContext
// close without waiting.
//
// # Configuration
//
// Options.DSN is parsed by the driver's own mysql.ParseDSN (or a
// *mysql.Config is given), so TLS, timeouts, charset and DSN parameters
// work as the driver documents them; an address is required.
// Options.InitStatements run on every new session (time zone, isolation
// level, sql_mode) and are its baseline. Errors and String never contain
// the password; the driver's own log lines go to Options.Logger with the
// password removed (they never carry it anyway; mysql.SetLogger is not
// touched).
//
// # Reset between leases
//
// What a holder leaves on a session must not reach the next holder. The
// driver gives no way to send COM_RESET_CONNECTION or COM_CHANGE_USER (its
// ResetSession only checks that an idle socket is alive), and SQL alone
// cannot list a session's temporary tables or changed variables on MariaDB
// 10.x, so no fixed SQL baseline is complete. Instead the backend records
// what each lease did, at the driver level where every statement passes
// (including those run through a *sql.Tx or a *sql.Stmt):
//
//   - statements that only read and write rows, and transactions begun and
//     ended through BeginTx: nothing to undo. NeedsReset returns false and
//     the pool lends the connection again without calling Reset.
//   - BEGIN, START TRANSACTION, COMMIT, ROLLBACK, SAVEPOINT sent as SQL: a
//     transaction may be open, and Reset sends ROLLBACK (one round trip).
//   - anything that may change the session (SET, a user variable @x, USE,
//     CREATE TEMPORARY, GET_LOCK, LOCK TABLES, PREPARE, CALL, HANDLER, XA,
//     an executable comment, an unknown statement), or a *sql.Rows,
//     *sql.Stmt or *sql.Tx still open: Reset returns ErrSessionDirty and the
//     pool closes the session and dials a new one, which starts from the
//     baseline. The server drops everything with the old session: the
//     transaction, temporary tables, user locks, variables.
//
// The check errs towards replacing: '@' in a string literal counts as a
// user variable (pass values as arguments). It cannot see inside stored
// functions or triggers: a holder whose stored code changes session state
// ends the lease with MarkBroken. What remains shared between holders, as
// with database/sql, is what no reset clears without a new session either:
// LAST_INSERT_ID() and the session status counters.
//
// Cost per lease, measured with BenchmarkReset against MariaDB 10.11 on
// loopback (go test -run '^$' -bench Reset ./backends/mysqlbackend, 2 cores):
// a clean lease 43 ns (no round trip); a transaction left by SQL 55 µs (one
// ROLLBACK); session state 0.59 ms (close, dial, two init statements). A
// fixed SQL baseline (ROLLBACK, RELEASE_ALL_LOCKS(), USE db) would cost
// 138 µs on every lease and still miss variables and temporary tables.
//
// # Fatal errors
//
// IsFatal is true for a lost session (driver.ErrBadConn,
// mysql.ErrInvalidConn, sql.ErrConnDone, packet errors, io.EOF, network
// errors, and server errors 1053 shutdown, 1927 connection killed, 1152,
// 1184, 1158-1161, 4031 ...) and false for an error reply (duplicate key
// 1062, syntax 1064, deadlock 1213, lock wait timeout 1205) and for context
// errors: when a context ends mid-query the driver drops the session, and
// NeedsReset and Reset see it closed.
package mysqlbackend
