package rediscluster_test

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/backends/rediscluster"
)

// A service without an actor system pools a cluster's connections with
// Open; commands go to the primary of their key's slot.
func ExampleOpen() {
	ctx := context.Background()
	cluster, err := rediscluster.Open(ctx, rediscluster.Config{
		Seeds: []string{"10.0.0.1:6379", "10.0.0.2:6379"},
		Node:  redisbackend.Options{Password: "secret"},
		Pool:  actorpool.Config{MaxConns: 8}, // per node
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close(ctx)

	rdb := cluster.Commands() // the go-redis API, in command mode on every node
	_ = rdb.Set(ctx, "user:42:name", "ada", 0).Err()
	_, _ = rdb.Pipelined(ctx, func(p redis.Pipeliner) error { // split by node, answered in order
		p.Incr(ctx, "{user:42}:visits")
		p.Get(ctx, "user:7:name")
		return nil
	})
}

// A blocking command needs a connection of its own: lease one from the
// primary that serves the key.
func ExampleCluster_WithKey() {
	ctx := context.Background()
	cluster, err := rediscluster.Open(ctx, rediscluster.Config{Seeds: []string{"10.0.0.1:6379"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close(ctx)
	_ = cluster.WithKey(ctx, "jobs", func(conn *redisbackend.Conn) error {
		job, err := conn.BLPop(ctx, 5*time.Second, "jobs").Result()
		fmt.Println(job, err)
		return err
	})
}

// A service built from actors gives New its actor system; each node's
// pool runs on it. Stats has each node's pool.
func ExampleNew() {
	ctx := context.Background()
	sys := actor.NewActorSystem()
	cluster, err := rediscluster.New(ctx, sys, rediscluster.Config{Seeds: []string{"10.0.0.1:6379"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close(ctx)
	l, err := cluster.AcquireFor(ctx, "user:42:name") // a lease on the key's primary
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = l.Conn().Get(ctx, "user:42:name").Err()
	_ = l.Release()
	for _, n := range cluster.Stats().Nodes() {
		fmt.Println(n.Addr, n.Stats.Leased())
	}
}
