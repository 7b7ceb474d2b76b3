package redisbackend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
)

// ErrNeedsLease is returned by Commands for a command that must not share a
// connection with other callers' commands and that Commands does not run
// on a lease by itself: one that changes the session (SELECT, AUTH, HELLO,
// CLIENT SETNAME, CLIENT TRACKING, RESET, ...), starts pub/sub or MONITOR,
// or a bare MULTI, EXEC, WATCH. Lease a connection (Pool.With) for it.
var ErrNeedsLease = errors.New("redisbackend: this command needs a leased connection (Pool.With), not command mode")

// Commands runs Redis commands in command mode on a pool's connections: a
// *redis.Client whose commands go to the pool's connection actors, which
// pipeline everything that reached them while their last round trip was
// in flight. Callers never hold a connection. Use it as any go-redis
// client: Get, Set, HGet, Eval, Pipelined, Do.
//
// What runs where:
//   - ordinary commands, and Pipelined / Pipeline (kept together and in
//     order, in one batch), share the pool's connections;
//   - blocking commands (BLPOP, BRPOP, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX,
//     BZMPOP, BRPOPLPUSH, XREAD and XREADGROUP with BLOCK, WAIT, WAITAOF),
//     TxPipelined / TxPipeline and Watch run on a connection leased for
//     the call, and given back after;
//   - commands that change the session or the connection's mode fail with
//     ErrNeedsLease, as do Subscribe, PSubscribe and SSubscribe (their
//     connection is never dialled). Conn does not pin a connection: the
//     redis.Conn it returns sends its commands to command mode like the
//     client, one by one; lease a connection (Pool.With) to keep one.
//
// A caller whose ctx ends gets ctx's error at once, whether its commands
// are queued (they are then never written) or in flight: when ctx can end,
// the pool writes copies of the caller's commands, and a reply that comes
// after the caller left goes into the copy and is dropped. A command that
// reads its reply into memory of the caller's (GetToBuffer's buffer, a
// writer) cannot be copied, and runs on a lease when its ctx can end.
//
// A command's own error reply (redis.Nil, WRONGTYPE) is its error, as with
// any client. A connection that breaks fails the commands in flight on it
// with the network error (they may have run; none is retried), and the
// commands queued behind them go to another connection.
//
// Hooks (redisotel-style instrumentation) go in with Commands' own AddHook,
// which runs them around command mode; see AddHook.
type Commands struct {
	*redis.Client
	pool *actorpool.Pool[*Conn]

	// hooks are the hooks added with AddHook, nil until the first. Written
	// under hooksMu, read by every command.
	hooksMu sync.Mutex
	hooks   atomic.Pointer[cmdHooks]

	// The address of commands sent by message (messages.go), made once.
	pidOnce sync.Once
	pid     *actor.PID
	sys     *actor.ActorSystem
	replied func(work any, err error)
}

// NewCommands returns the command-mode client of pool, whose backend must
// be this package's. It opens nothing: the pool's connections do the work.
// Closing the pool ends it (calls then fail with actorpool.ErrPoolClosed);
// its Close is a no-op.
//
// A nil pool gives a client whose every call fails with an error wrapping
// actorpool.ErrInvalidConfig.
func NewCommands(pool *actorpool.Pool[*Conn]) *Commands {
	c := &Commands{pool: pool}
	c.Client = redis.NewClient((Options{Addr: "actorpool"}).redisOptions(refuseDial))
	c.Client.AddHook(front{c})
	return c
}

// Close does nothing: the pool owns the connections.
func (c *Commands) Close() error { return nil }

func refuseDial(context.Context, string, string) (net.Conn, error) {
	return nil, ErrNeedsLease
}

// errNoPool is the error of every call of a Commands made from a nil pool.
var errNoPool = fmt.Errorf("%w: NewCommands was given a nil pool", actorpool.ErrInvalidConfig)

// front is the hook that sends Commands' commands to the pool instead of
// the network, inside the hooks added with Commands.AddHook (and on every
// client WithTimeout makes). It never calls next. Without a pool every
// call fails with errNoPool.
type front struct{ c *Commands }

func (f front) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f front) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.c.pool == nil {
			cmd.SetErr(errNoPool)
			return errNoPool
		}
		if h := f.c.hooks.Load(); h != nil {
			return h.process(ctx, cmd)
		}
		return f.c.process(ctx, cmd)
	}
}

func (f front) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if f.c.pool == nil {
			setErr(cmds, errNoPool)
			return errNoPool
		}
		if h := f.c.hooks.Load(); h != nil {
			return h.pipeline(ctx, cmds)
		}
		return f.c.pipeline(ctx, cmds)
	}
}

// process runs one command in command mode.
func (c *Commands) process(ctx context.Context, cmd redis.Cmder) error {
	return c.run(ctx, oneWork(cmd))
}

// pipeline runs a pipeline in command mode, or a MULTI/EXEC transaction
// (the commands of TxPipelined) on a lease.
func (c *Commands) pipeline(ctx context.Context, cmds []redis.Cmder) error {
	if n := len(cmds); n >= 2 && cmds[0].Name() == "multi" && cmds[n-1].Name() == "exec" {
		return c.onLease(ctx, cmds[1:n-1], true)
	}
	return c.run(ctx, manyWork(cmds))
}

// run sends w's commands to the shared pipeline, or to a lease when one of
// them must not share a connection. When ctx can end, the pool is handed
// copies of the commands (detach), so that run returns ctx's error as soon
// as ctx ends while the replies, read later, go nowhere; a command that
// cannot be copied (it reads its reply into memory of the caller's) runs
// on a lease then, as go-redis would run it. run recycles w, unless the
// pool may still read replies into it.
func (c *Commands) run(ctx context.Context, w *work) error {
	cmds := w.cmds
	where, err := placeAll(cmds, false)
	if where == shared && ctx.Done() != nil && !w.detach() {
		where = onLease
	}
	switch where {
	case onLease:
		defer putWork(w) // cmds may be w's own array
		return c.onLease(ctx, cmds, false)
	case refused:
		defer putWork(w)
		return err
	}
	err = c.pool.Do(ctx, w, size(cmds))
	if err != nil && ctx.Err() != nil && len(w.copies) > 0 {
		setErr(cmds, err) // the pool may still read replies into the copies: w is its own
		return err
	}
	defer putWork(w)
	w.attach(err == nil)
	if err != nil {
		setErr(cmds, err)
		return err
	}
	return firstErr(cmds)
}

// onLease runs cmds on a connection leased for the call: as one command,
// a pipeline, or (tx) a MULTI/EXEC transaction.
func (c *Commands) onLease(ctx context.Context, cmds []redis.Cmder, tx bool) error {
	err := c.pool.With(ctx, func(conn *Conn) error {
		if len(cmds) == 1 && !tx {
			return conn.Process(ctx, cmds[0])
		}
		pipe := conn.Pipeline()
		if tx {
			pipe = conn.TxPipeline()
		}
		_ = pipe.BatchProcess(ctx, cmds...)
		_, err := pipe.Exec(ctx)
		return err
	})
	if err != nil && firstErr(cmds) == nil {
		setErr(cmds, err) // the lease failed: nothing ran
	}
	return err
}

func setErr(cmds []redis.Cmder, err error) {
	for _, cmd := range cmds {
		cmd.SetErr(err)
	}
}

func firstErr(cmds []redis.Cmder) error {
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Where a command may run.
type place uint8

const (
	shared  place = iota // the pipeline shared by callers
	onLease              // a connection leased for the call
	refused              // nowhere in command mode: ErrNeedsLease
)

// placeAll decides where cmds run together (tx: as a MULTI/EXEC
// transaction, on a lease at least): the strictest place any of them
// needs. When that is refused, every command gets the ErrNeedsLease error
// naming the first refused command, which is returned.
func placeAll(cmds []redis.Cmder, tx bool) (place, error) {
	where := shared
	if tx {
		where = onLease
	}
	for _, cmd := range cmds {
		if p := placeOf(cmd); p == refused {
			err := fmt.Errorf("%w: %s", ErrNeedsLease, strings.ToUpper(cmd.Name()))
			setErr(cmds, err)
			return refused, err
		} else if p > where {
			where = p
		}
	}
	return where, nil
}

// placeOf decides where cmd runs.
func placeOf(cmd redis.Cmder) place {
	switch name := cmd.Name(); name {
	case "get", "set", "mget", "mset", "incr", "del", "hget", "hset", "expire", "exists": // common, first
		return shared
	case "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop",
		"wait", "waitaof":
		return onLease
	case "xread", "xreadgroup":
		for _, a := range cmd.Args()[1:] {
			if s, ok := a.(string); ok && strings.EqualFold(s, "block") {
				return onLease
			}
		}
		return shared
	case "select", "auth", "hello", "reset", "quit", "readonly", "readwrite",
		"multi", "exec", "discard", "watch", "unwatch",
		"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
		"monitor", "sync", "psync":
		return refused
	case "client":
		switch sub := strings.ToLower(arg(cmd, 1)); sub {
		case "setname", "tracking", "reply", "caching", "no-evict", "no-touch", "setinfo":
			return refused
		}
	}
	return shared
}
