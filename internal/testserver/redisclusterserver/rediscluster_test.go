package redisclusterserver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAClusterStartsAndASlotMoves(t *testing.T) {
	c := Start(t, 3, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	primaries, err := c.Primaries(ctx)
	require.NoError(t, err)
	require.Len(t, primaries, 3)

	owner, err := c.Owner(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, c.Node(owner).Observer().Set(ctx, "k", "v", 0).Err())
	slot, err := c.Node(owner).Observer().ClusterKeySlot(ctx, "k").Result()
	require.NoError(t, err)
	var to string
	for _, p := range primaries {
		if p != owner {
			to = p
			break
		}
	}
	require.NoError(t, c.MoveSlot(ctx, int(slot), to))
	now, err := c.Owner(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, to, now)
	v, err := c.Node(to).Observer().Get(ctx, "k").Result()
	require.NoError(t, err)
	require.Equal(t, "v", v)
}
