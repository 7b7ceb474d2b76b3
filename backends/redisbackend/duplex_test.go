package redisbackend_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

// binary is an argument go-redis writes through encoding.BinaryMarshaler.
type binary struct{ a, b byte }

func (v binary) MarshalBinary() ([]byte, error) { return []byte{'<', v.a, v.b, '>'}, nil }

// failing is a BinaryMarshaler that fails.
type failing struct{}

func (failing) MarshalBinary() ([]byte, error) { return nil, fmt.Errorf("failing: no bytes") }

// Command mode writes its batches itself: every kind of argument go-redis
// writes reaches the server as go-redis would write it (ECHO shows what
// the server read), and one it cannot write fails alike, while the
// commands written with it in the batch run.
func TestCommandModeWritesArgumentsAsGoRedisDoes(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 2})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	when := time.Date(2026, 12, 7, 11, 30, 0, 123456789, time.FixedZone("x", 3600))
	str, i, u8, f32, yes, dur := "ptr", 42, uint8(7), float32(0.5), true, 1500*time.Millisecond
	args := []any{
		"text", "", []byte{0, 1, 2, 255}, nil,
		-5, int8(-8), int16(-16), int32(-32), int64(math.MinInt64),
		uint(5), uint8(8), uint16(16), uint32(32), uint64(math.MaxUint64), uintptr(99),
		float32(1.25), 3.25e-7, math.Inf(1), math.NaN(), true, false,
		when, &when, (*time.Time)(nil), dur, &dur, (*time.Duration)(nil),
		&str, &i, &u8, &f32, &yes, (*string)(nil), (*int)(nil), (*bool)(nil), (*float64)(nil),
		net.ParseIP("10.1.2.3"), binary{'a', 'b'},
		struct{}{}, failing{}, &[]byte{1}, map[string]int{},
	}
	for _, arg := range args {
		name := fmt.Sprintf("%T(%v)", arg, arg)
		var want string
		var wantErr error
		require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
			want, wantErr = c.Do(ctx, "echo", arg).Text()
			return nil
		}), name)
		got, err := rc.Do(ctx, "echo", arg).Text()
		if wantErr != nil {
			require.Error(t, err, name)
			assert.Equal(t, wantErr.Error(), err.Error(), name)
			continue
		}
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}

	// In a pipeline, a command that cannot be written fails the pipeline,
	// as on a lease; the other callers' commands of the batch run.
	pipeline := func(pipe redis.Pipeliner) error {
		pipe.Echo(ctx, "before")
		pipe.Echo(ctx, struct{}{})
		pipe.Echo(ctx, "after")
		return nil
	}
	var onLease []redis.Cmder
	require.NoError(t, p.With(ctx, func(c *redisbackend.Conn) error {
		onLease, _ = c.Pipelined(ctx, pipeline)
		return nil
	}))
	other := make(chan error, 1)
	go func() { other <- rc.Echo(ctx, "beside").Err() }()
	cmds, err := rc.Pipelined(ctx, pipeline)
	require.Error(t, err)
	require.Len(t, cmds, len(onLease))
	for i, cmd := range cmds {
		require.Error(t, onLease[i].Err())
		assert.Equal(t, onLease[i].Err().Error(), cmd.Err().Error(), "command %d of the pipeline", i)
	}
	assert.NoError(t, recv(t, other))
	requireInStep(t, rc)
}

// cacher is a hook of Options.Hooks that answers ECHO "skip" itself, with
// no error and without passing the command (or its pipeline) on, as a
// cache in a hook would.
type cacher struct{}

func skips(cmd redis.Cmder) bool {
	return cmd.Name() == "echo" && len(cmd.Args()) == 2 && cmd.Args()[1] == "skip"
}

func (cacher) DialHook(next redis.DialHook) redis.DialHook { return next }

func (cacher) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if skips(cmd) {
			cmd.(*redis.StringCmd).SetVal("cached")
			return nil
		}
		return next(ctx, cmd)
	}
}

func (cacher) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if skips(cmd) {
				cmd.(*redis.StringCmd).SetVal("cached")
				return nil
			}
		}
		return next(ctx, cmds)
	}
}

// Command mode writes a batch before the hooks of Options.Hooks run around
// the reading of its replies: a hook that keeps a batch from go-redis, even
// without an error, leaves its replies unread, so the connection is closed
// and replaced, and no caller ever gets another caller's reply.
func TestAHookThatSkipsABatchCostsTheConnectionNotTheReplies(t *testing.T) {
	p, _ := newPoolWith(t, actorpool.Config{MaxConns: 2}, func(o *redisbackend.Options) {
		o.Hooks = []redis.Hook{cacher{}}
	})
	rc := redisbackend.NewCommands(p)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	var wrong, failed atomic.Int64
	for c := range 8 {
		wg.Go(func() {
			for i := range 300 {
				want := fmt.Sprintf("c%d-%d", c, i)
				got, err := rc.Echo(ctx, want).Result()
				switch {
				case err != nil:
					failed.Add(1)
				case got != want:
					wrong.Add(1)
				}
			}
		})
	}
	for range 3 {
		_ = rc.Echo(ctx, "skip").Err() // its batch fails with its connection, or it is cached
	}
	wg.Wait()
	assert.Zero(t, wrong.Load(), "replies that were another command's")
	assert.GreaterOrEqual(t, p.Stats().Restarts(), uint64(1), "the connection whose replies were left unread is replaced")
	t.Logf("%d of %d calls beside the skipped ones failed with their connection", failed.Load(), 8*300)
	got, err := rc.Echo(ctx, "after").Result()
	require.NoError(t, err)
	assert.Equal(t, "after", got)
}
