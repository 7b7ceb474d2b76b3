package redissentinel

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

// Commands is command mode on the master's primary: a *redis.Client (the
// whole go-redis API) whose commands go to the pool, in command mode
// (redisbackend.Commands), of the primary the sentinels announced last,
// and follow it when they fail it over. Reads go there too, so a caller
// reads its own writes; during a failover, when the old and the new
// primary both answer as primaries for a moment, every command goes to
// the one the sentinels named. A command the old primary refused with READONLY
// (it was demoted meanwhile; the command did not run) has the roles read
// again and is sent once more, to the new primary. A connection's error
// is returned as it is: the command may have run. Close the Sentinel, not
// the client.
func (s *Sentinel) Commands() *redis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmds == nil {
		s.cmds = redis.NewClient(&redis.Options{
			Addr: "redissentinel", DisableIdentity: true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
			Dialer: func(context.Context, string, string) (net.Conn, error) {
				return nil, redisbackend.ErrNeedsLease
			},
		})
		s.cmds.AddHook(toPrimary{s})
	}
	return s.cmds
}

// commandsOf is the command-mode client of pool p, made once.
func (s *Sentinel) commandsOf(p *actorpool.Pool[*redisbackend.Conn]) *redisbackend.Commands {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.byPool[p]
	if !ok {
		c = redisbackend.NewCommands(p)
		s.byPool[p] = c
	}
	return c
}

// toPrimary is the hook that sends Commands' commands to the primary's
// command mode. It never calls next.
type toPrimary struct{ s *Sentinel }

func (toPrimary) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h toPrimary) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return h.again(ctx, []redis.Cmder{cmd}, func(c *redisbackend.Commands) error {
			cmd.SetErr(nil)
			return c.Process(ctx, cmd)
		})
	}
}

func (h toPrimary) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		tx := len(cmds) > 1 && cmds[0].Name() == "multi" && cmds[len(cmds)-1].Name() == "exec"
		return h.again(ctx, cmds, func(c *redisbackend.Commands) error {
			var pipe redis.Pipeliner
			inner := cmds
			if tx {
				pipe, inner = c.TxPipeline(), cmds[1:len(cmds)-1]
			} else {
				pipe = c.Pipeline()
			}
			for _, cmd := range inner {
				cmd.SetErr(nil)
				_ = pipe.Process(ctx, cmd)
			}
			_, err := pipe.Exec(ctx)
			return err
		})
	}
}

// again runs send on the primary's command mode, and once more after the
// roles are read again when a command came back READONLY.
func (h toPrimary) again(ctx context.Context, cmds []redis.Cmder, send func(*redisbackend.Commands) error) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var p *actorpool.Pool[*redisbackend.Conn]
		if p, err = h.s.primary(ctx); err != nil {
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
			return err
		}
		err = send(h.s.commandsOf(p))
		if !readOnly(cmds) {
			return err
		}
		if cerr := h.s.Group.CheckRoles(ctx); cerr != nil {
			return err
		}
	}
	return err
}

// primary is the pool of the primary the sentinels announced last, or
// the group's choice while that server is not an endpoint yet.
func (s *Sentinel) primary(ctx context.Context) (*actorpool.Pool[*redisbackend.Conn], error) {
	if addr := s.master.Load(); addr != nil {
		if p, ok := s.Group.PoolOf(*addr); ok {
			return p, nil
		}
	}
	return s.Group.Primary(ctx)
}

// readOnly says whether a command was refused by a replica.
func readOnly(cmds []redis.Cmder) bool {
	for _, cmd := range cmds {
		if re, ok := errors.AsType[redis.Error](cmd.Err()); ok && strings.HasPrefix(re.Error(), "READONLY ") {
			return true
		}
	}
	return false
}

// Acquire leases a connection of the primary the sentinels announced
// last (the group's choice among its primaries while that server is not
// an endpoint yet): during a failover, when the old and the new primary
// both answer as primaries for a moment, writes go to the one the
// sentinels named. Errors are the pool's.
func (s *Sentinel) Acquire(ctx context.Context) (actorpool.Lease[*redisbackend.Conn], error) {
	p, err := s.primary(ctx)
	if err != nil {
		return actorpool.Lease[*redisbackend.Conn]{}, err
	}
	return p.Acquire(ctx)
}

// With leases a connection of the primary as Acquire does, runs fn on it
// and gives it back, as Pool.With does.
func (s *Sentinel) With(ctx context.Context, fn func(*redisbackend.Conn) error) error {
	p, err := s.primary(ctx)
	if err != nil {
		return err
	}
	return p.With(ctx, fn)
}
