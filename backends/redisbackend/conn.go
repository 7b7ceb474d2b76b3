package redisbackend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool/internal/netx"
)

// Conn is one pooled Redis connection: a go-redis client whose pool holds
// exactly one TCP connection, the one Dial opened. The holder of a lease uses
// it as any *redis.Client (the embedded Client): Get, Set, Pipelined,
// TxPipelined, Watch, Do. Pass c.Client where a *redis.Client is wanted.
//
// C is *Conn rather than *redis.Client so that the connection carries what
// the backend must know about it without a side table: the socket, whether
// go-redis has given it up, and what the holder changed that Reset must undo.
//
// Do not call Close on a leased Conn, nor keep it after the lease ends: the
// pool closes it. A redis.Conn obtained from Conn() must be closed before
// the lease ends. Pub/sub (Subscribe and friends) needs a second connection
// and fails with ErrSecondConn: use a separate go-redis client for it.
type Conn struct {
	*redis.Client

	// sock is the one TCP connection. Set by Dial before the Conn is shared;
	// its closed flag is read on any goroutine.
	sock *socket

	// handedOut becomes true when go-redis takes sock from the dialer; every
	// later dial is refused. Touched by whichever goroutine go-redis dials
	// on.
	handedOut atomic.Bool

	// dirty holds the dirty* bits of session state a holder changed and
	// Reset has not undone yet. Set by the tracking hook on the holder's
	// goroutines, cleared by Reset on the connection actor's goroutine.
	dirty atomic.Uint32

	// stuck names the first command a holder ran whose effect Reset cannot
	// undo; once set, Reset fails and the connection is replaced. Set by
	// the tracking hook, read by Reset.
	stuck atomic.Pointer[string]

	// inflight counts commands (and pipelines) running through the hook,
	// on any goroutine; pinned is set by Conn and cleared by a Reset that
	// found the connection back in its client. Together they let
	// NeedsReset notice, without a call into go-redis, a connection that
	// may still be checked out when its lease ends.
	inflight atomic.Int32
	pinned   atomic.Bool

	// leaseHooks are the hooks the holder added with AddHook, nil when
	// none. Set on the holder's goroutines, cleared by Reset.
	leaseHooks atomic.Pointer[hookList]

	// batch is the buffer Pipeline gathers a command-mode batch in; one
	// batch at a time uses it (command mode keeps them apart).
	batch []redis.Cmder

	// db and name are the configured database and client name that Reset
	// restores, hooks the hooks of Options.Hooks. Immutable.
	db    int
	name  string
	hooks []redis.Hook
}

// Conn returns a redis.Conn pinned to this connection, as redis.Client.Conn
// does. Close it before the lease ends: a connection still pinned then is
// replaced rather than lent again.
func (c *Conn) Conn() *redis.Conn {
	c.pinned.Store(true)
	return c.Client.Conn()
}

// needsReset reports whether reset has anything to check or undo. It reads
// six atomics and makes no call into go-redis.
func (c *Conn) needsReset() bool {
	return c.dirty.Load() != 0 || c.stuck.Load() != nil || c.sock.closed.Load() ||
		c.pinned.Load() || c.inflight.Load() != 0 || c.leaseHooks.Load() != nil
}

// Session state a holder can change and Reset can undo.
const (
	dirtyDB    uint32 = 1 << iota // SELECT
	dirtyName                     // CLIENT SETNAME
	dirtyMulti                    // MULTI without EXEC or DISCARD
	dirtyWatch                    // WATCH without UNWATCH, EXEC or DISCARD
)

// socket is the net.Conn handed to go-redis. It records that it was closed:
// go-redis closes a connection when it gives up on it (a network error, a
// protocol error, a cancelled command) or when the client is closed, and from
// then on the Conn is lost for good.
//
// It deliberately does not expose syscall.Conn, so go-redis skips its
// idle-connection health check, which on a dead socket would close it and dial
// a replacement at once. Without it, a command on a dead socket fails with
// the network error, which is what the pool needs to see.
type socket struct {
	net.Conn
	closed  atomic.Bool
	leaving atomic.Bool // letGo began: the holder's commands fail from now on
	// split: command mode writes the socket itself (Split); go-redis's
	// writes and write deadlines go nowhere until Join.
	split atomic.Bool
}

func (s *socket) Write(b []byte) (int, error) {
	if s.split.Load() {
		return len(b), nil
	}
	return s.Conn.Write(b)
}

func (s *socket) SetWriteDeadline(t time.Time) error {
	if s.split.Load() {
		return nil
	}
	return s.Conn.SetWriteDeadline(t)
}

func (s *socket) SetDeadline(t time.Time) error {
	if s.split.Load() {
		return s.Conn.SetReadDeadline(t)
	}
	return s.Conn.SetDeadline(t)
}

func (s *socket) Close() error {
	s.closed.Store(true)
	return s.Conn.Close()
}

// letGoWait bounds how long letGo waits for the server to close its side.
const letGoWait = time.Second

// letGo half-closes the socket and reads until the server closes its side
// too (at most letGoWait): redis-server frees a client, and drops it from
// CLIENT LIST, before it closes the socket, so when letGo returns the
// server no longer counts this connection. It runs only on the pool's
// close, by the connection actor that owns the socket; a lost socket
// returns at once.
func (s *socket) letGo() {
	s.leaving.Store(true)
	if !s.closed.Load() {
		netx.AwaitPeerClose(s.Conn, letGoWait)
	}
}

// dial is the go-redis Dialer of the Conn's client. It hands out the socket
// Dial opened exactly once; go-redis asking again means that socket is gone
// (or that a second one is wanted, as by Subscribe), and both are refused.
func (c *Conn) dial(context.Context, string, string) (net.Conn, error) {
	if c.handedOut.CompareAndSwap(false, true) {
		return c.sock, nil
	}
	if c.sock.closed.Load() {
		return nil, ErrConnLost
	}
	return nil, ErrSecondConn
}

// alive returns ErrConnLost once go-redis has closed the socket, or the
// pool has begun to close it (a revoked holder's command then fails with
// ErrConnLost, not with a write on a half-closed socket).
func (c *Conn) alive() error {
	if c.sock.closed.Load() || c.sock.leaving.Load() {
		return ErrConnLost
	}
	return nil
}

// close closes the client, and the socket itself if go-redis never took it.
// It first lets the server go (letGo), so that the pool dials a
// replacement only once the server has freed this client.
func (c *Conn) close() error {
	c.sock.letGo()
	err := c.Client.Close()
	if c.handedOut.CompareAndSwap(false, true) {
		_ = c.sock.Close()
	}
	if errors.Is(err, redis.ErrClosed) { // the holder closed it already
		return nil
	}
	return err
}

// resetKey marks the context of Reset's own commands, which the tracking hook
// must not count as the holder's.
type resetKey struct{}

// tracker is the go-redis hook of every Conn. It runs on the holder's
// goroutines, before go-redis takes the connection from its pool:
//
//   - once the socket is lost it fails every command with ErrConnLost, so
//     go-redis never tries to dial again;
//   - it notes which session state a command changes, so that Reset knows
//     what to undo and can skip the round trip when nothing changed.
//
// Commands run by the handshake in Dial are not tracked: the hook is added
// after it.
type tracker struct{ c *Conn }

var _ redis.Hook = tracker{}

func (t tracker) DialHook(next redis.DialHook) redis.DialHook { return next }

func (t tracker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := t.c.alive(); err != nil {
			cmd.SetErr(err)
			return err
		}
		t.c.track(ctx, cmd)
		t.c.inflight.Add(1)
		defer t.c.inflight.Add(-1)
		return next(ctx, cmd)
	}
}

func (t tracker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := t.c.alive(); err != nil {
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
			return err
		}
		for _, cmd := range cmds {
			t.c.track(ctx, cmd)
		}
		t.c.inflight.Add(1)
		defer t.c.inflight.Add(-1)
		return next(ctx, cmds)
	}
}

// track records what cmd does to the session, before it is sent: a command
// that fails still counts (Reset then undoes a change that did not happen,
// which is harmless).
func (c *Conn) track(ctx context.Context, cmd redis.Cmder) {
	var set, clear uint32
	switch name := cmd.Name(); name {
	case "get", "set", "ping": // the common case, first
		return
	case "select":
		set = dirtyDB
	case "multi":
		set = dirtyMulti
	case "exec", "discard":
		clear = dirtyMulti | dirtyWatch
	case "watch":
		set = dirtyWatch
	case "unwatch":
		clear = dirtyWatch
	case "client":
		switch sub := arg(cmd, 1); {
		case strings.EqualFold(sub, "setname"):
			set = dirtyName
		case strings.EqualFold(sub, "reply"), strings.EqualFold(sub, "tracking"),
			strings.EqualFold(sub, "caching"), strings.EqualFold(sub, "no-evict"),
			strings.EqualFold(sub, "no-touch"):
			c.markStuck("CLIENT " + strings.ToUpper(sub))
		}
	case "subscribe", "psubscribe", "ssubscribe", // pub/sub state
		"monitor", "sync", "psync", // the connection stops being a client
		"hello", "auth", "reset", // user, protocol, everything
		"readonly", "readwrite", "quit":
		c.markStuck(strings.ToUpper(name))
	default:
		return
	}
	if ctx.Value(resetKey{}) != nil {
		return
	}
	if set != 0 {
		c.dirty.Or(set)
	}
	if clear != 0 {
		c.dirty.And(^clear)
	}
}

func (c *Conn) markStuck(command string) {
	c.stuck.CompareAndSwap(nil, &command)
}

// arg returns argument i of cmd as a string, or "".
func arg(cmd redis.Cmder, i int) string {
	args := cmd.Args()
	if i >= len(args) {
		return ""
	}
	switch v := args[i].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}

// reset removes the holder's hooks and undoes the session changes recorded
// since the last reset. With nothing recorded it costs a few atomic loads
// and no round trip; otherwise one pipelined round trip of at most four
// commands.
func (c *Conn) reset(ctx context.Context) error {
	c.leaseHooks.Store(nil)
	if err := c.alive(); err != nil {
		return err
	}
	if cmd := c.stuck.Load(); cmd != nil {
		return fmt.Errorf("%w: the holder ran %s", ErrNotResettable, *cmd)
	}
	if st := c.Client.PoolStats(); st.IdleConns != 1 {
		return ErrConnInUse
	}
	c.pinned.Store(false)
	dirty := c.dirty.Load()
	if dirty == 0 {
		return nil
	}

	ctx = context.WithValue(ctx, resetKey{}, true)
	var discard, unwatch, sel, setname *redis.Cmd
	_, _ = c.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
		// DISCARD first: inside MULTI the others would only be queued.
		if dirty&dirtyMulti != 0 {
			discard = p.Do(ctx, "discard")
		}
		if dirty&dirtyWatch != 0 {
			unwatch = p.Do(ctx, "unwatch")
		}
		if dirty&dirtyDB != 0 {
			sel = p.Do(ctx, "select", c.db)
		}
		if dirty&dirtyName != 0 {
			setname = p.Do(ctx, "client", "setname", c.name)
		}
		return nil
	})
	if discard != nil {
		// The MULTI may have failed, or been ended by a command the hook
		// does not know: nothing to discard is fine.
		if err := discard.Err(); err != nil && !strings.Contains(err.Error(), "without MULTI") {
			return fmt.Errorf("redisbackend: reset: DISCARD: %w", err)
		}
	}
	for _, step := range []struct {
		name string
		cmd  *redis.Cmd
	}{{"UNWATCH", unwatch}, {"SELECT", sel}, {"CLIENT SETNAME", setname}} {
		if step.cmd == nil {
			continue
		}
		// A reply other than OK (QUEUED, say) means the session is not in
		// the state the hook believed: better replaced than guessed at.
		if s, err := step.cmd.Text(); err != nil || s != "OK" {
			if err == nil {
				err = fmt.Errorf("unexpected reply %q", s)
			}
			return fmt.Errorf("redisbackend: reset: %s: %w", step.name, err)
		}
	}
	c.dirty.Store(0)
	return nil
}
