package mysqlbackend

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/go-sql-driver/mysql"
)

// session wraps the one driver connection (one server session) of a Conn.
// database/sql sees it as its driver.Conn; it passes every call through to
// the go-sql-driver/mysql connection and records what the current holder
// did that Reset must undo or refuse: the effect of each statement, and the
// result sets, prepared statements and transactions still open.
//
// database/sql makes the driver calls one at a time, under its per-connection
// lock, from the holder's goroutine (or from its own goroutine closing rows
// when a context ends). Reset reads the record from the connection actor
// after the lease has ended. mu makes those reads and writes safe.
type session struct {
	conn      driver.Conn
	execer    driver.ExecerContext
	queryer   driver.QueryerContext
	preparer  driver.ConnPrepareContext
	beginner  driver.ConnBeginTx
	pinger    driver.Pinger
	resetter  driver.SessionResetter
	validator driver.Validator
	checker   driver.NamedValueChecker

	closeOnce sync.Once
	closeErr  error

	mu    sync.Mutex
	lease leaseRecord // what the current holder did; guarded by mu
}

// leaseRecord is what a holder did to a session since the last Reset.
type leaseRecord struct {
	effect    effect // strongest effect of the statements run
	reason    string // for effectSession: the first statement kind that caused it
	openRows  int    // result sets not yet closed
	openStmts int    // prepared statements not yet closed
	openTxs   int    // transactions begun and not yet committed or rolled back
}

// newSession wraps conn, which must be a go-sql-driver/mysql connection (or
// anything implementing the same optional interfaces).
func newSession(conn driver.Conn) (*session, error) {
	s := &session{conn: conn}
	var ok [8]bool
	s.execer, ok[0] = conn.(driver.ExecerContext)
	s.queryer, ok[1] = conn.(driver.QueryerContext)
	s.preparer, ok[2] = conn.(driver.ConnPrepareContext)
	s.beginner, ok[3] = conn.(driver.ConnBeginTx)
	s.pinger, ok[4] = conn.(driver.Pinger)
	s.resetter, ok[5] = conn.(driver.SessionResetter)
	s.validator, ok[6] = conn.(driver.Validator)
	s.checker, ok[7] = conn.(driver.NamedValueChecker)
	for _, has := range ok {
		if !has {
			return nil, fmt.Errorf("mysqlbackend: driver connection %T lacks a context interface", conn)
		}
	}
	return s, nil
}

var (
	_ driver.Conn               = (*session)(nil)
	_ driver.ExecerContext      = (*session)(nil)
	_ driver.QueryerContext     = (*session)(nil)
	_ driver.ConnPrepareContext = (*session)(nil)
	_ driver.ConnBeginTx        = (*session)(nil)
	_ driver.Pinger             = (*session)(nil)
	_ driver.SessionResetter    = (*session)(nil)
	_ driver.Validator          = (*session)(nil)
	_ driver.NamedValueChecker  = (*session)(nil)
)

// note records the effect of a statement once it has run. A statement that
// failed may still have changed something, unless the server could not
// parse it (error 1064) and it was alone in its text, so nothing ran.
func (s *session) note(query string, err error) {
	var me *mysql.MySQLError
	if err != nil && errors.As(err, &me) && me.Number == 1064 && !strings.Contains(query, ";") {
		return
	}
	eff, reason := classify(query)
	if eff == effectNone {
		return
	}
	s.mu.Lock()
	if eff > s.lease.effect {
		s.lease.effect = eff
		s.lease.reason = reason
	}
	s.mu.Unlock()
}

func (s *session) add(rows, stmts, txs int) {
	s.mu.Lock()
	s.lease.openRows += rows
	s.lease.openStmts += stmts
	s.lease.openTxs += txs
	s.mu.Unlock()
}

// record returns what the holder did since the last clear.
func (s *session) record() leaseRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lease
}

// clearEffect forgets the statements' effect, keeping the open counts (they
// follow objects that are still alive).
func (s *session) clearEffect() {
	s.mu.Lock()
	s.lease.effect, s.lease.reason = effectNone, ""
	s.mu.Unlock()
}

// Close closes the driver connection once (COM_QUIT, then the socket).
func (s *session) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.conn.Close() })
	return s.closeErr
}

func (s *session) Prepare(query string) (driver.Stmt, error) {
	return s.PrepareContext(context.Background(), query)
}

func (s *session) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := s.preparer.PrepareContext(ctx, query)
	s.note(query, err)
	if err != nil {
		return nil, err
	}
	s.add(0, 1, 0)
	return &sessionStmt{s: s, stmt: st}, nil
}

func (s *session) Begin() (driver.Tx, error) {
	return s.BeginTx(context.Background(), driver.TxOptions{})
}

func (s *session) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := s.beginner.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	s.add(0, 0, 1)
	return &sessionTx{s: s, tx: tx}, nil
}

func (s *session) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := s.execer.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		s.note(query, err)
	}
	return res, err
}

func (s *session) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.queryer.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		s.note(query, err)
	}
	if err != nil {
		return nil, err
	}
	s.add(1, 0, 0)
	return &sessionRows{s: s, rows: rows}, nil
}

func (s *session) Ping(ctx context.Context) error { return s.pinger.Ping(ctx) }

// ResetSession is the driver's own check, made by database/sql when it
// reuses a pooled connection. A Conn holds its connection for its whole
// life, so database/sql never calls it; it is passed through for
// completeness. It checks liveness only: it does not reset session state.
func (s *session) ResetSession(ctx context.Context) error { return s.resetter.ResetSession(ctx) }

// IsValid reports whether the driver connection is still open and not in
// the middle of a result.
func (s *session) IsValid() bool { return s.validator.IsValid() }

func (s *session) CheckNamedValue(nv *driver.NamedValue) error { return s.checker.CheckNamedValue(nv) }

// sessionStmt counts a prepared statement as open until it is closed.
type sessionStmt struct {
	s      *session
	stmt   driver.Stmt
	closed bool // set by Close; database/sql calls it once, under its lock
}

func (st *sessionStmt) Close() error {
	if !st.closed {
		st.closed = true
		st.s.add(0, -1, 0)
	}
	return st.stmt.Close()
}

func (st *sessionStmt) NumInput() int { return st.stmt.NumInput() }

//nolint:staticcheck // driver.Stmt requires the deprecated methods.
func (st *sessionStmt) Exec(args []driver.Value) (driver.Result, error) { return st.stmt.Exec(args) }

//nolint:staticcheck // driver.Stmt requires the deprecated methods.
func (st *sessionStmt) Query(args []driver.Value) (driver.Rows, error) {
	rows, err := st.stmt.Query(args)
	if err != nil {
		return nil, err
	}
	st.s.add(1, 0, 0)
	return &sessionRows{s: st.s, rows: rows}, nil
}

func (st *sessionStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return st.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (st *sessionStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := st.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	st.s.add(1, 0, 0)
	return &sessionRows{s: st.s, rows: rows}, nil
}

func (st *sessionStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := st.stmt.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return st.s.CheckNamedValue(nv)
}

func (st *sessionStmt) ColumnConverter(idx int) driver.ValueConverter {
	if c, ok := st.stmt.(driver.ColumnConverter); ok { //nolint:staticcheck // passed through as the driver has it
		return c.ColumnConverter(idx)
	}
	return driver.DefaultParameterConverter
}

// sessionTx counts a transaction as open until it commits or rolls back.
type sessionTx struct {
	s    *session
	tx   driver.Tx
	done bool // set by Commit or Rollback; database/sql calls one, once
}

func (tx *sessionTx) end() {
	if !tx.done {
		tx.done = true
		tx.s.add(0, 0, -1)
	}
}

func (tx *sessionTx) Commit() error {
	defer tx.end()
	return tx.tx.Commit()
}

func (tx *sessionTx) Rollback() error {
	defer tx.end()
	return tx.tx.Rollback()
}

// sessionRows counts a result set as open until it is closed. It passes the
// column type interfaces through, so sql.Rows.ColumnTypes sees the driver's.
type sessionRows struct {
	s      *session
	rows   driver.Rows
	closed bool // set by Close; database/sql calls it once, under its lock
}

func (r *sessionRows) Columns() []string              { return r.rows.Columns() }
func (r *sessionRows) Next(dest []driver.Value) error { return r.rows.Next(dest) }

func (r *sessionRows) Close() error {
	if !r.closed {
		r.closed = true
		r.s.add(-1, 0, 0)
	}
	return r.rows.Close()
}

func (r *sessionRows) HasNextResultSet() bool {
	n, ok := r.rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *sessionRows) NextResultSet() error {
	if n, ok := r.rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

func (r *sessionRows) ColumnTypeDatabaseTypeName(i int) string {
	if c, ok := r.rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return c.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *sessionRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if c, has := r.rows.(driver.RowsColumnTypeNullable); has {
		return c.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *sessionRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if c, has := r.rows.(driver.RowsColumnTypePrecisionScale); has {
		return c.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *sessionRows) ColumnTypeScanType(i int) reflect.Type {
	if c, ok := r.rows.(driver.RowsColumnTypeScanType); ok {
		return c.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
