package main

// This file is the command: flags, one run from start to the last line,
// and the exit code.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// kvRows is the number of rows of the MySQL workload's table.
const kvRows = 1000

type config struct {
	duration time.Duration
	hold     time.Duration // how long each fault lasts; 0: from duration
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.DurationVar(&c.duration, "duration", 2*time.Minute, "how long the load and the fault schedule run")
	fs.DurationVar(&c.hold, "hold", 0, "how long each fault lasts (default: duration/40, between 300ms and 3s)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.duration <= 0 || c.hold < 0 {
		return c, errors.New("soak: -duration must be positive and -hold not negative")
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("soak: unexpected arguments: %q", fs.Args())
	}
	if c.hold == 0 {
		c.hold = min(max(c.duration/40, 300*time.Millisecond), 3*time.Second)
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	res, err := run(cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !res.clean() {
		os.Exit(1)
	}
}

// result is what the last line says.
type result struct {
	ops, lost, double, violations int64
}

func (r result) clean() bool { return r.lost == 0 && r.double == 0 && r.violations == 0 }

func (r result) String() string {
	return fmt.Sprintf("soak: %d ops, %d lost, %d double, %d violations", r.ops, r.lost, r.double, r.violations)
}

// run starts the servers and the proxies, runs the load under the fault
// schedule for cfg.duration, closes everything, checks what must hold
// after Close, and writes the table and the last line to out.
func run(cfg config, out io.Writer) (result, error) {
	// The drivers log every connection a fault breaks; the table says it.
	redis.SetLogger(quietRedis{})
	_ = mysql.SetLogger(&mysql.NopLogger{})
	zerolog.SetGlobalLevel(zerolog.Disabled) // toxiproxy's toxics log through zerolog's global logger

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := startServers(ctx)
	if err != nil {
		return result{}, err
	}
	defer srv.stop()
	if err := createTable(ctx, srv); err != nil {
		return result{}, err
	}
	if err := srv.redis.Observer().Ping(ctx).Err(); err != nil {
		return result{}, err
	}
	px := newProxies()
	defer px.stop()
	redisProxy, err := px.add("redis", srv.redis.Addr())
	if err != nil {
		return result{}, err
	}
	mariaProxy, err := px.add("mariadb", srv.maria.Addr())
	if err != nil {
		return result{}, err
	}
	// Everything running now is the harness's; whatever the pools start
	// must be gone after Close.
	baseline := append(harnessGoroutines(), goleak.IgnoreCurrent())

	t := newTally()
	ps, err := openPools(srv, redisProxy.Listen, mariaProxy.Listen)
	if err != nil {
		return result{}, err
	}
	ld := &load{t: t, ps: ps, stop: make(chan struct{}), revoked: map[any]bool{}}
	ld.start()
	actors(ld, 2, redisTarget, "redis actor", ps.redisLease, pingRedis, ps.redisBE.IsFatal)
	actors(ld, 2, mariaTarget, "mysql actor", ps.maria, pingMaria, ps.mariaBE.IsFatal)
	w := &watcher{t: t, srv: srv, ps: ps, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()

	started := time.Now()
	faultErr := runFaults(t, schedule(srv, [2]*toxiproxy.Proxy{redisProxy, mariaProxy}), started.Add(cfg.duration), cfg.hold)
	if rest := time.Until(started.Add(cfg.duration)); faultErr == nil && rest > 0 {
		time.Sleep(rest)
	}

	close(ld.stop)
	if !waitGroup(&ld.wg, 30*time.Second) {
		t.violate("the workers did not stop within 30 s of the end")
	}
	close(w.stop)
	<-w.done
	if err := ps.close(10 * time.Second); err != nil {
		t.violate("%v", err)
	}
	checkStats(t, ps, true)
	t.stalls.close()
	drained(t, srv)
	srv.maria.Admin().SetMaxIdleConns(0) // the checks' own root sessions
	if err := goleak.Find(baseline...); err != nil {
		t.violate("goroutines left after Close: %v", err)
	}
	res := result{ops: t.totalOps(), lost: t.acquired.Load() - t.ended.Load(), double: t.double.Load()}
	t.mu.Lock()
	for conn, who := range t.held {
		t.first = append(t.first, fmt.Sprintf("lease of %s on %p never ended", who, conn))
	}
	t.mu.Unlock()
	res.violations = t.violations.Load()
	report(out, cfg, time.Since(started), t, ps, w.seen)
	fmt.Fprintln(out, res)
	return res, faultErr
}

// createTable makes the MySQL workload's table: kvRows rows.
func createTable(ctx context.Context, srv *servers) error {
	admin := srv.maria.Admin()
	table := srv.maria.Database() + ".soak_kv"
	if _, err := admin.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+table+
		" (id INT PRIMARY KEY, v VARBINARY(16) NOT NULL, n INT NOT NULL DEFAULT 0) ENGINE=InnoDB"); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("INSERT IGNORE INTO " + table + " (id, v) VALUES ")
	for i := 1; i <= kvRows; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d,'0123456789abcdef')", i)
	}
	_, err := admin.ExecContext(ctx, b.String())
	return err
}

// waitGroup waits for wg at most d.
func waitGroup(wg interface{ Wait() }, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// quietRedis drops go-redis's internal log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
