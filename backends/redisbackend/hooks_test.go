package redisbackend_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// eventLog is what one or more recorders saw, in order.
type eventLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *eventLog) add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

// take returns the lines logged so far and empties the log.
func (l *eventLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	l.lines = nil
	return lines
}

// recorder is a go-redis hook in the style of redisotel's: it wraps next,
// and logs each command (or pipeline) as it starts ("a> get") and as it
// ends, with the reply or error it ended with ("a< get k: v",
// "a< get error: redis: nil").
type recorder struct {
	name  string
	log   *eventLog
	dials atomic.Int32
}

var _ redis.Hook = (*recorder)(nil)

func newRecorders(names ...string) (*eventLog, []*recorder) {
	log := &eventLog{}
	rs := make([]*recorder, len(names))
	for i, name := range names {
		rs[i] = &recorder{name: name, log: log}
	}
	return log, rs
}

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		r.dials.Add(1)
		return next(ctx, network, addr)
	}
}

func (r *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.log.add(r.name + "> " + cmd.Name())
		err := next(ctx, cmd)
		if err != nil {
			r.log.add(r.name + "< " + cmd.Name() + " error: " + err.Error())
		} else {
			r.log.add(r.name + "< " + cmd.String())
		}
		return err
	}
}

func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, cmd := range cmds {
			names[i] = cmd.Name()
		}
		r.log.add(r.name + "> pipeline " + strings.Join(names, " "))
		err := next(ctx, cmds)
		r.log.add(fmt.Sprintf("%s< pipeline %v", r.name, err))
		return err
	}
}

// Hooks added to the command client run once per command, the first added
// outermost, around command mode: they see each command's reply and error.
func TestCommandsHooksRunPerCommand(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 2})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	log, rs := newRecorders("a", "b")
	rc.AddHook(rs[0])
	rc.AddHook(rs[1])

	require.NoError(t, rc.Set(ctx, "hook:k", "v", 0).Err())
	require.Equal(t, "v", rc.Get(ctx, "hook:k").Val())
	require.ErrorIs(t, rc.Get(ctx, "hook:missing").Err(), redis.Nil)
	assert.Equal(t, []string{
		"a> set", "b> set", "b< set hook:k v: OK", "a< set hook:k v: OK",
		"a> get", "b> get", "b< get hook:k: v", "a< get hook:k: v",
		"a> get", "b> get", "b< get error: redis: nil", "a< get error: redis: nil",
	}, log.take(), "3 commands, each once through both hooks")
	assert.Zero(t, rs[0].dials.Load(), "command mode dials nothing")

	// A refused command goes through the hooks too, with its error.
	require.ErrorIs(t, rc.Do(ctx, "select", 1).Err(), redisbackend.ErrNeedsLease)
	lines := log.take()
	require.Len(t, lines, 4)
	assert.Contains(t, lines[3], "needs a leased connection")
}

// Pipelines and transactions run the pipeline hooks once; the commands
// command mode runs on a lease (blocking ones, TxPipelined, Watch) run the
// hooks once each too.
func TestCommandsHooksRunPerPipeline(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 2})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	log, rs := newRecorders("a")
	rc.AddHook(rs[0])

	_, err := rc.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, "hook:p", "1", 0)
		pipe.Incr(ctx, "hook:p")
		pipe.Get(ctx, "hook:p")
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"a> pipeline set incr get", "a< pipeline <nil>"}, log.take())

	_, err = rc.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Incr(ctx, "hook:p")
		pipe.Incr(ctx, "hook:p")
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"a> pipeline multi incr incr exec", "a< pipeline <nil>"}, log.take())

	require.NoError(t, rc.RPush(ctx, "hook:list", "x").Err())
	log.take()
	require.NoError(t, rc.BLPop(ctx, time.Second, "hook:list").Err())
	assert.Equal(t, []string{"a> blpop", "a< blpop hook:list 1: [hook:list x]"}, log.take())

	err = rc.Watch(ctx, func(tx *redis.Tx) error {
		n, err := tx.Get(ctx, "hook:p").Int()
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, "hook:p", n*10, 0)
			return nil
		})
		return err
	}, "hook:p")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"a> watch", "a< watch hook:p: OK",
		"a> get", "a< get hook:p: 4",
		"a> pipeline multi set exec", "a< pipeline <nil>",
	}, log.take())
	assert.Equal(t, "40", rc.Get(ctx, "hook:p").Val())
	assert.Zero(t, rs[0].dials.Load())
}

// Hooks may be added while commands run; every command runs the hooks
// added before it started, each once.
func TestCommandsAddHookWhileCommandsRun(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 2})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	const hooks = 8
	log, rs := newRecorders("h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7")
	stop := make(chan struct{})
	var done atomic.Int64 // commands answered
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := rc.Incr(ctx, "hook:n").Err(); err != nil {
					t.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	for _, r := range rs {
		// Commands run between two adds: wait for a few more answers.
		before := done.Load()
		require.Eventually(t, func() bool { return done.Load() >= before+8 }, eventually, 100*time.Microsecond)
		rc.AddHook(r)
	}
	close(stop)
	wg.Wait()
	log.take()
	require.NoError(t, rc.Incr(ctx, "hook:n").Err())
	assert.Len(t, log.take(), 2*hooks, "each hook once, in and out")
}

// A hook the holder adds to its leased connection runs for its lease only:
// not for the next holder of the same connection, and not twice when the
// next holder adds it again.
func TestLeaseHookLastsForTheLeaseOnly(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 1})
	ctx := testCtx(t)
	log, rs := newRecorders("lease")
	var first, second int64
	require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
		first = clientID(t, c)
		c.AddHook(rs[0])
		_, err := c.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Get(ctx, "hook:lease")
			return nil
		})
		return errorsIgnoreNil(err)
	}))
	assert.Equal(t, []string{"lease> pipeline get", "lease< pipeline redis: nil"}, log.take())

	require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
		second = clientID(t, c)
		return errorsIgnoreNil(c.Get(ctx, "hook:lease").Err())
	}))
	require.Equal(t, first, second, "the same connection")
	assert.Empty(t, log.take(), "the hook did not outlive its lease")

	require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
		c.AddHook(rs[0])
		return errorsIgnoreNil(c.Get(ctx, "hook:lease").Err())
	}))
	assert.Equal(t, []string{"lease> get", "lease< get error: redis: nil"}, log.take(), "once, not stacked")
}

// A holder's hook makes the connection need a Reset, which removes it.
func TestResetRemovesTheHoldersHooks(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	c := dial(t, b)
	log, rs := newRecorders("lease")

	require.False(t, b.NeedsReset(c))
	c.AddHook(rs[0])
	require.True(t, b.NeedsReset(c), "the hook must not reach the next holder")
	require.NoError(t, c.Ping(ctx).Err())
	assert.Equal(t, []string{"lease> ping", "lease< ping: PONG"}, log.take())

	require.NoError(t, b.Reset(ctx, c))
	assert.False(t, b.NeedsReset(c))
	require.NoError(t, c.Ping(ctx).Err())
	assert.Empty(t, log.take())
}

// Options.Hooks are added once to every connection the pool dials: the
// dial hook runs for each dial, the process hook once per command, outside
// the hooks a holder adds for its lease.
func TestOptionsHooksRunOnceOnEveryConnection(t *testing.T) {
	log, rs := newRecorders("opt", "lease")
	p, _ := newPoolWith(t, actorpool.Config{MaxConns: 3}, func(o *redisbackend.Options) {
		o.Hooks = []redis.Hook{rs[0]}
	})
	ctx := testCtx(t)

	// Three leases held at once: three connections.
	var leases []actorpool.Lease[*redisbackend.Conn]
	for range 3 {
		l, err := p.Acquire(ctx)
		require.NoError(t, err)
		leases = append(leases, l)
	}
	require.Equal(t, 3, p.Stats().Total())
	assert.EqualValues(t, 3, rs[0].dials.Load(), "the dial hook ran once per dial")
	log.take()
	for _, l := range leases {
		require.ErrorIs(t, l.Conn().Get(ctx, "hook:o").Err(), redis.Nil)
		require.NoError(t, l.Release())
	}
	want := []string{"opt> get", "opt< get error: redis: nil"}
	assert.Equal(t, slices.Concat(want, want, want), only(log.take(), "get"), "once per command on each connection")

	// Again, with a hook for one lease: inside the connection's hooks.
	require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
		c.AddHook(rs[1])
		return errorsIgnoreNil(c.Get(ctx, "hook:o").Err())
	}))
	assert.Equal(t, []string{"opt> get", "lease> get", "lease< get error: redis: nil", "opt< get error: redis: nil"},
		only(log.take(), "get"))
	assert.EqualValues(t, 3, rs[0].dials.Load(), "no more dials")
	assert.Zero(t, rs[1].dials.Load(), "a lease's hook never sees a dial")

	// In command mode they see the batches on the connection, inside the
	// command client's hooks.
	rc := redisbackend.NewCommands(p)
	rc.AddHook(rs[1])
	require.ErrorIs(t, rc.Get(ctx, "hook:o").Err(), redis.Nil)
	assert.Equal(t, []string{"lease> get", "opt> get", "opt< get error: redis: nil", "lease< get error: redis: nil"},
		only(log.take(), "get"))
}

// go-redis's WithTimeout clone has none of the client's hooks; the ones
// of Commands and Conn keep them all, the pool's own included.
func TestWithTimeoutKeepsTheHooks(t *testing.T) {
	log, rs := newRecorders("opt", "lease", "cmd")
	p, s := newPoolWith(t, actorpool.Config{MaxConns: 1}, func(o *redisbackend.Options) {
		o.Hooks = []redis.Hook{rs[0]}
	})
	ctx := testCtx(t)
	var id int64
	require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
		id = clientID(t, c)
		c.AddHook(rs[1])
		return c.WithTimeout(time.Second).Do(ctx, "select", 5).Err()
	}))
	// The connection's actor resets it after the release: it is idle again
	// once that is done.
	require.Eventually(t, func() bool { return p.Stats().Idle() == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{"opt> select", "lease> select", "lease< select 5: OK", "opt< select 5: OK"},
		only(log.take(), "select"))
	assert.Equal(t, 0, clientByID(t, s, id).DB, "Reset saw the SELECT and undid it")

	rc := redisbackend.NewCommands(p)
	rc.AddHook(rs[2])
	require.NoError(t, rc.WithTimeout(time.Second).Set(ctx, "hook:t", "v", 0).Err())
	assert.Equal(t, []string{"cmd> set", "opt> set", "opt< set hook:t v: OK", "cmd< set hook:t v: OK"},
		only(log.take(), "set"))
}

func TestOptionsHooksMayNotBeNil(t *testing.T) {
	err := redisbackend.New(redisbackend.Options{Addr: "127.0.0.1:6379", Hooks: []redis.Hook{nil}}).Validate()
	require.ErrorIs(t, err, redisbackend.ErrInvalidOptions)
	assert.Contains(t, err.Error(), "hook 0 is nil")
}

// only keeps the lines about command name.
func only(lines []string, name string) []string {
	var kept []string
	for _, l := range lines {
		if _, rest, ok := strings.Cut(l, " "); ok && (rest == name || strings.HasPrefix(rest, name+" ")) {
			kept = append(kept, l)
		}
	}
	return kept
}

func errorsIgnoreNil(err error) error {
	if err == redis.Nil {
		return nil
	}
	return err
}
