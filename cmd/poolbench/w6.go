package main

import (
	"context"
	"fmt"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

// W6's pools, in the order they run in each round and appear in the report.
var w6Pools = []string{"actorpool-cmd", "go-redis-auto", "rueidis", "actorpool", "go-redis"}

// w6Side is one of W6's pools: a GET and a SET of a 16-byte value.
type w6Side struct {
	name     string
	get, set func(ctx context.Context, key string) error
}

// multiCase is one case of a workload run by several pools, one summary
// per round each; pools[0] is the one the ratios are of.
type multiCase struct {
	workload, callers string
	intro             string // heads the table; empty: W6's
	pools             []string
	rows              map[string][]summary
	batch             []float64 // actorpool-cmd: mean commands per batch, per round
	conns             []float64 // actorpool-cmd: connections in command mode at the end of each round
}

// w6Clients are W6's clients, each built only when named.
type w6Clients struct {
	sides   map[string]w6Side
	cmdPool *actorpool.Pool[*redisbackend.Conn] // actorpool-cmd's pool, for its notes; nil without it
	closers []func()
}

func (w *w6Clients) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}

// newW6Clients builds the named clients of W6 on the Redis at addr:
//
//   - actorpool-cmd: redisbackend.Commands on a pool of MaxConns conns
//     (command mode decides how many it uses);
//   - go-redis-auto: go-redis v9's Client.AutoPipeline(), blocking face,
//     PoolSize conns;
//   - rueidis: rueidis.NewClient with DisableCache, otherwise defaults;
//   - actorpool: one lease per command, as W1;
//   - go-redis: go-redis's own pool, as W1.
func newW6Clients(ctx context.Context, e *env, addr string, names []string) (*w6Clients, error) {
	w := &w6Clients{sides: map[string]w6Side{}}
	be := func() *redisbackend.Backend { return redisbackend.New(redisbackend.Options{Addr: addr}) }
	goRedisSide := func(name string, c redis.Cmdable) w6Side {
		return w6Side{name,
			func(ctx context.Context, k string) error { return c.Get(ctx, k).Err() },
			func(ctx context.Context, k string) error { return c.Set(ctx, k, redisValue, 0).Err() }}
	}
	for _, name := range names {
		switch name {
		case "actorpool-cmd":
			p, err := actorpool.New(e.sys, be(), actorpool.Config{MaxConns: e.cfg.conns, Logger: e.discard})
			if err != nil {
				return w, err
			}
			w.closers = append(w.closers, func() { closePool(p) })
			w.cmdPool = p
			w.sides[name] = goRedisSide(name, redisbackend.NewCommands(p))
		case "go-redis-auto", "go-redis":
			peer, err := newGoRedis(ctx, addr, e.cfg.conns, e.cfg.peerCheck)
			if err != nil {
				return w, err
			}
			w.closers = append(w.closers, func() { _ = peer.Close() })
			if name == "go-redis" {
				w.sides[name] = goRedisSide(name, peer)
				continue
			}
			auto, err := peer.AutoPipeline()
			if err != nil {
				return w, err
			}
			w.sides[name] = goRedisSide(name, auto)
		case "rueidis":
			rue, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
			if err != nil {
				return w, err
			}
			w.closers = append(w.closers, rue.Close)
			w.sides[name] = w6Side{name,
				func(ctx context.Context, k string) error { return rue.Do(ctx, rue.B().Get().Key(k).Build()).Error() },
				func(ctx context.Context, k string) error {
					return rue.Do(ctx, rue.B().Set().Key(k).Value(redisValue).Build()).Error()
				}}
		case "actorpool":
			p, err := startPool(ctx, e, be(), actorpool.Config{})
			if err != nil {
				return w, err
			}
			w.closers = append(w.closers, func() { closePool(p) })
			w.sides[name] = w6Side{name,
				func(ctx context.Context, k string) error {
					return p.With(ctx, func(c *redisbackend.Conn) error { return c.Get(ctx, k).Err() })
				},
				func(ctx context.Context, k string) error {
					return p.With(ctx, func(c *redisbackend.Conn) error { return c.Set(ctx, k, redisValue, 0).Err() })
				}}
		default:
			return w, fmt.Errorf("W6 has no pool %q", name)
		}
	}
	return w, nil
}

// w6Round is one round of one W6 client: its summary, and for
// actorpool-cmd the mean commands per batch and the connections it held
// at the end (0 for the others).
func w6Round(ctx context.Context, e *env, w *w6Clients, name, op string, callers int) (sum summary, batch float64, conns int) {
	s := w.sides[name]
	fn := s.get
	if op == "SET" {
		fn = s.set
	}
	var before actorpool.Stats
	if name == "actorpool-cmd" {
		before = w.cmdPool.Stats()
	}
	labels := pprof.Labels("workload", "w6", "op", op, "pool", name, "callers", strconv.Itoa(callers))
	res := closedLoop(ctx, callers, e.cfg.warm(), e.cfg.duration, labels,
		func(ctx context.Context, caller, n int) (time.Time, error) {
			return time.Time{}, fn(ctx, redisKey(caller, n))
		})
	sum = res.summarise()
	if name == "actorpool-cmd" {
		after := w.cmdPool.Stats()
		conns = after.CommandConns()
		if b := after.Batches() - before.Batches(); b > 0 {
			batch = float64(after.Commands()-before.Commands()) / float64(b)
		}
	}
	return sum, batch, conns
}

// runW6 is W6: command mode against go-redis's AutoPipeline, rueidis, and
// lease mode on both sides, GET and SET of 16 bytes, every pool in every
// round, alternating. Each round of each client runs in a process of its
// own (a child poolbench, see child.go), unless -inprocess.
func runW6(ctx context.Context, e *env, rep *report) error {
	addr := e.srv.redis.Addr()
	seed := redis.NewClient(&redis.Options{Addr: addr})
	defer seed.Close()
	for _, k := range redisKeyNames {
		if err := seed.Set(ctx, k, redisValue, 0).Err(); err != nil {
			return err
		}
	}
	var w *w6Clients
	if e.cfg.inProcess {
		var err error
		w, err = newW6Clients(ctx, e, addr, w6Pools)
		defer w.close()
		if err != nil {
			return err
		}
	}
	pools := w6Pools
	if hasRedisBenchmark() {
		pools = append(pools[:len(pools):len(pools)], limitPool)
	}
	for _, op := range []string{"GET", "SET"} {
		for _, callers := range e.cfg.callers {
			c := &multiCase{workload: "W6 Redis " + op, callers: strconv.Itoa(callers), pools: pools,
				rows: map[string][]summary{}}
			rep.multi = append(rep.multi, c)
			for r := 1; r <= e.cfg.rounds; r++ {
				line := ""
				for _, name := range pools {
					var sum summary
					var batch float64
					var conns int
					if name == limitPool {
						var err error
						if sum, err = runLimit(ctx, addr, op, callers, e.cfg.duration); err != nil {
							return err
						}
					} else if e.cfg.inProcess {
						sum, batch, conns = w6Round(ctx, e, w, name, op, callers)
					} else {
						res, err := runChild(ctx, e, childSpec{Workload: "w6", Pool: name, Op: op, Callers: callers, Addr: addr})
						if err != nil {
							return err
						}
						sum, batch, conns = *res.summary(), res.Batch, res.Conns
					}
					if ctx.Err() != nil {
						return nil
					}
					c.rows[name] = append(c.rows[name], sum)
					if name == "actorpool-cmd" {
						c.conns = append(c.conns, float64(conns))
						if batch > 0 {
							c.batch = append(c.batch, batch)
						}
					}
					line += fmt.Sprintf(" | %s %.0f ops/s p99 %s", name, sum.opsPerSec, fmtDur(float64(sum.p99)))
				}
				fmt.Fprintf(e.log, "%s callers=%s round %d/%d:%s\n", c.workload, c.callers, r, e.cfg.rounds, line)
			}
		}
	}
	return nil
}
