package main

import (
	"context"
	"fmt"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/redis/rueidis"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/rediscluster"
	"github.com/actorpool/actorpool/internal/testserver/redisclusterserver"
)

// W10's pools, in the order they run in each round and appear in the
// report.
var w10Pools = []string{"actorpool-cluster-cmd", "go-redis-cluster-auto", "rueidis-cluster", "go-redis-cluster"}

const w10Intro = "W10: a Redis Cluster of three primaries on this machine, keys spread over every slot, GET and SET of 16 bytes; every pool runs in every round, each round of each in a process of its own, in the order of the table; ratios are actorpool-cluster-cmd's ops/s over the pool of the column, round by round, median (min–max). -conns connections per node for each pool that takes a size."

// newW10Side builds one of W10's clients on the cluster whose nodes are
// seeds:
//
//   - actorpool-cluster-cmd: rediscluster.Cluster's Commands, a pool of
//     -conns per node in command mode;
//   - go-redis-cluster-auto: go-redis's ClusterClient.AutoPipeline(),
//     which pipelines per node;
//   - rueidis-cluster: rueidis.NewClient on the seeds (it finds the
//     cluster), DisableCache;
//   - go-redis-cluster: go-redis's ClusterClient with its own pool of
//     -conns per node.
func newW10Side(ctx context.Context, e *env, seeds []string, name string) (w6Side, func(), error) {
	goRedisSide := func(c redis.Cmdable) w6Side {
		return w6Side{name,
			func(ctx context.Context, k string) error { return c.Get(ctx, k).Err() },
			func(ctx context.Context, k string) error { return c.Set(ctx, k, redisValue, 0).Err() }}
	}
	switch name {
	case "actorpool-cluster-cmd":
		c, err := rediscluster.New(ctx, e.sys, rediscluster.Config{
			Seeds: seeds,
			Pool:  actorpool.Config{MaxConns: e.cfg.conns, Logger: e.discard},
		})
		if err != nil {
			return w6Side{}, nil, err
		}
		return goRedisSide(c.Commands()), func() { _ = c.Close(context.Background()) }, nil
	case "go-redis-cluster", "go-redis-cluster-auto":
		cc := redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:                    seeds,
			PoolSize:                 e.cfg.conns,
			Dialer:                   peerDialer(e.cfg.peerCheck),
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		})
		if err := cc.Ping(ctx).Err(); err != nil {
			_ = cc.Close()
			return w6Side{}, nil, err
		}
		if name == "go-redis-cluster" {
			return goRedisSide(cc), func() { _ = cc.Close() }, nil
		}
		auto, err := cc.AutoPipeline()
		if err != nil {
			_ = cc.Close()
			return w6Side{}, nil, err
		}
		return goRedisSide(auto), func() { _ = cc.Close() }, nil
	case "rueidis-cluster":
		rue, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: seeds, DisableCache: true})
		if err != nil {
			return w6Side{}, nil, err
		}
		return w6Side{name,
			func(ctx context.Context, k string) error { return rue.Do(ctx, rue.B().Get().Key(k).Build()).Error() },
			func(ctx context.Context, k string) error {
				return rue.Do(ctx, rue.B().Set().Key(k).Value(redisValue).Build()).Error()
			}}, rue.Close, nil
	}
	return w6Side{}, nil, fmt.Errorf("W10 has no pool %q", name)
}

// w10Round is one round of one W10 client, built for the round.
func w10Round(ctx context.Context, e *env, seeds []string, name, op string, callers int) (summary, error) {
	side, closeSide, err := newW10Side(ctx, e, seeds, name)
	if err != nil {
		return summary{}, err
	}
	defer closeSide()
	fn := side.get
	if op == "SET" {
		fn = side.set
	}
	labels := pprof.Labels("workload", "w10", "op", op, "pool", name, "callers", strconv.Itoa(callers))
	res := closedLoop(ctx, callers, e.cfg.warm(), e.cfg.duration, labels,
		func(ctx context.Context, caller, n int) (time.Time, error) {
			return time.Time{}, fn(ctx, redisKey(caller, n))
		})
	return res.summarise(), nil
}

// runW10 is W10: a cluster of three primaries started here, each pool in
// every round (a child process each, unless -inprocess), GET and SET.
func runW10(ctx context.Context, e *env, rep *report) error {
	servers, stop, err := redisclusterserver.StartDetached("poolbench-w10", 3, 0)
	if err != nil {
		return err
	}
	defer stop()
	seeds := servers.Seeds()
	seed := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	defer seed.Close()
	for _, k := range redisKeyNames {
		if err := seed.Set(ctx, k, redisValue, 0).Err(); err != nil {
			return err
		}
	}
	for _, op := range []string{"GET", "SET"} {
		for _, callers := range e.cfg.callers {
			c := &multiCase{workload: "W10 Redis Cluster " + op, callers: strconv.Itoa(callers), pools: w10Pools,
				intro: w10Intro, rows: map[string][]summary{}}
			rep.multi = append(rep.multi, c)
			for r := 1; r <= e.cfg.rounds; r++ {
				line := ""
				for _, name := range w10Pools {
					var sum summary
					if e.cfg.inProcess {
						if sum, err = w10Round(ctx, e, seeds, name, op, callers); err != nil {
							return err
						}
					} else {
						res, err := runChild(ctx, e, childSpec{Workload: "w10", Pool: name, Op: op, Callers: callers, Addrs: seeds})
						if err != nil {
							return err
						}
						sum = *res.summary()
					}
					if ctx.Err() != nil {
						return nil
					}
					c.rows[name] = append(c.rows[name], sum)
					line += fmt.Sprintf(" | %s %.0f ops/s p99 %s", name, sum.opsPerSec, fmtDur(float64(sum.p99)))
				}
				fmt.Fprintf(e.log, "%s callers=%s round %d/%d:%s\n", c.workload, c.callers, r, e.cfg.rounds, line)
			}
		}
	}
	return nil
}
