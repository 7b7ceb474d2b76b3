package redisbackend_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// BenchmarkCommandPath is a GET of 16 bytes by 1, 10, 64 and 256 caller
// goroutines (b.N commands in all), through command mode (actorpool-cmd, MaxConns 10) and
// through go-redis's AutoPipeline (go-redis-auto, PoolSize 10), for ns and
// allocations per command side by side. actorpool-cmd-ctx is command mode
// with a ctx that can end (its commands can be abandoned in flight), as a
// request's would be. cmd/poolbench's w6 is the fuller comparison.
func BenchmarkCommandPath(b *testing.B) {
	s := redisserver.Start(b)
	ctx := context.Background()
	sys := pooltest.NewSystem()
	p, err := actorpool.New(sys, redisbackend.New(redisbackend.Options{Addr: s.Addr()}), actorpool.Config{MaxConns: 10})
	require.NoError(b, err)
	b.Cleanup(func() { _ = p.Close(ctx) })
	rc := redisbackend.NewCommands(p)

	peer := redis.NewClient(&redis.Options{Addr: s.Addr(), PoolSize: 10,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	b.Cleanup(func() { _ = peer.Close() })
	auto, err := peer.AutoPipeline()
	require.NoError(b, err)
	require.NoError(b, peer.Set(ctx, "k", "0123456789abcdef", 0).Err())
	cancellable, cancel := context.WithCancel(ctx)
	b.Cleanup(cancel)
	getCtx := func(_ context.Context, key string) *redis.StringCmd { return rc.Get(cancellable, key) }

	for _, callers := range []int{1, 10, 64, 256} {
		for _, side := range []struct {
			name string
			get  func(ctx context.Context, key string) *redis.StringCmd
		}{{"actorpool-cmd", rc.Get}, {"actorpool-cmd-ctx", getCtx}, {"go-redis-auto", auto.Get}} {
			b.Run(fmt.Sprintf("%s/callers=%d", side.name, callers), func(b *testing.B) {
				b.ReportAllocs()
				var next atomic.Int64
				var wg sync.WaitGroup
				for range callers {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							if err := side.get(ctx, "k").Err(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
			})
		}
	}
}
