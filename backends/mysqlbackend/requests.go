package mysqlbackend

// Request mode: an actor sends a query, an exec or a short transaction by
// message and gets the result in its mailbox. The pool's command mode
// carries it (backends.Pipeliner): the connection actor that owns a
// session runs the requests queued for it, one after the other, and
// answers each sender; no goroutine per request, no lease held by the
// actor.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/internal/address"
)

// Defaults of Query's bounds.
const (
	DefaultMaxRows  = 1000
	DefaultMaxBytes = 1 << 20
)

// Errors of request mode, to be matched with errors.Is.
var (
	// ErrTooManyRows answers a Query whose result has more rows than its
	// MaxRows, or more bytes than its MaxBytes: the result is never cut
	// short silently.
	ErrTooManyRows = errors.New("mysqlbackend: the result is larger than the request's MaxRows or MaxBytes")
	// ErrNeedsLease answers a request whose statement may change the
	// session (SET, USE, a user variable, LOCK, a temporary table, ...) or
	// begin or end a transaction itself: request mode shares sessions, so
	// such a statement needs a leased connection (Pool.With). A Tx request
	// runs its statements in a transaction of its own.
	ErrNeedsLease = errors.New("mysqlbackend: this statement needs a leased connection (Pool.With), not request mode")
)

// Query asks for the rows of a statement. Send it with ctx.Request to
// Requests.PID; the answer is a *Result with Tag.
type Query struct {
	Tag  any
	SQL  string
	Args []any
	// MaxRows and MaxBytes bound the result read into memory (0: the
	// defaults); a larger result is an error, ErrTooManyRows.
	MaxRows, MaxBytes int
	// Timeout bounds the wait for a session and the statement together;
	// zero means the pool's AcquireTimeout. A statement still running then
	// is cancelled, which costs its session (the driver closes it).
	Timeout time.Duration
}

// Exec asks to run a statement that returns no rows.
type Exec struct {
	Tag     any
	SQL     string
	Args    []any
	Timeout time.Duration
}

// Tx asks to run statements atomically: in one transaction, committed when
// every statement succeeded, rolled back at the first error.
type Tx struct {
	Tag        any
	Statements []Statement
	Timeout    time.Duration
}

// Statement is one statement of a Tx.
type Statement struct {
	SQL  string
	Args []any
}

// Result answers a Query, an Exec or a Tx. Err is the driver's error
// (*mysql.MySQLError for a server error), ErrTooManyRows, ErrNeedsLease,
// actorpool.ErrPoolClosed, actorpool.ErrBackendUnavailable, or an error
// matching actorpool.ErrAcquireTimeout when the request waited out its
// Timeout before it ran.
type Result struct {
	Tag any
	// Columns and Rows: a Query's result. A row holds the driver's values:
	// int64, float64, []byte (text, decimals, and, unless the DSN sets
	// parseTime, dates), time.Time, or nil for NULL.
	Columns []Column
	Rows    [][]any
	// RowsAffected and LastInsertID: an Exec's, or a Tx's last statement's.
	RowsAffected, LastInsertID int64
	// Each is a Tx's result per statement, in order, up to the one that
	// failed.
	Each []Result
	Err  error
}

// IgnoreDeadLetterLogging keeps a Result to a sender that stopped meanwhile
// out of the actor system's dead-letter log.
func (*Result) IgnoreDeadLetterLogging() {}

// Column describes a result column.
type Column struct {
	Name string
	Type string // the database type: "INT", "VARCHAR", "DECIMAL", ...
	// Nullable is known only when NullableKnown.
	Nullable, NullableKnown bool
}

// Requests is the request mode of a pool of this package's connections.
type Requests struct {
	pool    *actorpool.Pool[*Conn]
	sys     *actor.ActorSystem
	pid     *actor.PID
	replied func(work any, err error)
}

// NewRequests returns the request mode of pool, whose address is PID. It
// opens nothing: the pool's sessions run the requests. Requests of an
// actor that stopped before they ran are dropped unrun
// (Stats.CommandsDropped).
func NewRequests(pool *actorpool.Pool[*Conn]) *Requests {
	r := &Requests{pool: pool}
	if pool == nil {
		return r
	}
	r.sys = pool.ActorSystem()
	r.replied = r.reply
	r.pid = address.Register(r.sys, "actorpool-mysql-requests-", r.received)
	return r
}

// PID is the address actors send *Query, *Exec and *Tx to, with
// ctx.Request. It is not an actor: a request is handed to a session's
// queue on the sender's goroutine, without blocking it. Nil for a
// Requests made from a nil pool.
func (r *Requests) PID() *actor.PID { return r.pid }

// received takes a message sent to PID.
func (r *Requests) received(sender *actor.PID, msg any) {
	var req *request
	switch m := msg.(type) {
	case *Query:
		req = &request{tag: m.Tag, query: m, timeout: m.Timeout}
	case *Exec:
		req = &request{tag: m.Tag, exec: m, timeout: m.Timeout}
	case *Tx:
		req = &request{tag: m.Tag, tx: m, timeout: m.Timeout}
	default:
		return
	}
	req.sender = sender
	r.send(req)
}

// request is the work of one message, as the pool carries it to a
// session (Backend.Pipeline runs it).
type request struct {
	tag      any
	sender   *actor.PID
	timeout  time.Duration
	deadline time.Time
	query    *Query
	exec     *Exec
	tx       *Tx
	result   Result
}

// send refuses a session-changing statement at once and hands anything
// else to the pool.
func (r *Requests) send(req *request) {
	if err := req.check(); err != nil {
		r.sys.Root.Send(req.sender, &Result{Tag: req.tag, Err: err})
		return
	}
	timeout := req.timeout
	if timeout <= 0 {
		timeout = r.pool.Lifecycle().AcquireTimeout
	}
	req.deadline = time.Now().Add(timeout) // bounds the wait and the statement
	r.pool.Submit(req, req.size(), req.sender, req.deadline, r.replied)
}

// reply answers the sender of a request the pool is done with.
func (r *Requests) reply(work any, err error) {
	req := work.(*request)
	res := req.result
	if err != nil {
		res = Result{Err: err}
	}
	res.Tag = req.tag
	r.sys.Root.Send(req.sender, &res)
}

// check refuses statements that may leave something on the session.
func (req *request) check() error {
	var sqls []string
	switch {
	case req.query != nil:
		sqls = []string{req.query.SQL}
	case req.exec != nil:
		sqls = []string{req.exec.SQL}
	default:
		for _, st := range req.tx.Statements {
			sqls = append(sqls, st.SQL)
		}
	}
	for _, q := range sqls {
		if eff, why := classify(q); eff != effectNone {
			if why == "" {
				why = "transaction control"
			}
			return fmt.Errorf("%w: %s", ErrNeedsLease, why)
		}
	}
	return nil
}

// size is roughly the bytes the request sends.
func (req *request) size() int {
	switch {
	case req.query != nil:
		return len(req.query.SQL) + 8*len(req.query.Args)
	case req.exec != nil:
		return len(req.exec.SQL) + 8*len(req.exec.Args)
	}
	n := 0
	for _, st := range req.tx.Statements {
		n += len(st.SQL) + 8*len(st.Args)
	}
	return n
}

// MaxBatch is 1: a session answers one request before it reads the next,
// so each request is a batch of its own, and requests waiting behind
// another make the pool's command mode take another session (up to
// MaxConns). It implements backends.BatchLimiter.
func (b *Backend) MaxBatch() int { return 1 }

// Pipeline runs a batch of requests on conn, one after the other, each
// with its own deadline, and puts each one's result into it. It returns an
// error only when the session can no longer be used (the requests not yet
// run get that error too). It implements backends.Pipeliner, which makes
// the pool's command mode carry request mode.
func (b *Backend) Pipeline(ctx context.Context, conn *Conn, batch []any) error {
	for _, w := range batch {
		req, ok := w.(*request)
		if !ok {
			return fmt.Errorf("mysqlbackend: Pipeline: %T is not a request of this package", w)
		}
		rctx, cancel := context.WithDeadline(ctx, req.deadline)
		req.result = req.run(rctx, conn.sql)
		cancel()
		if err := req.result.Err; err != nil && (b.IsFatal(err) || !conn.sess.IsValid()) {
			return err
		}
	}
	return nil
}

// run runs the request on a session of its own for the moment.
func (req *request) run(ctx context.Context, c *sql.Conn) Result {
	switch {
	case req.query != nil:
		return runQuery(ctx, c, req.query)
	case req.exec != nil:
		res, err := c.ExecContext(ctx, req.exec.SQL, req.exec.Args...)
		return execResult(res, err)
	}
	return runTx(ctx, c, req.tx)
}

func execResult(res sql.Result, err error) Result {
	if err != nil {
		return Result{Err: err}
	}
	var out Result
	out.RowsAffected, _ = res.RowsAffected()
	out.LastInsertID, _ = res.LastInsertId()
	return out
}

// runQuery reads a query's rows into memory, within its bounds.
func runQuery(ctx context.Context, c *sql.Conn, q *Query) Result {
	maxRows, maxBytes := q.MaxRows, q.MaxBytes
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	rows, err := c.QueryContext(ctx, q.SQL, q.Args...)
	if err != nil {
		return Result{Err: err}
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return Result{Err: err}
	}
	var out Result
	for _, t := range types {
		col := Column{Name: t.Name(), Type: t.DatabaseTypeName()}
		col.Nullable, col.NullableKnown = t.Nullable()
		out.Columns = append(out.Columns, col)
	}
	bytes := 0
	for rows.Next() {
		if len(out.Rows) == maxRows {
			return Result{Err: fmt.Errorf("%w: more than %d rows", ErrTooManyRows, maxRows)}
		}
		row := make([]any, len(types))
		dest := make([]any, len(types))
		for i := range row {
			dest[i] = &row[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return Result{Err: err}
		}
		for _, v := range row {
			bytes += valueSize(v)
		}
		if bytes > maxBytes {
			return Result{Err: fmt.Errorf("%w: more than %d bytes", ErrTooManyRows, maxBytes)}
		}
		out.Rows = append(out.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return Result{Err: err}
	}
	return out
}

func valueSize(v any) int {
	switch x := v.(type) {
	case []byte:
		return len(x)
	case string:
		return len(x)
	}
	return 8
}

// runTx runs a Tx's statements in one transaction.
func runTx(ctx context.Context, c *sql.Conn, t *Tx) Result {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return Result{Err: err}
	}
	var out Result
	for _, st := range t.Statements {
		r := execResult(tx.ExecContext(ctx, st.SQL, st.Args...))
		out.Each = append(out.Each, r)
		if r.Err != nil {
			_ = tx.Rollback()
			out.Err = r.Err
			return out
		}
		out.RowsAffected, out.LastInsertID = r.RowsAffected, r.LastInsertID
	}
	if err := tx.Commit(); err != nil {
		out.Err = err
	}
	return out
}
