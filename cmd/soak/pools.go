package main

// This file opens the pools under test, each through its toxiproxy proxy,
// and watches them: Stats add up, and the server never sees more
// connections than the pools may have.

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/go-sql-driver/mysql"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// Targets, as the tally and the fault schedule number them.
const (
	redisTarget = iota
	mariaTarget
)

var targetNames = [2]string{"redis", "mariadb"}

// The pools' settings: short timeouts, so that faults show in seconds.
const (
	acquireTimeout = 300 * time.Millisecond
	leaseTimeout   = time.Second // the Redis lease pool's
	opTimeout      = time.Second // a command's or query's own deadline
	leaseMax       = 8           // the Redis lease pool's MaxConns, before SetLimits moves it
	cmdMax         = 4
	mariaMax       = 8
)

// pools are the pools under test.
type pools struct {
	sys        *actor.ActorSystem
	redisBE    *redisbackend.Backend
	redisLease *actorpool.Pool[*redisbackend.Conn]
	redisCmd   *actorpool.Pool[*redisbackend.Conn]
	cmds       *redisbackend.Commands
	mariaBE    *mysqlbackend.Backend
	maria      *actorpool.Pool[*mysqlbackend.Conn]
}

func poolConfig(name string, minConns, maxConns int) actorpool.Config {
	return actorpool.Config{
		Name: name, MinConns: minConns, MaxConns: maxConns,
		AcquireTimeout: acquireTimeout,
		DialTimeout:    500 * time.Millisecond,
		BackoffMin:     10 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		ValidateAfterIdle: 200 * time.Millisecond,
		KeepaliveInterval: 500 * time.Millisecond,
		Logger:            slog.New(slog.DiscardHandler),
	}
}

// openPools opens the pools: Redis lease mode and command mode through
// redisAddr, MariaDB through mariaAddr, with srv's credentials.
func openPools(srv *servers, redisAddr, mariaAddr string) (*pools, error) {
	ps := &pools{sys: pooltest.NewSystem()}
	redisOpts := func(name string) redisbackend.Options {
		return redisbackend.Options{Addr: redisAddr, ClientName: soakName + name,
			DialTimeout: 500 * time.Millisecond, ReadTimeout: opTimeout, WriteTimeout: opTimeout,
			ContextTimeoutEnabled: true}
	}
	var err error
	ps.redisBE = redisbackend.New(redisOpts("lease"))
	cfg := poolConfig("soak-redis-lease", 2, leaseMax)
	cfg.LeaseTimeout = leaseTimeout
	if ps.redisLease, err = actorpool.New(ps.sys, ps.redisBE, cfg); err != nil {
		return nil, err
	}
	if ps.redisCmd, err = actorpool.New(ps.sys, redisbackend.New(redisOpts("cmd")), poolConfig("soak-redis-cmd", 1, cmdMax)); err != nil {
		return nil, err
	}
	ps.cmds = redisbackend.NewCommands(ps.redisCmd)

	dsn, err := mysql.ParseDSN(srv.maria.DSN("interpolateParams=true", "timeout=500ms", "readTimeout=1s", "writeTimeout=1s"))
	if err != nil {
		return nil, err
	}
	dsn.Addr = mariaAddr
	ps.mariaBE = mysqlbackend.New(mysqlbackend.Options{Config: dsn, Logger: slog.New(slog.DiscardHandler)})
	if ps.maria, err = actorpool.New(ps.sys, ps.mariaBE, poolConfig("soak-mariadb", 2, mariaMax)); err != nil {
		return nil, err
	}
	return ps, nil
}

// close closes every pool within timeout each; a pool that had to revoke
// leases to close is an error.
func (ps *pools) close(timeout time.Duration) error {
	var errs []error
	for _, p := range []interface{ Close(context.Context) error }{ps.redisLease, ps.redisCmd, ps.maria} {
		if p == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		if err := p.Close(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	if len(errs) > 0 {
		return fmt.Errorf("soak: close: %v", errs)
	}
	return nil
}

// stats are the pools' snapshots, named.
func (ps *pools) stats() map[string]actorpool.Stats {
	return map[string]actorpool.Stats{
		"redis-lease": ps.redisLease.Stats(), "redis-cmd": ps.redisCmd.Stats(), "mariadb": ps.maria.Stats(),
	}
}

// checkStats holds every pool's snapshot to invariant 5 (and, after the
// final Close, nothing leased or waiting).
func checkStats(t *tally, ps *pools, closed bool) {
	for name, s := range ps.stats() {
		if err := pooltest.StatsAddUp(s); err != nil {
			t.violate("%s: %v", name, err)
		}
		if closed && (s.Leased() != 0 || s.Waiting() != 0) {
			t.violate("%s: after Close %d leased, %d waiting", name, s.Leased(), s.Waiting())
		}
	}
}

// closes counts the connections a pool has let go of so far (replaced,
// revoked, reclaimed, retired, failed a ping); an upper bound, for the
// server-side check's allowance for connections still closing.
func closes(s actorpool.Stats) uint64 {
	return s.Restarts() + s.Broken() + s.Revoked() + s.Reclaimed() + s.RetiredIdle() +
		s.RetiredLifetime() + s.FailedPings() + s.FailedValidations()
}
