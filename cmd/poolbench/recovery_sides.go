package main

// This file is the sides of W4: the pools under test, each behind a side.
// On actorpool (one lease per call, counted, its dial log kept) and on the
// peers (go-redis, database/sql), for Redis and MariaDB.

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

// leaseCall is one call on an actorpool: Acquire, fn, then MarkBroken when
// fn's error is fatal, else Release, counting each lease granted and each
// end that succeeded.
func leaseCall[C any](p *actorpool.Pool[C], be backends.Backend[C], acquired, ended *atomic.Int64,
	fn func(ctx context.Context, c C) error) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		l, err := p.Acquire(ctx)
		if err != nil {
			return errors.Is(err, actorpool.ErrBackendUnavailable), err
		}
		acquired.Add(1)
		err = fn(ctx, l.Conn())
		var endErr error
		if err != nil && be.IsFatal(err) {
			endErr = l.MarkBroken(err)
		} else {
			endErr = l.Release()
		}
		if endErr == nil {
			ended.Add(1)
		}
		return false, err
	}
}

// newPoolSide is the actorpool side of W4, a pool over be with BackoffMin
// set to w4BackoffMin: each call leases once and runs fn; the pool's Logger
// feeds the side's dialLog.
func newPoolSide[C any](ctx context.Context, e *env, be backends.Backend[C], fn func(ctx context.Context, c C) error) (*side, error) {
	dials := new(dialLog)
	p, err := startPool(ctx, e, be, actorpool.Config{Logger: slog.New(dials), BackoffMin: w4BackoffMin})
	if err != nil {
		return nil, err
	}
	s := &side{acquired: new(atomic.Int64), ended: new(atomic.Int64), dials: dials}
	s.call = leaseCall(p, be, s.acquired, s.ended, fn)
	s.inUse = func() int { return p.Stats().Leased() }
	s.close = func() { closePool(p) }
	return s, nil
}

func redisGet(ctx context.Context, c *redis.Client) error {
	err := c.Get(ctx, redisKeyNames[0]).Err()
	if errors.Is(err, redis.Nil) { // the restarted server has no data
		return nil
	}
	return err
}

func redisPoolSide(ctx context.Context, e *env) (*side, error) {
	be := redisbackend.New(redisbackend.Options{Addr: e.srv.redis.Addr()})
	return newPoolSide(ctx, e, be, func(ctx context.Context, c *redisbackend.Conn) error { return redisGet(ctx, c.Client) })
}

func goRedisSide(ctx context.Context, e *env) (*side, error) {
	c, err := newGoRedis(ctx, e.srv.redis.Addr(), e.cfg.conns, e.cfg.peerCheck)
	if err != nil {
		return nil, err
	}
	return &side{
		call: func(ctx context.Context) (bool, error) { return false, redisGet(ctx, c) },
		inUse: func() int {
			st := c.PoolStats()
			return int(st.TotalConns) - int(st.IdleConns)
		},
		close: func() { _ = c.Close() },
	}, nil
}

func mysqlPoolSide(ctx context.Context, e *env) (*side, error) {
	return newPoolSide(ctx, e, newMySQLBackend(e), func(ctx context.Context, c *mysqlbackend.Conn) error {
		var v int
		return c.QueryRowContext(ctx, "SELECT 1").Scan(&v)
	})
}

func sqlDBSide(ctx context.Context, e *env) (*side, error) {
	db, err := newSQLDB(ctx, e)
	if err != nil {
		return nil, err
	}
	return &side{
		call: func(ctx context.Context) (bool, error) {
			var v int
			return false, db.QueryRowContext(ctx, "SELECT 1").Scan(&v)
		},
		inUse: func() int { return db.Stats().InUse },
		close: func() { _ = db.Close() },
	}, nil
}
