package main

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
)

// runW9MySQL is W9 on MySQL: a primary-key point select, three ways, on
// pools of e.cfg.conns connections.
func runW9MySQL(ctx context.Context, e *env, rep *report) error {
	if err := createTable(ctx, e); err != nil {
		return err
	}
	msgPool, err := actorpool.New(e.sys, newMySQLBackend(e), actorpool.Config{MaxConns: e.cfg.conns, Logger: e.discard})
	if err != nil {
		return err
	}
	defer closePool(msgPool)
	reqs := mysqlbackend.NewRequests(msgPool)
	leasePool, err := startPool(ctx, e, newMySQLBackend(e), actorpool.Config{})
	if err != nil {
		return err
	}
	defer closePool(leasePool)
	blockPool, err := startPool(ctx, e, newMySQLBackend(e), actorpool.Config{})
	if err != nil {
		return err
	}
	defer closePool(blockPool)

	point := "SELECT v FROM " + mysqlTable + " WHERE id = ?"
	query := func(c *mysqlbackend.Conn, caller, n int) error {
		var v []byte
		return c.QueryRowContext(context.Background(), point, rowID(caller, n)).Scan(&v)
	}
	ways := w9Ways{
		"actorpool-msg": func(i int, l *actorLoop) actor.Actor {
			return &msgActor{loop: l, caller: i, to: reqs.PID(),
				build: func(caller, n int) any {
					return &mysqlbackend.Query{SQL: point, Args: []any{rowID(caller, n)}, MaxRows: 1}
				},
				errOf: func(msg any) (error, bool) {
					r, ok := msg.(*mysqlbackend.Result)
					if !ok {
						return nil, false
					}
					return r.Err, true
				}}
		},
		"actorpool-blocking": func(i int, l *actorLoop) actor.Actor {
			return &blockingActor{loop: l, caller: i, call: func(caller, n int) error {
				return blockPool.With(context.Background(), func(c *mysqlbackend.Conn) error { return query(c, caller, n) })
			}}
		},
		"actorpool-lease-msg": func(i int, l *actorLoop) actor.Actor {
			return &leaseActor[*mysqlbackend.Conn]{loop: l, caller: i, broker: leasePool.Broker(), use: query}
		},
	}
	return runW9Ways(ctx, e, rep, "W9 MySQL point select", ways, msgPool.Stats)
}
