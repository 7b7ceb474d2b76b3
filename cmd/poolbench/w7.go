package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/group"
)

// W7's rows, in the order they run in each round and appear in the report.
var w7Pools = []string{"actorpool-p2c", "actorpool-roundrobin", "go-redis-random", "actorpool-fast-only"}

const (
	w7Callers = 64
	w7Delay   = 2 * time.Millisecond // the slow endpoint's added latency per request
)

// w7Endpoints names W7's endpoints; the last is the slow one.
var w7Endpoints = []string{"fast-1", "fast-2", "slow"}

// w7Case is W7's results: one summary per round for each row, and the
// share of requests each endpoint served in that round.
type w7Case struct {
	conns  int
	rows   map[string][]summary
	shares map[string][][]float64 // row -> round -> share of each endpoint
}

// runW7 is W7: three Redis servers, the third behind a proxy that delays
// each request by w7Delay; GET of a 16-byte value, one lease per op,
// w7Callers callers; every row in every round, alternating.
//
//   - actorpool-p2c: a group of the three, power of two choices;
//   - actorpool-roundrobin: a group of the three, round-robin;
//   - go-redis-random: one go-redis client per endpoint, picked at random
//     for each op;
//   - actorpool-fast-only: a group of the two fast endpoints, power of two
//     choices: what a perfect picker approaches.
func runW7(ctx context.Context, e *env, rep *report) error {
	var addrs []string
	for range 3 {
		s, err := startRedis()
		if err != nil {
			return err
		}
		defer s.Stop()
		addrs = append(addrs, s.Addr())
	}
	proxy, err := startProxy(addrs[2], w7Delay)
	if err != nil {
		return err
	}
	defer proxy.Close()
	addrs[2] = proxy.Addr()

	// Every row reads the same keys, set once on every server.
	for _, a := range addrs {
		c, err := newGoRedis(ctx, a, 1, e.cfg.peerCheck)
		if err != nil {
			return err
		}
		for _, k := range redisKeyNames {
			if err := c.Set(ctx, k, redisValue, 0).Err(); err != nil {
				_ = c.Close()
				return err
			}
		}
		_ = c.Close()
	}
	sides := map[string]*w7Side{}
	if e.cfg.inProcess {
		for _, name := range w7Pools {
			side, err := newW7Side(ctx, e, addrs, name)
			if err != nil {
				return err
			}
			defer side.close()
			sides[name] = side
		}
	}

	c := &w7Case{conns: e.cfg.conns, rows: map[string][]summary{}, shares: map[string][][]float64{}}
	rep.w7 = c
	for r := 1; r <= e.cfg.rounds; r++ {
		line := ""
		for _, name := range w7Pools {
			var sum summary
			var shares []float64
			if side := sides[name]; side != nil {
				sum, shares = side.round(ctx, e)
			} else {
				res, err := runChild(ctx, e, childSpec{Workload: "w7", Pool: name, Callers: w7Callers, Addrs: addrs})
				if err != nil {
					return err
				}
				sum, shares = *res.summary(), res.Shares
			}
			if ctx.Err() != nil {
				return nil
			}
			c.rows[name] = append(c.rows[name], sum)
			c.shares[name] = append(c.shares[name], shares)
			line += fmt.Sprintf(" | %s %.0f ops/s slow %.0f%%", name, sum.opsPerSec, 100*shares[2])
		}
		fmt.Fprintf(e.log, "W7 round %d/%d:%s\n", r, e.cfg.rounds, line)
	}
	return nil
}

// w7Side is one W7 row's client: op serves one GET; served counts the
// requests each endpoint has served so far.
type w7Side struct {
	name   string
	op     func(ctx context.Context, k string) error
	served func() []float64
	close  func()
}

// newW7Side builds row name's client over addrs (the last one slow).
func newW7Side(ctx context.Context, e *env, addrs []string, name string) (*w7Side, error) {
	if name == "go-redis-random" {
		var peers []*redis.Client
		served := make([]atomic.Int64, len(addrs))
		closeAll := func() {
			for _, c := range peers {
				_ = c.Close()
			}
		}
		for _, a := range addrs {
			c, err := newGoRedis(ctx, a, e.cfg.conns, e.cfg.peerCheck)
			if err != nil {
				closeAll()
				return nil, err
			}
			peers = append(peers, c)
		}
		return &w7Side{
			name: name,
			op: func(ctx context.Context, k string) error {
				i := rand.IntN(len(peers))
				served[i].Add(1)
				return peers[i].Get(ctx, k).Err()
			},
			served: func() []float64 {
				out := make([]float64, len(served))
				for i := range served {
					out[i] = float64(served[i].Load())
				}
				return out
			},
			close: closeAll,
		}, nil
	}
	picker, n := group.PowerOfTwo(), len(addrs)
	switch name {
	case "actorpool-roundrobin":
		picker = group.RoundRobin()
	case "actorpool-fast-only":
		n--
	}
	var eps []group.Endpoint[*redisbackend.Conn]
	for i := range n {
		eps = append(eps, group.Endpoint[*redisbackend.Conn]{
			Name:    w7Endpoints[i],
			Backend: redisbackend.New(redisbackend.Options{Addr: addrs[i]}),
			Pool:    &actorpool.Config{MinConns: e.cfg.conns, MaxConns: e.cfg.conns, Logger: e.discard},
		})
	}
	// Every endpoint is a primary; no role checks run beside the load.
	g, err := group.New(e.sys, group.Config{Picker: picker, RolesFromConfig: true, Logger: e.discard}, eps...)
	if err != nil {
		return nil, err
	}
	return &w7Side{
		name: name,
		op: func(ctx context.Context, k string) error {
			return g.With(ctx, func(c *redisbackend.Conn) error { return c.Get(ctx, k).Err() })
		},
		served: func() []float64 {
			out := make([]float64, len(addrs))
			for i, ep := range g.Stats().Endpoints() {
				out[i] = float64(ep.Pool().Acquired())
			}
			return out
		},
		close: func() { closeGroup(g) },
	}, nil
}

// round runs one round of the row: its summary and the share of the
// requests each endpoint served.
func (s *w7Side) round(ctx context.Context, e *env) (summary, []float64) {
	labels := pprof.Labels("workload", "w7", "pool", s.name)
	before := s.served()
	res := closedLoop(ctx, w7Callers, e.cfg.warm(), e.cfg.duration, labels,
		func(ctx context.Context, caller, n int) (time.Time, error) {
			return time.Time{}, s.op(ctx, redisKey(caller, n))
		})
	after, total := s.served(), 0.0
	for i := range after {
		after[i] -= before[i]
		total += after[i]
	}
	for i := range after {
		if total > 0 {
			after[i] /= total
		}
	}
	return res.summarise(), after
}

func closeGroup[C any](g *group.Group[C]) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.Close(ctx)
}

// w7Markdown is W7's table: ops/s, latency, errors, p2c's ops/s over each
// row's, and each endpoint's share of the requests.
func (r *report) w7Markdown(b *strings.Builder) {
	c := r.w7
	if c == nil {
		return
	}
	fmt.Fprintf(b, "\nW7: three Redis endpoints, %q %s slower (a proxy delays each request), %d connections each, %d callers, GET 16 bytes, one lease per op; every row in every round, in the order of the table. p2c / row: actorpool-p2c's ops/s over the row's, round by round, median (min–max). Shares: requests each endpoint served (fast-1 / fast-2 / slow), median over the rounds.\n\n",
		w7Endpoints[2], w7Delay, c.conns, w7Callers)
	b.WriteString("| workload | callers | pool | ops/s | p50 | p99 | errors | p2c / row | shares |\n")
	b.WriteString("|---|---:|---|---:|---:|---:|---:|---:|---|\n")
	p2c := c.rows[w7Pools[0]]
	for _, name := range w7Pools {
		rows := c.rows[name]
		if len(rows) == 0 {
			continue
		}
		var errs int64
		for _, s := range rows {
			errs += s.errs
		}
		ratio := "—"
		if name != w7Pools[0] && len(rows) == len(p2c) {
			ratio = ratioCell(p2c, rows)
		}
		var shares []string
		for i := range w7Endpoints {
			xs := make([]float64, 0, len(c.shares[name]))
			for _, sh := range c.shares[name] {
				xs = append(xs, sh[i])
			}
			m, _, _ := median(xs)
			shares = append(shares, fmt.Sprintf("%.0f%%", 100*m))
		}
		if name == "actorpool-fast-only" {
			shares[2] = "—"
		}
		fmt.Fprintf(b, "| W7 Redis GET | %d | %s | %.0f | %s | %s | %d | %s | %s |\n", w7Callers, name,
			medianOf(rows, func(s summary) float64 { return s.opsPerSec }),
			fmtDur(medianOf(rows, func(s summary) float64 { return float64(s.p50) })),
			fmtDur(medianOf(rows, func(s summary) float64 { return float64(s.p99) })),
			errs, ratio, strings.Join(shares, " / "))
	}
}
