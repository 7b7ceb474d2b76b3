package rediscluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// txAttempts bounds how many times a transaction is sent again while its
// slot moves.
const txAttempts = 8

// tx runs a transaction's commands (MULTI and EXEC left out) on a
// connection leased from the primary of their slot, as the node's command
// client runs a transaction. Redirected (MOVED: the slot map is read
// again) or told to wait (ASK, TRYAGAIN, CLUSTERDOWN: the slot is moving
// or the cluster is failing over), nothing of it ran: it is sent again,
// with backoff, until it runs, ctx ends or txAttempts pass.
func (c *Cluster) tx(ctx context.Context, cmds []redis.Cmder) error {
	if len(cmds) == 0 {
		return nil
	}
	key, ok := firstKey(cmds[0])
	if !ok {
		err := fmt.Errorf("rediscluster: a transaction needs a key in its first command (%s)", cmds[0].Name())
		setAll(cmds, err)
		return err
	}
	var err error
	for attempt := range txAttempts {
		var n *node
		if n, err = c.owner(ctx, key); err != nil {
			break
		}
		pipe := n.cmds.TxPipeline()
		for _, cmd := range cmds {
			cmd.SetErr(nil)
			_ = pipe.Process(ctx, cmd)
		}
		_, err = pipe.Exec(ctx)
		if !redirectedTx(cmds, err) {
			break
		}
		if moved(cmds, err) {
			c.cc.ReloadState(ctx)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(1<<attempt) * 5 * time.Millisecond):
		}
	}
	return err
}

// firstKey is the key a command's slot is computed from, as go-redis
// finds it for the common commands: the first argument, or for EVAL,
// EVALSHA and FCALL the first of their keys.
func firstKey(cmd redis.Cmder) (string, bool) {
	args := cmd.Args()
	pos := 1
	switch strings.ToLower(cmd.Name()) {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		pos = 3
	}
	if len(args) <= pos {
		return "", false
	}
	k, ok := args[pos].(string)
	return k, ok
}

// redirectedTx says whether a transaction failed because its slot is
// served elsewhere or is moving.
func redirectedTx(cmds []redis.Cmder, err error) bool {
	if retryable(err) {
		return true
	}
	for _, cmd := range cmds {
		if retryable(cmd.Err()) {
			return true
		}
	}
	return false
}

// moved says whether the slot map is out of date.
func moved(cmds []redis.Cmder, err error) bool {
	is := func(e error) bool {
		re, ok := errors.AsType[redis.Error](e)
		return ok && strings.HasPrefix(re.Error(), "MOVED ")
	}
	if is(err) {
		return true
	}
	for _, cmd := range cmds {
		if is(cmd.Err()) {
			return true
		}
	}
	return false
}

func setAll(cmds []redis.Cmder, err error) {
	for _, cmd := range cmds {
		cmd.SetErr(err)
	}
}
