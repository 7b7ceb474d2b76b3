package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/go-sql-driver/mysql" // the peer's driver

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
)

const (
	mysqlRows  = 1000 // rows of the point-select table
	mysqlTable = "poolbench_kv"
)

// mysqlDSN is the DSN both sides use. Parameters are interpolated by the
// driver (interpolateParams=true), so the point select is one round trip
// rather than prepare, execute and close; both sides alike.
//
// go-sql-driver checks a pooled
// connection's socket (a non-blocking read) before its first write after
// database/sql reset the session, that is on every checkout from
// database/sql's pool; actorpool's MySQL backend keeps one *sql.Conn per
// session, so its driver never does. Unless -peer-conncheck, the check is
// off (checkConnLiveness=false) so both sides count it the same: not at all.
func mysqlDSN(e *env) string {
	if e.dsn != "" {
		return e.dsn // a child's, from its parent
	}
	if e.cfg.peerCheck {
		return e.srv.maria.DSN("interpolateParams=true")
	}
	return e.srv.maria.DSN("interpolateParams=true", "checkConnLiveness=false")
}

// newMySQLBackend dials the bench's MariaDB as the peer does.
func newMySQLBackend(e *env) *mysqlbackend.Backend {
	return mysqlbackend.New(mysqlbackend.Options{DSN: mysqlDSN(e)})
}

// newSQLDB is the peer: database/sql with MaxOpenConns and MaxIdleConns
// conns, every connection opened before it returns.
func newSQLDB(ctx context.Context, e *env) (*sql.DB, error) {
	db, err := sql.Open("mysql", mysqlDSN(e))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(e.cfg.conns)
	db.SetMaxIdleConns(e.cfg.conns)
	cs := make([]*sql.Conn, 0, e.cfg.conns)
	defer func() {
		for _, c := range cs {
			_ = c.Close()
		}
	}()
	for range e.cfg.conns {
		c, err := db.Conn(ctx)
		if err == nil {
			err = c.PingContext(ctx)
		}
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		cs = append(cs, c)
	}
	return db, nil
}

// createTable makes the point-select table: mysqlRows rows, an INT primary
// key and a 16-byte value.
func createTable(ctx context.Context, e *env) error {
	admin := e.srv.maria.Admin()
	table := e.srv.maria.Database() + "." + mysqlTable
	if _, err := admin.ExecContext(ctx, "DROP TABLE IF EXISTS "+table); err != nil {
		return err
	}
	if _, err := admin.ExecContext(ctx, "CREATE TABLE "+table+" (id INT PRIMARY KEY, v VARBINARY(16) NOT NULL) ENGINE=InnoDB"); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (id, v) VALUES ")
	for i := 1; i <= mysqlRows; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d,'%s')", i, redisValue)
	}
	_, err := admin.ExecContext(ctx, b.String())
	return err
}

func rowID(caller, n int) int { return (caller*131+n)%mysqlRows + 1 }

// runW2 is W2: SELECT 1 and a primary-key point select, one lease per
// query, against database/sql, callers up to 64. The actorpool side is
// p.With(ctx, func(c *mysqlbackend.Conn) error { return c.QueryRowContext(ctx, q).Scan(&v) }).
// Each round of each side runs in a child process of its own, unless
// -inprocess.
func runW2(ctx context.Context, e *env, rep *report) error {
	if err := createTable(ctx, e); err != nil {
		return err
	}
	return e.runLeaseCases(ctx, rep, leaseWorkload{
		name: "w2", title: "W2 MySQL ", peer: "database/sql", addr: mysqlDSN(e),
		ops: []string{"SELECT 1", "point select"}, maxCallers: 64, newSide: newW2Side,
	})
}

// w2Query runs W2's query opName on qr.
func w2Query(ctx context.Context, qr queryRower, opName string, caller, n int) error {
	if opName == "SELECT 1" {
		var v int
		return qr.QueryRowContext(ctx, "SELECT 1").Scan(&v)
	}
	var v []byte
	return qr.QueryRowContext(ctx, "SELECT v FROM "+mysqlTable+" WHERE id = ?", rowID(caller, n)).Scan(&v)
}

// newW2Side builds one side of W2 on the MariaDB of dsn.
func newW2Side(ctx context.Context, e *env, dsn, pool string) (func(opName string) op, func(), error) {
	e.dsn = dsn
	switch pool {
	case "actorpool":
		p, err := startPool(ctx, e, newMySQLBackend(e), actorpool.Config{})
		if err != nil {
			return nil, nil, err
		}
		return func(opName string) op {
			return func(ctx context.Context, caller, n int) (leased time.Time, err error) {
				err = p.With(ctx, func(c *mysqlbackend.Conn) error {
					leased = time.Now()
					return w2Query(ctx, c, opName, caller, n)
				})
				return leased, err
			}
		}, func() { closePool(p) }, nil
	case "database/sql":
		db, err := newSQLDB(ctx, e)
		if err != nil {
			return nil, nil, err
		}
		return func(opName string) op {
			return func(ctx context.Context, caller, n int) (time.Time, error) {
				return time.Time{}, w2Query(ctx, db, opName, caller, n)
			}
		}, func() { _ = db.Close() }, nil
	}
	return nil, nil, fmt.Errorf("W2 has no pool %q", pool)
}

// queryRower is what *sql.DB and *mysqlbackend.Conn share.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// W5: each lease holds its connection for w5Hold (SELECT SLEEP on the
// server); requests arrive at twice the rate the pool can serve; a request
// waits at most w5Timeout for a connection.
const (
	w5Hold    = 50 * time.Millisecond
	w5Timeout = 100 * time.Millisecond
	// w5Target is actorpool's QueueTarget: overload control on.
	w5Target = 10 * time.Millisecond
)

// w5Demands are W5's arrival rates, in times what the connections can
// serve: overload, and a control just under capacity.
var w5Demands = []float64{2, 0.9}

// runW5 is W5, overload, on MySQL. Requests arrive at a fixed rate, a
// multiple of what conns connections held w5Hold each can serve (an open
// loop: a slow pool does not slow the arrivals down). Each request acquires
// a connection, waiting at most w5Timeout, holds it with SELECT SLEEP, and
// gives it back. actorpool: AcquireTimeout w5Timeout, QueueTarget w5Target
// (overload control), Acquire then Release.
// database/sql: db.Conn with a ctx of w5Timeout (its queue is unbounded,
// a ctx is the only bound), then Conn.Close. Latency is the acquire alone.
func runW5(ctx context.Context, e *env, rep *report) error {
	be := newMySQLBackend(e)
	p, err := startPool(ctx, e, be, actorpool.Config{AcquireTimeout: w5Timeout, QueueTarget: w5Target})
	if err != nil {
		return err
	}
	defer closePool(p)
	db, err := newSQLDB(ctx, e)
	if err != nil {
		return err
	}
	defer db.Close()

	for _, demand := range w5Demands {
		if err := w5Case(ctx, e, rep, p, be, db, demand); err != nil || ctx.Err() != nil {
			return err
		}
	}
	return nil
}

// w5Case is one arrival rate of W5.
func w5Case(ctx context.Context, e *env, rep *report, p *actorpool.Pool[*mysqlbackend.Conn], be *mysqlbackend.Backend,
	db *sql.DB, demand float64) error {
	rate := demand * float64(e.cfg.conns) / w5Hold.Seconds()
	holdQuery := fmt.Sprintf("SELECT SLEEP(%g)", w5Hold.Seconds())
	c := &caseResult{
		workload: fmt.Sprintf("W5 MySQL overload (hold %s, timeout %s, QueueTarget %s)", w5Hold, w5Timeout, w5Target),
		callers:  fmt.Sprintf("%.0f/s (%g× capacity)", rate, demand),
		kind:     overload, peer: "database/sql",
	}
	labels := func(pool string) pprof.LabelSet { return pprof.Labels("workload", "w5", "pool", pool) }
	a := func(ctx context.Context) (result, error) {
		return openLoop(ctx, rate, e.cfg.warm(), e.cfg.duration, labels("actorpool"), func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			l, err := p.Acquire(ctx)
			wait := time.Since(start)
			if err != nil {
				return wait, err
			}
			var v int
			if qerr := l.Conn().QueryRowContext(ctx, holdQuery).Scan(&v); qerr != nil && be.IsFatal(qerr) {
				_ = l.MarkBroken(qerr)
			} else {
				_ = l.Release()
			}
			return wait, nil
		}, func(err error) bool { return errors.Is(err, actorpool.ErrAcquireTimeout) }), nil
	}
	b := func(ctx context.Context) (result, error) {
		return openLoop(ctx, rate, e.cfg.warm(), e.cfg.duration, labels("peer"), func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			actx, cancel := context.WithTimeout(ctx, w5Timeout)
			conn, err := db.Conn(actx)
			cancel()
			wait := time.Since(start)
			if err != nil {
				return wait, err
			}
			var v int
			_ = conn.QueryRowContext(ctx, holdQuery).Scan(&v)
			_ = conn.Close()
			return wait, nil
		}, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }), nil
	}
	return e.runCase(ctx, rep, c, a, b)
}

// openLoop starts one request every 1/rate seconds, each in its own
// goroutine, for warm then window. A request reports how long it waited
// for its connection and its acquire error; timedOut tells a timeout from
// other errors. Latencies, timeouts and errors are those of the requests
// that arrive inside the window; ops are the grants made inside it (so
// that requests queued across either edge do not inflate the rate). The
// round ends when the last request has.
func openLoop(ctx context.Context, rate float64, warm, window time.Duration, labels pprof.LabelSet,
	req func(ctx context.Context) (time.Duration, error), timedOut func(error) bool) result {
	var (
		mu       sync.Mutex
		lat      = getHist()
		ok, errs atomic.Int64
		timeouts atomic.Int64
		granted  atomic.Int64 // grants inside the window
		wg       sync.WaitGroup
	)
	interval := time.Duration(float64(time.Second) / rate)
	pprof.Do(ctx, labels, func(ctx context.Context) {
		begin := time.Now()
		measureFrom, end := begin.Add(warm), begin.Add(warm+window)
		for next := begin; next.Before(end) && ctx.Err() == nil; next = next.Add(interval) {
			if d := time.Until(next); d > 0 {
				sleepCtx(ctx, d)
			}
			counted := !next.Before(measureFrom)
			wg.Go(func() {
				start := time.Now()
				wait, err := req(ctx)
				if at := start.Add(wait); err == nil && !at.Before(measureFrom) && at.Before(end) {
					granted.Add(1)
				}
				if !counted {
					return
				}
				switch {
				case err == nil:
					ok.Add(1)
					mu.Lock()
					record(lat, wait)
					mu.Unlock()
				case timedOut(err):
					timeouts.Add(1)
				default:
					errs.Add(1)
				}
			})
		}
		wg.Wait()
	})
	total := ok.Load() + timeouts.Load() + errs.Load()
	res := result{ops: granted.Load(), errs: timeouts.Load() + errs.Load(), elapsed: window, lat: lat,
		extra: map[string]float64{"timeoutShare": 0, "otherErrors": float64(errs.Load())}}
	if total > 0 {
		res.extra["timeoutShare"] = float64(timeouts.Load()) / float64(total)
	}
	return res
}
