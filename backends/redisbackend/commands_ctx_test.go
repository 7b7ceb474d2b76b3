package redisbackend_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

// prompt bounds how long a caller whose ctx ended may take to return: far
// above a scheduler's delay, far below the replies' (a second).
const prompt = 100 * time.Millisecond

// leaving is a caller that gives up: it cancels its ctx and measures how
// long its call takes to return after that.
type leaving struct {
	cancel context.CancelFunc
	done   chan time.Duration // from cancel to return
	err    error
}

// leave starts call with a ctx of its own that the test cancels later.
func leave(t *testing.T, call func(ctx context.Context) error) *leaving {
	ctx, cancel := context.WithCancel(testCtx(t))
	l := &leaving{cancel: cancel, done: make(chan time.Duration, 1)}
	var at time.Time
	var mu sync.Mutex
	go func() {
		err := call(ctx)
		mu.Lock()
		defer mu.Unlock()
		l.err = err
		l.done <- time.Since(at)
	}()
	l.cancel = func() {
		mu.Lock()
		at = time.Now()
		mu.Unlock()
		cancel()
	}
	return l
}

// returned waits for the caller to return after its cancel, and checks
// it did so promptly with ctx's error.
func (l *leaving) returned(t *testing.T, what string) {
	t.Helper()
	select {
	case took := <-l.done:
		assert.Less(t, took, prompt, "%s returns at once when its ctx ends", what)
		assert.ErrorIs(t, l.err, context.Canceled, what)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still waits for its reply after its ctx ended", what)
	}
}

// A caller whose ctx ends while its command is in flight returns at
// once with ctx's error; its reply, read later, reaches nobody, and the
// callers queued behind it get theirs.
func TestCommandsCallerLeavesItsCommandInFlight(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 1})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	for i := range 8 {
		require.NoError(t, rc.Set(ctx, fmt.Sprintf("cmd:ctx:%d", i), i, 0).Err())
	}

	// Alone on the idle connection: written at once, its reply a second
	// away.
	sent := p.Stats().Commands()
	slow := leave(t, func(ctx context.Context) error { return rc.Do(ctx, "debug", "sleep", "1").Err() })
	require.Eventually(t, func() bool { return p.Stats().Commands() == sent+1 }, eventually, time.Millisecond)
	behind := make([]chan string, 8)
	for i := range behind {
		behind[i] = make(chan string, 1)
		go func() {
			v, err := rc.Get(ctx, fmt.Sprintf("cmd:ctx:%d", i)).Result()
			if err != nil {
				v = err.Error()
			}
			behind[i] <- v
		}()
	}
	require.Eventually(t, func() bool { return p.Stats().CommandsInFlight() == 9 }, eventually, time.Millisecond)
	slow.cancel()
	slow.returned(t, "a caller whose command is in flight")
	for i, ch := range behind {
		assert.Equal(t, fmt.Sprint(i), recv(t, ch), "a command queued behind it gets its own reply")
	}
	require.Eventually(t, func() bool { return p.Stats().CommandsInFlight() == 0 }, eventually, time.Millisecond)
	requireInStep(t, rc)
}

// Behind a slow command: the callers whose ctx ends return at once, those
// written with them get their own replies, and a command sent while the
// others are in flight is written at once behind them (the connection takes
// the next batch while the replies of the last are on their way), so it
// runs although its caller left.
func TestCommandsCallersLeaveABatchInFlight(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MaxConns: 1})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	for i := range 8 {
		require.NoError(t, rc.Set(ctx, fmt.Sprintf("cmd:batch:%d", i), i, 0).Err())
	}

	// The first command holds the server while the others are written.
	sent := p.Stats().Commands() // each call below writes one more
	first := make(chan error, 1)
	go func() { first <- rc.Do(context.Background(), "debug", "sleep", "0.5").Err() }()
	// It must be written before the others, alone: they wait behind it.
	require.Eventually(t, func() bool { return p.Stats().Commands() == sent+1 }, eventually, time.Millisecond)
	inFlight, calls := 1, uint64(1)
	queue := func(start func()) {
		start()
		inFlight++
		calls++
		require.Eventually(t, func() bool { return p.Stats().CommandsInFlight() == inFlight }, eventually, time.Millisecond)
	}
	slow := make(chan error, 1)
	queue(func() { go func() { slow <- rc.Do(ctx, "debug", "sleep", "1").Err() }() })
	var leavers []*leaving
	gets := make([]chan string, 8)
	for i := range gets {
		if i%3 == 0 {
			queue(func() {
				leavers = append(leavers, leave(t, func(ctx context.Context) error {
					return rc.Incr(ctx, "cmd:batch:left").Err()
				}))
			})
		}
		gets[i] = make(chan string, 1)
		queue(func() {
			callerCtx := ctx
			if i%2 == 0 {
				callerCtx = context.Background() // a ctx that cannot end
			}
			go func() {
				v, err := rc.Get(callerCtx, fmt.Sprintf("cmd:batch:%d", i)).Result()
				if err != nil {
					v = err.Error()
				}
				gets[i] <- v
			}()
		})
	}
	require.NoError(t, recv(t, first))
	// The batch went out with the slow command at its head: the server is
	// asleep, and a ping from the side waits for it.
	require.Eventually(t, func() bool { return asleep(s.Addr()) }, eventually, time.Millisecond)
	for _, l := range leavers {
		l.cancel()
	}
	for _, l := range leavers {
		l.returned(t, "a caller whose command is in a batch in flight")
	}
	// Sent behind the others (the first command is done; those whose
	// callers left still count); its caller leaves first.
	behind := leave(t, func(ctx context.Context) error { return rc.Incr(ctx, "cmd:batch:behind").Err() })
	require.Eventually(t, func() bool { return p.Stats().CommandsInFlight() == inFlight }, eventually, time.Millisecond)
	require.Eventually(t, func() bool { return p.Stats().Commands() == sent+calls+1 }, eventually, time.Millisecond,
		"it is written at once, behind the others")
	behind.cancel()
	behind.returned(t, "a caller whose command is behind the others")

	require.NoError(t, recv(t, slow))
	for i, ch := range gets {
		assert.Equal(t, fmt.Sprint(i), recv(t, ch), "a command of the batch gets its own reply")
	}
	require.Eventually(t, func() bool { return p.Stats().CommandsInFlight() == 0 }, eventually, time.Millisecond)
	n, err := rc.Get(ctx, "cmd:batch:left").Int()
	require.NoError(t, err)
	assert.Equal(t, len(leavers), n, "the commands its callers left in flight ran")
	behindRan, err := rc.Get(ctx, "cmd:batch:behind").Int()
	require.NoError(t, err, "the command sent behind the others ran")
	assert.Equal(t, 1, behindRan)
	requireInStep(t, rc)
}

// A command that reads its reply into the caller's memory cannot leave
// it behind: with a ctx that can end it runs on a lease, as go-redis would
// run it; with one that cannot, in the shared pipeline.
func TestCommandsReadingIntoTheCallersBufferRunOnALeaseWhenTheirCtxCanEnd(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 2})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	require.NoError(t, rc.Set(ctx, "cmd:buf", "0123456789", 0).Err())
	shared := p.Stats().Commands()

	buf := make([]byte, 32)
	n, err := rc.GetToBuffer(ctx, "cmd:buf", buf).Result()
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(buf[:n]))
	assert.Equal(t, shared, p.Stats().Commands(), "not in the shared pipeline")

	clear(buf)
	n, err = rc.GetToBuffer(context.Background(), "cmd:buf", buf).Result()
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(buf[:n]))
	assert.Equal(t, shared+1, p.Stats().Commands(), "a ctx that cannot end: the shared pipeline")
}

// asleep reports whether the server leaves a PING from a connection of
// its own unanswered for 20 ms.
func asleep(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	_, err = c.Read(make([]byte, 16))
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// requireInStep checks that replies still match their commands.
func requireInStep(t *testing.T, rc *redisbackend.Commands) {
	t.Helper()
	ctx := testCtx(t)
	for i := range 20 {
		v := fmt.Sprint(i)
		require.NoError(t, rc.Set(ctx, "cmd:step", v, 0).Err())
		require.Equal(t, v, rc.Get(ctx, "cmd:step").Val(), "replies stay matched to their commands")
	}
}
