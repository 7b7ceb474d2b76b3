package main

// This file starts the server the members' pools connect to, with the test
// harnesses (internal/testserver), and counts its connections.

import (
	"context"
	"time"

	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// target is a started server and how the members use it.
type target[C any] struct {
	name string
	// backend returns the backend of the member named member.
	backend func(member string) backends.Backend[C]
	// use is one unit of a worker's work on a lease.
	use func(context.Context, C) error
	// count is how many connections the server sees from the pools.
	count func(context.Context) (int, error)
	// byMember counts them by member, or is nil when the server cannot
	// tell the members apart.
	byMember func(context.Context) (map[string]int, error)
	stop     func()
}

// clientPrefix starts the client name of every Redis connection a member
// opens; the member's name follows.
const clientPrefix = "churn-"

func startRedis() (*target[*redisbackend.Conn], error) {
	srv, stop, err := redisserver.StartDetached("budgetchurn-redis")
	if err != nil {
		return nil, err
	}
	return &target[*redisbackend.Conn]{
		name: "redis",
		backend: func(member string) backends.Backend[*redisbackend.Conn] {
			return redisbackend.New(redisbackend.Options{Addr: srv.Addr(), ClientName: clientPrefix + member})
		},
		use:   func(ctx context.Context, c *redisbackend.Conn) error { return c.Ping(ctx).Err() },
		count: srv.ClientCount,
		byMember: func(ctx context.Context) (map[string]int, error) {
			cs, err := srv.Clients(ctx)
			by := map[string]int{}
			for _, c := range cs {
				by[c.Name]++
			}
			return by, err
		},
		stop: stop,
	}, nil
}

func startMariaDB() (*target[*mysqlbackend.Conn], error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := mariadbserver.Start(ctx)
	if err != nil {
		return nil, err
	}
	return &target[*mysqlbackend.Conn]{
		name: "mariadb",
		backend: func(string) backends.Backend[*mysqlbackend.Conn] {
			return mysqlbackend.New(mysqlbackend.Options{DSN: srv.DSN()})
		},
		use: func(ctx context.Context, c *mysqlbackend.Conn) error {
			_, err := c.ExecContext(ctx, "DO 1")
			return err
		},
		count: srv.SessionCount,
		stop:  func() { _ = srv.Stop() },
	}, nil
}
