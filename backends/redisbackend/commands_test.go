package redisbackend_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// Every caller checks its own keys and values, in its own order, with 256
// callers sharing the pipeline.
func TestCommandsRepliesUnderConcurrency(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MaxConns: 4})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	const callers, rounds = 256, 40
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Go(func() {
			key := fmt.Sprintf("cmd:%d", c)
			for i := range rounds {
				want := fmt.Sprintf("%d-%d", c, i)
				if err := rc.Set(ctx, key, want, 0).Err(); err != nil {
					errs <- err
					return
				}
				// Per-caller order: the counter sees every INCR in turn.
				if n, err := rc.Incr(ctx, key+":n").Result(); err != nil || n != int64(i+1) {
					errs <- fmt.Errorf("caller %d: INCR gave %d, %v; want %d", c, n, err, i+1)
					return
				}
				got, err := rc.Get(ctx, key).Result()
				if err != nil || got != want {
					errs <- fmt.Errorf("caller %d: GET gave %q, %v; want %q", c, got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := p.Stats()
	assert.Equal(t, uint64(callers*rounds*3), st.Commands(), "every command is counted once")
	assert.Less(t, st.Batches(), st.Commands(), "commands share batches")
	t.Logf("%d commands in %d batches (mean %.1f), %d connections serving", st.Commands(), st.Batches(),
		float64(st.Commands())/float64(st.Batches()), st.CommandConns())
	n, err := s.ClientCount(ctx)
	require.NoError(t, err)
	assert.LessOrEqual(t, n, 4, "the server never sees more than MaxConns clients")
}

// A missing key is redis.Nil, a wrong type its server error; neither harms
// the connection or the other commands of the batch.
func TestCommandsErrorReplies(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 2})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	require.ErrorIs(t, rc.Get(ctx, "cmd:missing").Err(), redis.Nil)
	require.NoError(t, rc.Set(ctx, "cmd:str", "v", 0).Err())
	err := rc.LPush(ctx, "cmd:str", "x").Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WRONGTYPE")
	cmds, err := rc.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, "cmd:a", "1", 0)
		pipe.Get(ctx, "cmd:missing")
		pipe.Get(ctx, "cmd:a")
		return nil
	})
	require.ErrorIs(t, err, redis.Nil, "as go-redis: the first error of the pipeline")
	require.Len(t, cmds, 3)
	assert.Equal(t, "1", cmds[2].(*redis.StringCmd).Val())
	assert.Equal(t, "v", rc.Get(ctx, "cmd:str").Val())
}

// Transactions and blocking commands run on a lease; session commands are
// refused.
func TestCommandsRouting(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MaxConns: 3})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)

	cmds, err := rc.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Incr(ctx, "cmd:tx")
		pipe.Incr(ctx, "cmd:tx")
		return nil
	})
	require.NoError(t, err)
	require.Len(t, cmds, 2)
	assert.Equal(t, int64(2), cmds[1].(*redis.IntCmd).Val())

	err = rc.Watch(ctx, func(tx *redis.Tx) error {
		n, err := tx.Get(ctx, "cmd:tx").Int()
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, "cmd:tx", n*10, 0)
			return nil
		})
		return err
	}, "cmd:tx")
	require.NoError(t, err)
	assert.Equal(t, "20", rc.Get(ctx, "cmd:tx").Val())

	// A blocking pop waits on its own connection while the pipeline serves
	// others, and gets the value pushed through the pipeline.
	popped := make(chan []string, 1)
	go func() {
		v, err := rc.BLPop(ctx, 5*time.Second, "cmd:list").Result()
		if err != nil {
			v = []string{"error: " + err.Error()}
		}
		popped <- v
	}()
	require.Eventually(t, func() bool { return blocked(ctx, s, "blpop") }, eventually, time.Millisecond,
		"the server has BLPOP blocked on its own connection")
	require.NoError(t, rc.Set(ctx, "cmd:other", "x", 0).Err())
	require.NoError(t, rc.RPush(ctx, "cmd:list", "item").Err())
	select {
	case v := <-popped:
		assert.Equal(t, []string{"cmd:list", "item"}, v)
	case <-ctx.Done():
		t.Fatal("BLPOP did not return")
	}

	for name, err := range map[string]error{
		"SELECT":         rc.Do(ctx, "select", 1).Err(),
		"CLIENT SETNAME": rc.Do(ctx, "client", "setname", "x").Err(),
		"MULTI":          rc.Do(ctx, "multi").Err(),
		"HELLO":          rc.Do(ctx, "hello", "3").Err(),
	} {
		assert.ErrorIs(t, err, redisbackend.ErrNeedsLease, name)
	}
	sub := rc.Subscribe(ctx, "cmd:chan")
	_, err = sub.Receive(ctx)
	assert.ErrorIs(t, err, redisbackend.ErrNeedsLease, "SUBSCRIBE")
	require.NoError(t, sub.Close())
}

// A ctx that ends before the call, or while the command is in flight,
// returns at once; the pool and the connection stay in step for the next
// callers.
func TestCommandsCancel(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 1})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	require.NoError(t, rc.Set(ctx, "cmd:c", "v", 0).Err())

	done, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, rc.Get(done, "cmd:c").Err(), context.Canceled, "ended before the call")

	// A slow command holds the server; a command written behind it whose
	// ctx ends returns at once, and runs when the server gets to it.
	slow := make(chan error, 1)
	go func() { slow <- rc.Do(ctx, "debug", "sleep", "0.5").Err() }()
	require.Eventually(t, func() bool { return p.Stats().CommandsInFlight() == 1 }, eventually, time.Millisecond)
	short, cancelShort := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelShort()
	err := rc.Incr(short, "cmd:behind").Err()
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	select {
	case <-slow:
		t.Error("a command behind a slow one returned only after it: not when its ctx ended")
	default:
	}
	require.NoError(t, recv(t, slow))
	ran, err := rc.Get(ctx, "cmd:behind").Int()
	require.NoError(t, err, "the INCR its caller left ran")
	assert.Equal(t, 1, ran)

	// A ctx that ends while the command is in flight: the caller gets
	// ctx's error, the reply is read, the connection stays in step.
	inflight, cancelIn := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelIn()
	err = rc.Do(inflight, "debug", "sleep", "0.1").Err()
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	for i := range 20 {
		v := fmt.Sprint(i)
		require.NoError(t, rc.Set(ctx, "cmd:sync", v, 0).Err())
		require.Equal(t, v, rc.Get(ctx, "cmd:sync").Val(), "replies stay matched to their commands")
	}
}

// Values of several MB share the pipeline with small ones.
func TestCommandsLargeValues(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 4})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	big := strings.Repeat("x", 4<<20)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 4 {
		wg.Go(func() {
			key := fmt.Sprintf("cmd:big:%d", i)
			if err := rc.Set(ctx, key, big, 0).Err(); err != nil {
				errs <- err
				return
			}
			if n, err := rc.StrLen(ctx, key).Result(); err != nil || n != int64(len(big)) {
				errs <- fmt.Errorf("STRLEN %d, %v", n, err)
			}
		})
	}
	for i := range 32 {
		wg.Go(func() {
			for j := range 50 {
				key, v := fmt.Sprintf("cmd:small:%d", i), fmt.Sprint(j)
				if err := rc.Set(ctx, key, v, 0).Err(); err != nil {
					errs <- err
					return
				}
				if got := rc.Get(ctx, key).Val(); got != v {
					errs <- fmt.Errorf("GET %s = %q, want %q", key, got, v)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Close with commands in flight: they finish, later ones fail with
// ErrPoolClosed, and every connection is closed (newPool's cleanup checks).
func TestCommandsClose(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 2})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	var bad []error
	var mu sync.Mutex
	for i := range 32 {
		wg.Go(func() {
			for j := 0; ; j++ {
				err := rc.Set(ctx, fmt.Sprintf("cmd:close:%d", i), j, 0).Err()
				if errors.Is(err, actorpool.ErrPoolClosed) {
					return
				}
				if err != nil {
					mu.Lock()
					bad = append(bad, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	require.Eventually(t, func() bool { return p.Stats().Commands() > 500 }, eventually, time.Millisecond)
	require.NoError(t, p.Close(ctx))
	wg.Wait()
	assert.Empty(t, bad, "commands in flight at Close finish; later ones fail with ErrPoolClosed")
	assert.ErrorIs(t, rc.Get(ctx, "x").Err(), actorpool.ErrPoolClosed)
}

// blocked reports whether the server has a client blocked in cmd. It runs
// inside Eventually: an error is a no.
func blocked(ctx context.Context, s *redisserver.Server, cmd string) bool {
	cs, err := s.Clients(ctx)
	if err != nil {
		return false
	}
	for _, c := range cs {
		if c.Cmd == cmd && strings.Contains(c.Flags, "b") {
			return true
		}
	}
	return false
}

func TestCommandsFromANilPoolFailWithErrInvalidConfig(t *testing.T) {
	c := redisbackend.NewCommands(nil)
	ctx := context.Background()
	assert.ErrorIs(t, c.Get(ctx, "k").Err(), actorpool.ErrInvalidConfig)
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error { p.Get(ctx, "k"); return nil })
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig)
	assert.ErrorIs(t, c.Watch(ctx, func(*redis.Tx) error { return nil }, "k"), actorpool.ErrInvalidConfig)
	assert.ErrorIs(t, c.WithTimeout(time.Second).Get(ctx, "k").Err(), actorpool.ErrInvalidConfig, "a client WithTimeout made")
}
