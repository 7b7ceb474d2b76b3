package redisbackend_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

var errMarked = errors.New("the test marks this lease broken")

// A pool that replaces connections all the time never shows the server
// more clients than MaxConns: a replacement is dialled only once the
// server let go of the connection it replaces, whether the lease was
// marked broken or the connection reached its lifetime.
func TestReplacementsNeverTakeTheServerAboveMaxConns(t *testing.T) {
	const maxConns = 4
	for _, tc := range []struct {
		name string
		cfg  actorpool.Config
		fail func(n int64) bool
	}{
		{"every third lease broken", actorpool.Config{MaxConns: maxConns}, func(n int64) bool { return n%3 == 0 }},
		{"short lifetime", actorpool.Config{MaxConns: maxConns, MaxLifetime: 20 * time.Millisecond}, func(int64) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s := newPool(t, tc.cfg)
			ctx, stop := context.WithTimeout(context.Background(), 2*time.Second)
			defer stop()
			var n atomic.Int64
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for ctx.Err() == nil {
						_ = p.With(ctx, func(c *redisbackend.Conn) error {
							if err := c.Ping(ctx).Err(); err != nil {
								return err
							}
							if tc.fail(n.Add(1)) {
								return redisbackend.ErrConnLost // fatal: the lease is marked broken
							}
							return nil
						})
					}
				})
			}
			most := 0
			for ctx.Err() == nil {
				if c := serverClients(s); c > most {
					most = c
				}
			}
			wg.Wait()
			st := p.Stats()
			t.Logf("%d leases, %d restarts, %d retired for lifetime; the server saw at most %d clients",
				n.Load(), st.Restarts(), st.RetiredLifetime(), most)
			require.Greater(t, st.Restarts()+st.RetiredLifetime(), uint64(20), "connections were replaced")
			assert.LessOrEqual(t, most, maxConns, "the server saw more clients than MaxConns")
		})
	}
}
