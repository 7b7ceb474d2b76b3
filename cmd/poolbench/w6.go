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

// runW6 is W6: command mode against go-redis's AutoPipeline, rueidis, and
// lease mode on both sides, GET and SET of 16 bytes, every pool in every
// round, alternating.
//
//   - actorpool-cmd: redisbackend.Commands on a pool of MaxConns conns
//     (command mode decides how many it uses);
//   - go-redis-auto: go-redis v9's Client.AutoPipeline(), blocking face,
//     PoolSize conns;
//   - rueidis: rueidis.NewClient with DisableCache, otherwise defaults;
//   - actorpool: one lease per command, as W1;
//   - go-redis: go-redis's own pool, as W1.
func runW6(ctx context.Context, e *env, rep *report) error {
	addr := e.srv.redis.Addr()
	be := func() *redisbackend.Backend { return redisbackend.New(redisbackend.Options{Addr: addr}) }
	cmdPool, err := actorpool.New(e.sys, be(), actorpool.Config{MaxConns: e.cfg.conns, Logger: e.discard})
	if err != nil {
		return err
	}
	defer closePool(cmdPool)
	rc := redisbackend.NewCommands(cmdPool)
	leasePool, err := startPool(ctx, e, be(), actorpool.Config{})
	if err != nil {
		return err
	}
	defer closePool(leasePool)
	peer, err := newGoRedis(ctx, addr, e.cfg.conns, e.cfg.peerCheck)
	if err != nil {
		return err
	}
	defer peer.Close()
	auto, err := peer.AutoPipeline()
	if err != nil {
		return err
	}
	rue, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		return err
	}
	defer rue.Close()
	for _, k := range redisKeyNames {
		if err := peer.Set(ctx, k, redisValue, 0).Err(); err != nil {
			return err
		}
	}

	goRedisSide := func(name string, c redis.Cmdable) w6Side {
		return w6Side{name,
			func(ctx context.Context, k string) error { return c.Get(ctx, k).Err() },
			func(ctx context.Context, k string) error { return c.Set(ctx, k, redisValue, 0).Err() }}
	}
	sides := []w6Side{
		goRedisSide("actorpool-cmd", rc),
		goRedisSide("go-redis-auto", auto),
		{"rueidis",
			func(ctx context.Context, k string) error { return rue.Do(ctx, rue.B().Get().Key(k).Build()).Error() },
			func(ctx context.Context, k string) error {
				return rue.Do(ctx, rue.B().Set().Key(k).Value(redisValue).Build()).Error()
			}},
		{"actorpool",
			func(ctx context.Context, k string) error {
				return leasePool.With(ctx, func(c *redisbackend.Conn) error { return c.Get(ctx, k).Err() })
			},
			func(ctx context.Context, k string) error {
				return leasePool.With(ctx, func(c *redisbackend.Conn) error { return c.Set(ctx, k, redisValue, 0).Err() })
			}},
		goRedisSide("go-redis", peer),
	}
	for _, op := range []string{"GET", "SET"} {
		for _, callers := range e.cfg.callers {
			c := &multiCase{workload: "W6 Redis " + op, callers: strconv.Itoa(callers), pools: w6Pools,
				rows: map[string][]summary{}}
			rep.multi = append(rep.multi, c)
			for r := 1; r <= e.cfg.rounds; r++ {
				line := ""
				for _, s := range sides {
					fn := s.get
					if op == "SET" {
						fn = s.set
					}
					labels := pprof.Labels("workload", "w6", "op", op, "pool", s.name, "callers", c.callers)
					before := cmdPool.Stats()
					res := closedLoop(ctx, callers, e.cfg.warm(), e.cfg.duration, labels,
						func(ctx context.Context, caller, n int) (time.Time, error) {
							return time.Time{}, fn(ctx, redisKey(caller, n))
						})
					if ctx.Err() != nil {
						return nil
					}
					sum := res.summarise()
					c.rows[s.name] = append(c.rows[s.name], sum)
					if s.name == "actorpool-cmd" {
						after := cmdPool.Stats()
						c.conns = append(c.conns, float64(after.CommandConns()))
						if b := after.Batches() - before.Batches(); b > 0 {
							c.batch = append(c.batch, float64(after.Commands()-before.Commands())/float64(b))
						}
					}
					line += fmt.Sprintf(" | %s %.0f ops/s p99 %s", s.name, sum.opsPerSec, fmtDur(float64(sum.p99)))
				}
				fmt.Fprintf(e.log, "%s callers=%s round %d/%d:%s\n", c.workload, c.callers, r, e.cfg.rounds, line)
			}
		}
	}
	return nil
}
