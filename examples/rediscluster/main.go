// Command rediscluster pools the connections of a Redis Cluster: one pool
// per node, commands routed by their keys' slots.
//
//	go run ./examples/rediscluster
//	REDIS_CLUSTER=127.0.0.1:7000,127.0.0.1:7001 go run ./examples/rediscluster
//
// Without REDIS_CLUSTER it starts a local cluster of three primaries with
// a replica each (redis-server and redis-cli on PATH; make test installs
// them). It writes and reads keys spread over every slot, runs a pipeline
// and a transaction, leases a connection for a blocking command, and
// prints each node's pool (replicas get one when the cluster client
// learns of them, and serve no command). On the local cluster it then moves the slot of
// the keys it keeps writing to another primary, and shows that no caller
// saw an error. It exits when done.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/backends/rediscluster"
	"github.com/actorpool/actorpool/internal/testserver/redisclusterserver"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var local *redisclusterserver.Cluster
	seeds := strings.Split(os.Getenv("REDIS_CLUSTER"), ",")
	if seeds[0] == "" {
		fmt.Fprintln(out, "starting a local cluster: 3 primaries, 3 replicas")
		c, stop, err := redisclusterserver.StartDetached("rediscluster-example", 3, 1)
		if err != nil {
			return err
		}
		defer stop()
		local, seeds = c, c.Seeds()
	}

	cluster, err := rediscluster.Open(ctx, rediscluster.Config{
		Seeds: seeds,
		Pool:  actorpool.Config{MaxConns: 4},
	})
	if err != nil {
		return err
	}
	defer func() {
		_ = cluster.Close(context.Background())
		fmt.Fprintln(out, "cluster closed")
	}()
	cmds := cluster.Commands()

	// Keys spread over every slot; each command goes to its slot's primary.
	for i := range 1000 {
		if err := cmds.Set(ctx, "key:"+strconv.Itoa(i), i, 0).Err(); err != nil {
			return err
		}
	}
	// A pipeline is split by node and answered in order.
	gets, err := cmds.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 1000 {
			p.Get(ctx, "key:"+strconv.Itoa(i))
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "1000 keys written and read back in a pipeline: key:999 = %s\n", gets[999].(*redis.StringCmd).Val())

	// Keys with the same hash tag share a slot: a transaction may use them.
	if _, err := cmds.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, "{user:42}:profile", "name", "ada")
		p.Incr(ctx, "{user:42}:logins")
		return nil
	}); err != nil {
		return err
	}
	fmt.Fprintln(out, "transaction on {user:42}: done")

	// A blocking command runs on a connection leased from the key's primary.
	if err := cluster.WithKey(ctx, "jobs", func(conn *redisbackend.Conn) error {
		if err := conn.RPush(ctx, "jobs", "job-1").Err(); err != nil {
			return err
		}
		job, err := conn.BLPop(ctx, time.Second, "jobs").Result()
		fmt.Fprintf(out, "BLPOP on a lease: %v\n", job)
		return err
	}); err != nil {
		return err
	}

	if local != nil {
		if err := moveUnderLoad(ctx, out, local, cmds); err != nil {
			return err
		}
	}
	for _, n := range cluster.Stats().Nodes() {
		fmt.Fprintf(out, "node %s: %d connections, %d commands in command mode\n", n.Addr, n.Stats.Total(), n.Stats.Commands())
	}
	return nil
}

// moveUnderLoad moves the slot of {hot} keys to another primary while
// eight callers write and read them, and prints how many calls failed.
func moveUnderLoad(ctx context.Context, out io.Writer, local *redisclusterserver.Cluster, cmds *redis.ClusterClient) error {
	owner, err := local.Owner(ctx, "{hot}")
	if err != nil {
		return err
	}
	primaries, err := local.Primaries(ctx)
	if err != nil {
		return err
	}
	to := primaries[0]
	if to == owner {
		to = primaries[1]
	}
	slot, err := cmds.ClusterKeySlot(ctx, "{hot}").Result()
	if err != nil {
		return err
	}
	// More keys in the slot make the move take a while: MIGRATE moves
	// them a hundred at a time, and callers are sent on with ASK meanwhile.
	if _, err := cmds.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 5000 {
			p.Set(ctx, fmt.Sprintf("{hot}:fill:%d", i), i, 0)
		}
		return nil
	}); err != nil {
		return err
	}
	var calls, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		k := fmt.Sprintf("{hot}:%d", i)
		wg.Go(func() {
			for v := 0; ; v++ {
				select {
				case <-stop:
					return
				default:
				}
				err := cmds.Set(ctx, k, v, 0).Err()
				if err == nil {
					var got int
					got, err = cmds.Get(ctx, k).Int()
					if err == nil && got != v {
						err = fmt.Errorf("wrote %d, read %d", v, got)
					}
				}
				calls.Add(1)
				if err != nil {
					failed.Add(1)
				}
			}
		})
	}
	start := time.Now()
	err = local.MoveSlot(ctx, int(slot), to)
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "slot %d moved from %s to %s in %s under load: %d calls, %d failed\n",
		slot, owner, to, took.Round(time.Millisecond), calls.Load(), failed.Load())
	return nil
}
