package redisbackend

import (
	"context"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// hookList is a list of go-redis hooks used as one hook: the first is
// outermost, as when each is added with AddHook in turn.
type hookList []redis.Hook

var _ redis.Hook = hookList(nil)

func (l hookList) DialHook(next redis.DialHook) redis.DialHook {
	for i := len(l) - 1; i >= 0; i-- {
		if h := l[i].DialHook(next); h != nil {
			next = h
		}
	}
	return next
}

func (l hookList) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	for i := len(l) - 1; i >= 0; i-- {
		if h := l[i].ProcessHook(next); h != nil {
			next = h
		}
	}
	return next
}

func (l hookList) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	for i := len(l) - 1; i >= 0; i-- {
		if h := l[i].ProcessPipelineHook(next); h != nil {
			next = h
		}
	}
	return next
}

// noDial runs the process and pipeline hooks of its list, never its dial
// hooks.
type noDial struct{ hookList }

func (noDial) DialHook(next redis.DialHook) redis.DialHook { return next }

// cmdHooks are the hooks added with Commands.AddHook, built into chains
// around command mode. Immutable once published.
type cmdHooks struct {
	list     hookList
	process  redis.ProcessHook
	pipeline redis.ProcessPipelineHook
}

// AddHook adds hook to the command client, as redis.Client.AddHook does:
// hooks run in the order added, the first outermost, around command mode.
// Its process hook runs once for every command, its pipeline hook once for
// every Pipelined / Pipeline (with the commands as given) and TxPipelined /
// TxPipeline (with MULTI first and EXEC last), and both see the replies and
// errors, ErrNeedsLease and actorpool.ErrPoolClosed included. The commands
// Commands runs on a leased connection run them too, once each: blocking
// commands, transactions, and inside Watch every command of the *redis.Tx
// (WATCH, the function's commands, UNWATCH when it is sent). Its dial hook
// is never called: command mode dials nothing (Options.Hooks see the pool's
// dials).
//
// AddHook is safe to call while commands run: a command runs the hooks added
// before it started. Add hooks here, on Commands: a hook added to the
// embedded Client directly (rc.Client.AddHook, or an instrumentation that
// takes a *redis.Client), or to a client or redis.Conn derived from it
// (WithTimeout, Conn), sits behind the hook that hands commands to the pool
// and never runs.
func (c *Commands) AddHook(hook redis.Hook) {
	c.hooksMu.Lock()
	defer c.hooksMu.Unlock()
	var list hookList
	if old := c.hooks.Load(); old != nil {
		list = slices.Clip(old.list)
	}
	list = append(list, hook)
	c.hooks.Store(&cmdHooks{
		list:     list,
		process:  list.ProcessHook(c.process),
		pipeline: list.ProcessPipelineHook(c.pipeline),
	})
}

// Watch runs fn in a WATCH transaction on a connection leased for the
// call, as redis.Client.Watch does on one of its own. The hooks added with
// AddHook run for each command of the transaction.
func (c *Commands) Watch(ctx context.Context, fn func(*redis.Tx) error, keys ...string) error {
	if c.pool == nil {
		return errNoPool
	}
	hooks := c.hooks.Load()
	if hooks == nil {
		return c.pool.With(ctx, func(conn *Conn) error { return conn.Watch(ctx, fn, keys...) })
	}
	return c.pool.With(ctx, func(conn *Conn) error {
		return conn.Watch(ctx, func(tx *redis.Tx) error {
			tx.AddHook(noDial{hooks.list})
			if len(keys) > 0 {
				if err := tx.Watch(ctx, keys...).Err(); err != nil {
					return err
				}
			}
			return fn(tx)
		})
	})
}

// AddHook adds hook to this connection for the current lease only: it runs,
// inside the hooks of Options.Hooks, for every command and pipeline the
// holder sends on the Conn (and on a redis.Conn, *redis.Tx or WithTimeout
// client made from it), until the lease ends. The connection then goes through Reset, which
// removes it, so it never runs for a later holder's commands, and adding it
// again on the next lease does not stack. Its dial hook is never called: the
// connection is dialled already. Hooks meant for every connection belong in
// Options.Hooks. Calling c.Client.AddHook instead adds the hook to the
// pooled connection for good.
func (c *Conn) AddHook(hook redis.Hook) {
	for {
		old := c.leaseHooks.Load()
		var list hookList
		if old != nil {
			list = slices.Clip(*old)
		}
		list = append(list, hook)
		if c.leaseHooks.CompareAndSwap(old, &list) {
			return
		}
	}
}

// leaseRunner is the go-redis hook of every Conn that runs the hooks the
// current holder added with Conn.AddHook. The holder's list can change
// between two commands, so it builds the chain per command, and only when
// there is a list.
type leaseRunner struct{ c *Conn }

var _ redis.Hook = leaseRunner{}

func (r leaseRunner) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r leaseRunner) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if l := r.c.leaseHooks.Load(); l != nil {
			return l.ProcessHook(next)(ctx, cmd)
		}
		return next(ctx, cmd)
	}
}

func (r leaseRunner) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if l := r.c.leaseHooks.Load(); l != nil {
			return l.ProcessPipelineHook(next)(ctx, cmds)
		}
		return next(ctx, cmds)
	}
}

// WithTimeout returns a client whose commands go to command mode, as
// redis.Client.WithTimeout does for a client of its own, with the hooks
// added with AddHook. The timeout does not reach command mode: commands run
// with the timeouts of the pool's connections (Options.ReadTimeout and
// WriteTimeout).
func (c *Commands) WithTimeout(timeout time.Duration) *redis.Client {
	cl := c.Client.WithTimeout(timeout)
	cl.AddHook(front{c}) // go-redis's clone has none of the client's hooks
	return cl
}

// WithTimeout returns a client on this connection whose commands use
// timeout as their read and write timeout, as redis.Client.WithTimeout
// does, with the connection's hooks: Options.Hooks, the holder's, and the
// one that notes what Reset must undo. It shares the connection; do not
// Close it.
func (c *Conn) WithTimeout(timeout time.Duration) *redis.Client {
	cl := c.Client.WithTimeout(timeout)
	// go-redis's clone has none of the client's hooks: add them again.
	for _, h := range c.hooks {
		cl.AddHook(h)
	}
	cl.AddHook(leaseRunner{c})
	cl.AddHook(tracker{c})
	return cl
}
