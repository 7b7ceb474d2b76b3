package main

// This file is the mixed load: goroutine workers on each pool, each a
// loop of one kind of operation until the run ends.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

// load runs the workers; stop ends them.
type load struct {
	t    *tally
	ps   *pools
	stop chan struct{}
	wg   sync.WaitGroup

	revokedMu sync.Mutex
	revoked   map[any]bool // connections whose lease was revoked: never lent again
}

func (ld *load) stopped() bool {
	select {
	case <-ld.stop:
		return true
	default:
		return false
	}
}

// loop runs op on a new goroutine until the run ends.
func (ld *load) loop(op func(i int)) {
	ld.wg.Go(func() {
		for i := 0; !ld.stopped(); i++ {
			op(i)
		}
	})
}

// start starts every worker.
func (ld *load) start() {
	ps := ld.ps
	redisFatal := ps.redisBE.IsFatal
	for w := range 3 {
		ld.loop(func(i int) {
			key := fmt.Sprintf("soak:%d:%d", w, i%64)
			leaseOp(ld, redisTarget, "redis get/set", ps.redisLease, redisFatal, func(ctx context.Context, c *redisbackend.Conn) error {
				if err := c.Set(ctx, key, "0123456789abcdef", time.Minute).Err(); err != nil {
					return err
				}
				return c.Get(ctx, key).Err()
			}, i%50 == 49)
		})
	}
	ld.loop(func(i int) {
		leaseOp(ld, redisTarget, "redis transaction", ps.redisLease, redisFatal, func(ctx context.Context, c *redisbackend.Conn) error {
			_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Incr(ctx, "soak:counter")
				p.Expire(ctx, "soak:counter", time.Minute)
				return nil
			})
			return err
		}, false)
	})
	// A holder that keeps its lease past LeaseTimeout: the pool revokes it.
	ld.loop(func(i int) {
		leaseOp(ld, redisTarget, "redis held past LeaseTimeout", ps.redisLease, redisFatal, func(ctx context.Context, c *redisbackend.Conn) error {
			ld.sleep(leaseTimeout * 2)
			return nil
		}, false)
		ld.sleep(leaseTimeout)
	})
	ld.loop(func(i int) { ld.cancelling(ps, i) })
	ld.loop(func(i int) { ld.panicking(ps, i) })
	for w := range 4 {
		ld.loop(func(i int) {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			start := time.Now()
			key := fmt.Sprintf("soak:cmd:%d:%d", w, i%64)
			err := ps.cmds.Set(ctx, key, "0123456789abcdef", time.Minute).Err()
			if err == nil {
				err = ps.cmds.Get(ctx, key).Err()
			}
			ld.op(redisTarget, "redis command mode", start, err)
		})
	}
	mariaFatal := ps.mariaBE.IsFatal
	for range 3 {
		ld.loop(func(i int) {
			leaseOp(ld, mariaTarget, "mysql point select", ps.maria, mariaFatal, func(ctx context.Context, c *mysqlbackend.Conn) error {
				var v []byte
				return c.QueryRowContext(ctx, "SELECT v FROM soak_kv WHERE id = ?", rand.IntN(kvRows)+1).Scan(&v)
			}, false)
		})
	}
	ld.loop(func(i int) {
		leaseOp(ld, mariaTarget, "mysql transaction", ps.maria, mariaFatal, func(ctx context.Context, c *mysqlbackend.Conn) error {
			tx, err := c.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE soak_kv SET n = n + 1 WHERE id = ?", rand.IntN(kvRows)+1); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}, i%50 == 49)
	})
	ld.limits(ps)
}

// op counts an operation; after a failed one the worker pauses a
// little, so that a pool failing fast is not asked in a busy loop.
func (ld *load) op(target int, workload string, start time.Time, err error) {
	ld.t.op(target, workload, start, err)
	if err != nil {
		ld.sleep(5 * time.Millisecond)
	}
}

// sleep waits d or until the run ends.
func (ld *load) sleep(d time.Duration) {
	select {
	case <-time.After(d):
	case <-ld.stop:
	}
}

// leaseOp acquires from p, runs fn on the connection with an operation
// deadline, and ends the lease: marked broken when fn's error is fatal,
// else released. It checks the Acquire's time, that no other lease holds
// the connection, and that the lease ends once (twice says so: when
// again, it ends it a second time and expects an error).
func leaseOp[C comparable](ld *load, target int, who string, p *actorpool.Pool[C], fatal func(error) bool,
	fn func(context.Context, C) error, again bool) {
	start := ld.t.now()
	l, err := p.Acquire(context.Background())
	ld.t.timed(start, acquireTimeout, who)
	if err != nil {
		ld.op(target, who, start.at, err)
		return
	}
	conn := l.Conn()
	ld.taken(conn, who)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	err = fn(ctx, conn)
	cancel()
	ld.t.give(conn)
	var endErr error
	if err != nil && fatal(err) {
		endErr = l.MarkBroken(err)
	} else {
		endErr = l.Release()
	}
	ld.t.ending(endErr, who)
	if errors.Is(endErr, actorpool.ErrLeaseRevoked) {
		ld.revokedMu.Lock()
		ld.revoked[conn] = true
		ld.revokedMu.Unlock()
		if err == nil {
			err = endErr
		}
	}
	if again && l.Release() == nil {
		ld.t.violate("%s: a lease ended twice", who)
	}
	ld.op(target, who, start.at, err)
}

// taken records a grant of conn, which must not be one whose lease was
// revoked (invariant 3).
func (ld *load) taken(conn any, who string) {
	ld.revokedMu.Lock()
	gone := ld.revoked[conn]
	ld.revokedMu.Unlock()
	if gone {
		ld.t.violate("%s: a revoked connection was lent again", who)
	}
	ld.t.take(conn, who)
}

// cancelling is a caller whose ctx ends within 0-20 ms, often while it
// waits in line.
func (ld *load) cancelling(ps *pools, i int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(20))*time.Millisecond)
	defer cancel()
	start := ld.t.now()
	l, err := ps.redisLease.Acquire(ctx)
	ld.t.timed(start, acquireTimeout, "cancelling caller")
	if err == nil {
		ld.taken(l.Conn(), "cancelling caller")
		ld.t.give(l.Conn())
		ld.t.ending(l.Release(), "cancelling caller")
	}
	ld.op(redisTarget, "redis cancelling caller", start.at, err)
}

// panicking is a holder that panics inside With every fourth time: the
// connection is marked broken and replaced, and the panic goes on.
func (ld *load) panicking(ps *pools, i int) {
	start := ld.t.now()
	granted := false
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = errPanicked
			}
		}()
		return ps.redisLease.With(context.Background(), func(c *redisbackend.Conn) error {
			ld.t.timed(start, acquireTimeout, "panicking holder")
			granted = true
			ld.taken(c, "panicking holder")
			// With ends the lease when fn returns or panics: once each.
			defer ld.t.ended.Add(1)
			defer ld.t.give(c)
			if i%4 == 3 {
				panic("soak: holder panics")
			}
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			return c.Ping(ctx).Err()
		})
	}()
	if !granted {
		ld.t.timed(start, acquireTimeout, "panicking holder")
	}
	ld.op(redisTarget, "redis panicking holder", start.at, err)
}

// limits moves the Redis lease pool's limits up and down.
func (ld *load) limits(ps *pools) {
	ld.loop(func(i int) {
		ld.sleep(700 * time.Millisecond)
		lo, hi := 2, leaseMax
		if i%2 == 0 {
			lo, hi = 0, 3
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := ps.redisLease.SetLimits(ctx, lo, hi)
		if errors.Is(err, actorpool.ErrPoolClosed) && ld.stopped() {
			return
		}
		ld.op(redisTarget, "SetLimits", start, err)
	})
}
