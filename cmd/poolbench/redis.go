package main

import (
	"context"
	"fmt"
	"net"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

const (
	redisKeys = 1024 // keys GET and SET spread over
	valueSize = 16
)

var (
	redisKeyNames = func() []string {
		ks := make([]string, redisKeys)
		for i := range ks {
			ks[i] = "poolbench:" + strconv.Itoa(i)
		}
		return ks
	}()
	redisValue = "0123456789abcdef"[:valueSize]
)

func redisKey(caller, n int) string { return redisKeyNames[(caller*131+n)%redisKeys] }

// startPool is the actorpool side of a case: be, with cfg's MinConns and
// MaxConns set to conns and, unless cfg has one, a Logger that discards;
// every connection is dialled before it returns.
func startPool[C any](ctx context.Context, e *env, be backends.Backend[C], cfg actorpool.Config) (*actorpool.Pool[C], error) {
	cfg.MinConns, cfg.MaxConns = e.cfg.conns, e.cfg.conns
	if cfg.Logger == nil {
		cfg.Logger = e.discard
	}
	p, err := actorpool.New(e.sys, be, cfg)
	if err != nil {
		return nil, err
	}
	if err := warmPool(ctx, p, e.cfg.conns); err != nil {
		_ = p.Close(context.Background())
		return nil, err
	}
	return p, nil
}

// warmPool holds conns leases at once, so that every connection is dialled.
func warmPool[C any](ctx context.Context, p *actorpool.Pool[C], conns int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ls := make([]actorpool.Lease[C], 0, conns)
	defer func() {
		for _, l := range ls {
			_ = l.Release()
		}
	}()
	for range conns {
		l, err := p.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		ls = append(ls, l)
	}
	return nil
}

// newGoRedis is the peer: go-redis's own pool of conns connections.
//
// Liveness checks are counted the same on both sides. go-redis peeks at
// each idle socket it checks out (a recvfrom with MSG_PEEK) when the
// net.Conn exposes syscall.Conn; the actorpool Redis backend hides it, so
// that a dead socket fails the command instead of being redialled behind
// the pool's back, and actorpool itself checks nothing on a plain lease.
// So the peer's dialer hides syscall.Conn too, unless -peer-conncheck.
// Other options are go-redis's defaults (retries included), except that
// maintenance notifications are off on both sides.
func newGoRedis(ctx context.Context, addr string, conns int, check bool) (*redis.Client, error) {
	opt := &redis.Options{
		Addr:                     addr,
		PoolSize:                 conns,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if !check {
		opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return noSyscallConn{c}, nil
		}
	}
	c := redis.NewClient(opt)
	// Warm up: conns connections pinned at once, so that every one is open.
	pinned := make([]*redis.Conn, 0, conns)
	defer func() {
		for _, pc := range pinned {
			_ = pc.Close()
		}
	}()
	for range conns {
		pc := c.Conn()
		pinned = append(pinned, pc)
		if err := pc.Ping(ctx).Err(); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	return c, nil
}

// noSyscallConn hides the syscall.Conn of a net.Conn.
type noSyscallConn struct{ net.Conn }

// runW1 is W1: GET and SET of 16-byte values, one lease per command.
//
// The actorpool side is what a user writes for one command:
// p.With(ctx, func(c *redisbackend.Conn) error { return c.Get(ctx, k).Err() }).
// The peer is the same command on a go-redis client (PoolSize conns).
func runW1(ctx context.Context, e *env, rep *report) error {
	addr := e.srv.redis.Addr()
	p, err := startPool(ctx, e, redisbackend.New(redisbackend.Options{Addr: addr}), actorpool.Config{})
	if err != nil {
		return err
	}
	defer closePool(p)
	peer, err := newGoRedis(ctx, addr, e.cfg.conns, e.cfg.peerCheck)
	if err != nil {
		return err
	}
	defer peer.Close()
	for _, k := range redisKeyNames {
		if err := peer.Set(ctx, k, redisValue, 0).Err(); err != nil {
			return err
		}
	}

	type redisOp struct {
		name string
		pool func(ctx context.Context, c *redisbackend.Conn, k string) error
		peer func(ctx context.Context, k string) error
	}
	ops := []redisOp{
		{
			"GET",
			func(ctx context.Context, c *redisbackend.Conn, k string) error { return c.Get(ctx, k).Err() },
			func(ctx context.Context, k string) error { return peer.Get(ctx, k).Err() },
		},
		{
			"SET",
			func(ctx context.Context, c *redisbackend.Conn, k string) error {
				return c.Set(ctx, k, redisValue, 0).Err()
			},
			func(ctx context.Context, k string) error { return peer.Set(ctx, k, redisValue, 0).Err() },
		},
	}
	for _, o := range ops {
		for _, callers := range e.cfg.callers {
			c := &caseResult{workload: "W1 Redis " + o.name, callers: strconv.Itoa(callers), kind: throughput, peer: "go-redis"}
			labels := func(pool string) pprof.LabelSet {
				return pprof.Labels("workload", "w1", "op", o.name, "pool", pool, "callers", c.callers)
			}
			a := func(ctx context.Context) (result, error) {
				return closedLoop(ctx, callers, e.cfg.warm(), e.cfg.duration, labels("actorpool"), func(ctx context.Context, caller, n int) (leased time.Time, err error) {
					k := redisKey(caller, n)
					err = p.With(ctx, func(c *redisbackend.Conn) error {
						leased = time.Now()
						return o.pool(ctx, c, k)
					})
					return leased, err
				}), nil
			}
			b := func(ctx context.Context) (result, error) {
				return closedLoop(ctx, callers, e.cfg.warm(), e.cfg.duration, labels("peer"), func(ctx context.Context, caller, n int) (time.Time, error) {
					return time.Time{}, o.peer(ctx, redisKey(caller, n))
				}), nil
			}
			if err := e.runCase(ctx, rep, c, a, b); err != nil || ctx.Err() != nil {
				return err
			}
		}
	}
	return nil
}

// closePool closes p, revoking what is still leased after a few seconds.
func closePool[C any](p *actorpool.Pool[C]) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.Close(ctx)
}
