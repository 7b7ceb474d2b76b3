package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/budget"
	"github.com/actorpool/actorpool/internal/clustertest"
)

// W8's rows, in the order they run in each round.
var w8Pools = []string{"actorpool-budget", "static-split"}

const (
	w8Members = 4
	w8Budget  = 20
	w8Callers = 64
	w8Hold    = time.Millisecond // the caller's work while it holds the lease
)

// w8Case is W8's results: one summary per round for each row, and the
// times the shared budget took in each round.
type w8Case struct {
	rows             map[string][]summary
	to80, served     []time.Duration // the loaded member at 80% of the budget; its connections open
	join, leave, idl []time.Duration // until every member agreed again
	maxOpen, over    int64
}

// runW8 is W8: a Redis server and four cluster members, one of them
// loaded (w8Callers callers, each op a GET of 16 bytes on a lease held
// w8Hold), the three others idle.
//
//   - actorpool-budget: the four pools share a budget of w8Budget
//     (package budget); the loaded member's load starts at the round's
//     start, so its rate includes the time the allocation takes to move;
//   - static-split: the loaded member's pool has MaxConns w8Budget/4, an
//     equal split fixed by hand.
//
// Each round also times the budget's convergence: after the load stops,
// after a fifth member joins, and after it leaves.
func runW8(ctx context.Context, e *env, rep *report) error {
	srv, err := startRedis()
	if err != nil {
		return err
	}
	defer srv.Stop()
	backend := func() backends.Backend[*redisbackend.Conn] {
		return redisbackend.New(redisbackend.Options{Addr: srv.Addr()})
	}
	cfg := budget.Config{Name: "w8", Budget: w8Budget, Logger: e.discard}
	site := clustertest.NewSite(cfg, backend, func(ctx context.Context, c *redisbackend.Conn) error {
		return c.Get(ctx, redisKeyNames[0]).Err()
	})
	defer site.Close()
	seed, err := newGoRedis(ctx, srv.Addr(), 1, false)
	if err != nil {
		return err
	}
	for _, k := range redisKeyNames {
		if err = seed.Set(ctx, k, redisValue, 0).Err(); err != nil {
			break
		}
	}
	if err = errors.Join(err, seed.Close()); err != nil {
		return err
	}
	fmt.Fprintf(e.log, "W8: starting %d cluster members...\n", w8Members)
	nodes, err := site.Start(w8Members)
	if err != nil {
		return err
	}
	if _, err := w8Wait(ctx, site.Settled); err != nil {
		return fmt.Errorf("members never agreed: %w", err)
	}
	c := &w8Case{rows: map[string][]summary{}}
	rep.w8 = c
	// The budget's pools keep idle connections up to their shares while
	// the static-split pool runs: the server may see both.
	sampler := clustertest.Sample(w8Budget+w8Budget/w8Members, 2*time.Millisecond, srv.srv.ClientCount)
	defer func() { _, c.maxOpen, c.over = sampler.Stop() }()
	loaded := nodes[0]
	for r := 1; r <= e.cfg.rounds; r++ {
		line := ""
		for _, name := range w8Pools {
			pool := loaded.Pool
			var reached chan time.Duration
			if name == "actorpool-budget" {
				reached = make(chan time.Duration, 2)
				go w8Reach(ctx, pool, e.cfg.warm()+e.cfg.duration, reached)
			} else {
				pool, err = actorpool.New(e.sys, backend(), actorpool.Config{MaxConns: w8Budget / w8Members, Logger: e.discard})
				if err != nil {
					return err
				}
			}
			labels := pprof.Labels("workload", "w8", "pool", name)
			res := closedLoop(ctx, w8Callers, e.cfg.warm(), e.cfg.duration, labels,
				func(ctx context.Context, caller, n int) (time.Time, error) {
					return time.Time{}, pool.With(ctx, func(conn *redisbackend.Conn) error {
						err := conn.Get(ctx, redisKey(caller, n)).Err()
						sleepCtx(ctx, w8Hold)
						return err
					})
				})
			if pool != loaded.Pool {
				closePool(pool)
			}
			if ctx.Err() != nil {
				return nil
			}
			sum := res.summarise()
			c.rows[name] = append(c.rows[name], sum)
			line += fmt.Sprintf(" | %s %.0f ops/s", name, sum.opsPerSec)
			if reached != nil {
				to80, all := <-reached, <-reached
				c.to80, c.served = append(c.to80, to80), append(c.served, all)
				line += fmt.Sprintf(" (80%% of the budget after %v)", to80.Round(time.Millisecond))
				// The load stopped with closedLoop; the member keeps asking
				// for more for budget.Config.Window after its callers waited.
				idle, err := w8Wait(ctx, func() bool {
					return loaded.Share.Status().Limit == w8Budget/w8Members && site.Settled()
				})
				if err != nil {
					return fmt.Errorf("after the load stopped: %w", err)
				}
				c.idl = append(c.idl, idle)
			}
		}
		if err := w8Churn(ctx, site, c); err != nil {
			return err
		}
		fmt.Fprintf(e.log, "W8 round %d/%d:%s\n", r, e.cfg.rounds, line)
	}
	return nil
}

// w8Reach sends how long after its start pool first had 80% of the budget
// open, then how long until it had every connection its share allows
// (w8Budget less the idle members' floors); within limit.
func w8Reach(ctx context.Context, pool *actorpool.Pool[*redisbackend.Conn], limit time.Duration, out chan<- time.Duration) {
	start := time.Now()
	want := []int{(w8Budget*8 + 9) / 10, w8Budget - (w8Members - 1)}
	for _, n := range want {
		for pool.Stats().Total() < n && ctx.Err() == nil && time.Since(start) < limit {
			time.Sleep(time.Millisecond)
		}
		out <- time.Since(start)
	}
}

// w8Churn times a fifth member joining, then leaving the budget.
func w8Churn(ctx context.Context, site *clustertest.Site[*redisbackend.Conn], c *w8Case) error {
	ns, err := site.Start(1)
	if err != nil {
		return err
	}
	joined := time.Now()
	if _, err := w8Wait(ctx, site.Settled); err != nil {
		return fmt.Errorf("after a join: %w", err)
	}
	c.join = append(c.join, time.Since(joined))
	left := time.Now()
	if err := ns[0].LeaveBudget(ctx); err != nil {
		return err
	}
	if _, err := w8Wait(ctx, site.Settled); err != nil {
		return fmt.Errorf("after a leave: %w", err)
	}
	c.leave = append(c.leave, time.Since(left))
	go ns[0].Leave() // the cluster member's shutdown sleeps 2 s; Site.Close waits for it
	return nil
}

// w8Wait polls cond every millisecond for up to 10 s.
func w8Wait(ctx context.Context, cond func() bool) (time.Duration, error) {
	start := time.Now()
	for !cond() {
		if ctx.Err() != nil || time.Since(start) > 10*time.Second {
			return 0, fmt.Errorf("not settled after %v", time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start), nil
}

// w8Markdown is W8's tables: the loaded member's rate under each row, and
// the budget's times.
func (r *report) w8Markdown(b *strings.Builder) {
	c := r.w8
	if c == nil || len(c.rows[w8Pools[0]]) == 0 {
		return
	}
	fmt.Fprintf(b, "\nW8: %d cluster members, one loaded (%d callers, GET 16 bytes on a lease held %v more), three idle; actorpool-budget: the four pools share a budget of %d connections (package budget, defaults), the load starting with the measured window's warm-up; static-split: the loaded member's pool has MaxConns %d. budget / static: ops/s round by round, median (min–max).\n\n",
		w8Members, w8Callers, w8Hold, w8Budget, w8Budget/w8Members)
	b.WriteString("| workload | callers | pool | ops/s | p50 | p99 | errors | budget / static |\n")
	b.WriteString("|---|---:|---|---:|---:|---:|---:|---:|\n")
	for _, name := range w8Pools {
		rows := c.rows[name]
		var errs int64
		for _, s := range rows {
			errs += s.errs
		}
		ratio := "—"
		if name == w8Pools[0] {
			ratio = ratioCell(rows, c.rows[w8Pools[1]])
		}
		fmt.Fprintf(b, "| W8 | %d | %s | %.0f | %s | %s | %d | %s |\n", w8Callers, name,
			medianOf(rows, func(s summary) float64 { return s.opsPerSec }),
			fmtDur(medianOf(rows, func(s summary) float64 { return float64(s.p50) })),
			fmtDur(medianOf(rows, func(s summary) float64 { return float64(s.p99) })), errs, ratio)
	}
	b.WriteString("\n| budget event | median | min | max |\n|---|---:|---:|---:|\n")
	for _, ev := range []struct {
		what string
		ds   []time.Duration
	}{
		{fmt.Sprintf("load starts: the loaded member has 80%% of the budget (%d) open", (w8Budget*8+9)/10), c.to80},
		{fmt.Sprintf("load starts: it has its whole share (%d) open", w8Budget-(w8Members-1)), c.served},
		{"load stops: back to the even split, all agreeing (includes Window, 1 s)", c.idl},
		{"a fifth member joins: every member agrees (includes its first Window, 1 s)", c.join},
		{"it leaves the budget: the others agree", c.leave},
	} {
		xs := make([]float64, len(ev.ds))
		for i, d := range ev.ds {
			xs[i] = float64(d)
		}
		m, lo, hi := median(xs)
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", ev.what, fmtDur(m), fmtDur(lo), fmtDur(hi))
	}
	fmt.Fprintf(b, "\nThe server's client count, sampled every 2 ms through W8: at most %d, %d samples above %d (the budget, plus the static-split pool's %d while the budget's idle pools keep theirs).\n",
		c.maxOpen, c.over, w8Budget+w8Budget/w8Members, w8Budget/w8Members)
}
