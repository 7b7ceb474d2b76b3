package main

import (
	"context"
	"fmt"
	"net"
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
// peerDialer is the go-redis peers' dialer: nil (go-redis's own, which
// checks a pooled socket) with check, else one whose sockets hide
// syscall.Conn.
func peerDialer(check bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if check {
		return nil
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return noSyscallConn{c}, nil
	}
}

func newGoRedis(ctx context.Context, addr string, conns int, check bool) (*redis.Client, error) {
	opt := &redis.Options{
		Addr:                     addr,
		PoolSize:                 conns,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	opt.Dialer = peerDialer(check)
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
// Each round of each side runs in a child process of its own, unless
// -inprocess.
func runW1(ctx context.Context, e *env, rep *report) error {
	addr := e.srv.redis.Addr()
	seed := redis.NewClient(&redis.Options{Addr: addr})
	defer seed.Close()
	for _, k := range redisKeyNames {
		if err := seed.Set(ctx, k, redisValue, 0).Err(); err != nil {
			return err
		}
	}
	return e.runLeaseCases(ctx, rep, leaseWorkload{
		name: "w1", title: "W1 Redis ", peer: "go-redis", addr: addr,
		ops: []string{"GET", "SET"}, newSide: newW1Side,
	})
}

// newW1Side builds one side of W1 on the Redis at addr: its op for each
// operation name, and how to close it.
func newW1Side(ctx context.Context, e *env, addr, pool string) (func(opName string) op, func(), error) {
	switch pool {
	case "actorpool":
		p, err := startPool(ctx, e, redisbackend.New(redisbackend.Options{Addr: addr}), actorpool.Config{})
		if err != nil {
			return nil, nil, err
		}
		return func(opName string) op {
			return func(ctx context.Context, caller, n int) (leased time.Time, err error) {
				k := redisKey(caller, n)
				err = p.With(ctx, func(c *redisbackend.Conn) error {
					leased = time.Now()
					if opName == "SET" {
						return c.Set(ctx, k, redisValue, 0).Err()
					}
					return c.Get(ctx, k).Err()
				})
				return leased, err
			}
		}, func() { closePool(p) }, nil
	case "go-redis":
		peer, err := newGoRedis(ctx, addr, e.cfg.conns, e.cfg.peerCheck)
		if err != nil {
			return nil, nil, err
		}
		return func(opName string) op {
			return func(ctx context.Context, caller, n int) (time.Time, error) {
				k := redisKey(caller, n)
				if opName == "SET" {
					return time.Time{}, peer.Set(ctx, k, redisValue, 0).Err()
				}
				return time.Time{}, peer.Get(ctx, k).Err()
			}
		}, func() { _ = peer.Close() }, nil
	}
	return nil, nil, fmt.Errorf("W1 has no pool %q", pool)
}

// closePool closes p, revoking what is still leased after a few seconds.
func closePool[C any](p *actorpool.Pool[C]) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.Close(ctx)
}
