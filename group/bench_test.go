package group_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// BenchmarkWith is the group's hot path, pick included: With on three
// endpoints of 10 connections each over a do-nothing backend, beside
// Pool.With on one pool, in the same run.
func BenchmarkWith(b *testing.B) {
	ctx := context.Background()
	noop := func(*membackend.Conn) error { return nil }
	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("Conns=10/Callers=%d/group", callers), func(b *testing.B) {
			var eps []group.Endpoint[*membackend.Conn]
			for i := range 3 {
				ep, _ := mem(fmt.Sprintf("e%d", i), false)
				ep.Pool = &actorpool.Config{MinConns: 10, MaxConns: 10}
				eps = append(eps, ep)
			}
			g, err := group.New(pooltest.NewSystem(), group.Config{RolesFromConfig: true}, eps...)
			require.NoError(b, err)
			defer g.Close(ctx)
			pooltest.RunCallers(b, callers, func() {
				if err := g.With(ctx, noop); err != nil {
					b.Error(err)
				}
			})
		})
		b.Run(fmt.Sprintf("Conns=10/Callers=%d/pool", callers), func(b *testing.B) {
			p, err := actorpool.New(pooltest.NewSystem(), membackend.New(), actorpool.Config{MinConns: 10, MaxConns: 10})
			require.NoError(b, err)
			defer p.Close(ctx)
			pooltest.RunCallers(b, callers, func() {
				if err := p.With(ctx, noop); err != nil {
					b.Error(err)
				}
			})
		})
	}
}
