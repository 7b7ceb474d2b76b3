package redissentinel_test

import (
	"context"
	"fmt"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/backends/redissentinel"
	"github.com/actorpool/actorpool/group"
)

// Writes go to the master's primary, reads to a replica; both follow the
// sentinels' failovers.
func ExampleOpen() {
	ctx := context.Background()
	s, err := redissentinel.Open(ctx, redissentinel.Config{
		Master:           "mymaster",
		Sentinels:        []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
		SentinelPassword: "sentinel-secret",                             // the sentinels'
		Node:             redisbackend.Options{Password: "data-secret"}, // the data servers'
		Group:            group.Config{Pool: actorpool.Config{MaxConns: 8}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close(ctx)
	_ = s.With(ctx, func(c *redisbackend.Conn) error { return c.Set(ctx, "k", "v", 0).Err() })
	_ = s.WithRead(ctx, func(c *redisbackend.Conn) error { return c.Get(ctx, "k").Err() })
}

// Command mode on the primary the sentinels name: the go-redis API, no
// lease to hold, and the commands follow a failover.
func ExampleSentinel_Commands() {
	ctx := context.Background()
	s, err := redissentinel.Open(ctx, redissentinel.Config{Master: "mymaster", Sentinels: []string{"10.0.0.1:26379"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close(ctx)
	rdb := s.Commands()
	_ = rdb.Incr(ctx, "visits").Err()
}
