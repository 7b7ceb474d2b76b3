package mysqlbackend

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
)

// Conn is one server session, the connection type C of a Pool[*Conn]. The
// holder of a lease uses it as a *sql.Conn: ExecContext, QueryContext,
// QueryRowContext, PrepareContext, BeginTx, PingContext.
//
// It is not a *sql.Conn itself, for three reasons: the holder must not be
// able to Close the session (the pool does, when it retires the
// connection); Backend.Close needs the private *sql.DB and the session
// record next to the *sql.Conn; and ID is useful in logs and tests.
//
// As with database/sql, the holder closes every *sql.Rows and *sql.Stmt and
// ends every *sql.Tx it opened before it releases the lease. One left open
// is not lost: Reset sees it and the connection is replaced instead of
// lent again.
//
// A Conn is used by one goroutine at a time: the lease holder, or the
// connection actor between leases.
type Conn struct {
	sql  *sql.Conn // the session as database/sql sees it; held until Close
	db   *sql.DB   // private to this Conn: one driver connection, never re-dialed
	sess *session  // the driver connection under sql, with the lease record
	id   uint64    // CONNECTION_ID(), the Id column of the process list
	sock *socket   // the session's socket; nil for a custom network

	closeOnce sync.Once
	closeErr  error
}

// ID returns the server's id of the session (CONNECTION_ID(), the Id column
// of SHOW PROCESSLIST, the argument of KILL).
func (c *Conn) ID() uint64 { return c.id }

// ExecContext runs a statement that returns no rows, as sql.Conn.ExecContext.
func (c *Conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.sql.ExecContext(ctx, query, args...)
}

// QueryContext runs a query that returns rows, as sql.Conn.QueryContext. The
// holder closes the rows before releasing the lease.
func (c *Conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.sql.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query expected to return at most one row, as
// sql.Conn.QueryRowContext.
func (c *Conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.sql.QueryRowContext(ctx, query, args...)
}

// PrepareContext prepares a statement on this session, as
// sql.Conn.PrepareContext. The holder closes it before releasing the lease.
func (c *Conn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.sql.PrepareContext(ctx, query)
}

// BeginTx starts a transaction, as sql.Conn.BeginTx. The holder commits or
// rolls it back before releasing the lease.
func (c *Conn) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return c.sql.BeginTx(ctx, opts)
}

// PingContext checks that the session is alive (COM_PING).
func (c *Conn) PingContext(ctx context.Context) error {
	return c.sql.PingContext(ctx)
}

// close ends the session and releases the private *sql.DB. It never blocks
// on rows or a transaction the holder left open: the driver connection is
// closed under database/sql's per-connection lock (Raw), without waiting
// for the *sql.Conn's readers as sql.Conn.Close would. The socket waits
// for the server to end the session (at most letGoWait) before it closes,
// also when the driver dropped the session before (see socket).
func (c *Conn) close() error {
	c.closeOnce.Do(func() {
		if c.sock != nil {
			c.sock.letGo.Store(true)
		}
		err := c.sql.Raw(func(any) error {
			_ = c.sess.Close()
			return nil // never driver.ErrBadConn: that would make Raw wait
		})
		if err != nil {
			// The *sql.Conn is done already (database/sql closed the
			// driver connection after driver.ErrBadConn).
			_ = c.sess.Close()
		}
		c.closeErr = c.db.Close()
		if c.sock != nil {
			_ = c.sock.release() // a session the driver dropped is still open
		}
	})
	return c.closeErr
}

// oneShotConnector is the driver.Connector of a Conn's private *sql.DB. It
// hands out the session dialed by Backend.Dial once, and refuses any later
// Connect: database/sql cannot open a second session behind the pool's back.
type oneShotConnector struct {
	driver driver.Driver

	mu   sync.Mutex
	sess *session // nil once handed out
}

func (c *oneShotConnector) Connect(context.Context) (driver.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return nil, ErrRedial
	}
	s := c.sess
	c.sess = nil
	return s, nil
}

func (c *oneShotConnector) Driver() driver.Driver { return c.driver }

// Close is called by sql.DB.Close: a session never handed out is closed.
func (c *oneShotConnector) Close() error {
	c.mu.Lock()
	s := c.sess
	c.sess = nil
	c.mu.Unlock()
	if s != nil {
		return s.Close()
	}
	return nil
}
