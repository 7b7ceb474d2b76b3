package redissentinelserver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestASentinelFailoverPromotesTheReplica(t *testing.T) {
	d := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := d.PrimaryAddr(ctx)
	require.NoError(t, err)
	require.Equal(t, d.Primary.Addr(), p)
	require.NoError(t, d.Failover(ctx))
	require.Eventually(t, func() bool {
		p, err := d.PrimaryAddr(ctx)
		return err == nil && p == d.Replica.Addr()
	}, 20*time.Second, 20*time.Millisecond)
}
