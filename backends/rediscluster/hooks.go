package rediscluster

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
)

// redirected runs again, one by one through the cluster client, the
// commands of a pipeline that came back redirected (MOVED, ASK) or told
// to retry (TRYAGAIN, CLUSTERDOWN): go-redis follows those for a single
// command but not inside a pipeline served by a node's own hooks. A
// pipeline's commands are not atomic, so running some of them again on
// the slot's new owner is what sending them there first would have done.
type redirected struct{ c *Cluster }

func (redirected) DialHook(next redis.DialHook) redis.DialHook { return next }

func (redirected) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (r redirected) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if isTx(cmds) {
			return r.c.tx(ctx, cmds[1:len(cmds)-1])
		}
		err := next(ctx, cmds)
		again := false
		for _, cmd := range cmds {
			if retryable(cmd.Err()) {
				again = true
				break
			}
		}
		if !again {
			return err
		}
		err = nil
		for _, cmd := range cmds {
			if retryable(cmd.Err()) {
				cmd.SetErr(nil)
				_ = r.c.cc.Process(ctx, cmd)
			}
			if e := cmd.Err(); e != nil && err == nil && !errors.Is(e, redis.Nil) {
				err = e
			}
		}
		return err
	}
}

// nodeErr is a node client's pipeline hook: a reply error (redis.Nil,
// MOVED) stays on its command and the hook returns nil, since go-redis's
// cluster client would set a node hook's error on every command of the
// node's share of the pipeline; a connection's error is returned.
// A connection's error also has the slot map read again (Cluster.refresh):
// the node may have failed, and its replica be serving its slots now.
type nodeErr struct{ c *Cluster }

func (nodeErr) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h nodeErr) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if h.seen(ctx, err) {
			err = noRetry{err}
			cmd.SetErr(err)
		}
		return err
	}
}

// noRetry is a connection's error as the cluster client sees it: one it
// does not resend the command for. go-redis's cluster client would send a
// command again after EOF or a network error, though it may have run (a
// write twice); the pool never does. errors.Is still finds the pool's
// errors (ErrConnLost, ErrBackendUnavailable) in it, and the network
// error itself, except EOF.
type noRetry struct{ err error }

func (e noRetry) Error() string { return e.err.Error() }

func (e noRetry) Is(target error) bool {
	if target == io.EOF || target == io.ErrUnexpectedEOF {
		return false
	}
	return errors.Is(e.err, target)
}

func (h nodeErr) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if _, ok := errors.AsType[redis.Error](err); ok {
			return nil
		}
		h.seen(ctx, err)
		return err
	}
}

// seen has the slot map read again after an error that is neither a
// reply nor the caller's own ctx, and reports whether it was one.
func (h nodeErr) seen(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if _, ok := errors.AsType[redis.Error](err); ok {
		return false
	}
	h.c.refresh()
	return true
}

// retryable says whether a command's error is one the cluster answers
// with a redirection or a retry.
func retryable(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	for _, p := range []string{"MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// isTx says whether cmds are a transaction (MULTI ... EXEC), which
// Cluster.tx runs.
func isTx(cmds []redis.Cmder) bool {
	return len(cmds) > 0 && cmds[0].Name() == "multi"
}

// refuse is the hook of a client whose every command fails with err.
type refuse struct{ err error }

func (f refuse) DialHook(redis.DialHook) redis.DialHook {
	return func(context.Context, string, string) (net.Conn, error) { return nil, f.err }
}

func (f refuse) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(_ context.Context, cmd redis.Cmder) error {
		cmd.SetErr(f.err)
		return f.err
	}
}

func (f refuse) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(_ context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			cmd.SetErr(f.err)
		}
		return f.err
	}
}
