package rediscluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/rediscluster"
	"github.com/actorpool/actorpool/internal/testserver/redisclusterserver"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

// testCtx bounds one test's calls.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// open starts a cluster of 3 primaries with a replica each and a Cluster
// on it; when the test ends the Cluster is closed and no goroutine of it
// is left.
func open(t *testing.T, cfg rediscluster.Config) (*rediscluster.Cluster, *redisclusterserver.Cluster) {
	t.Helper()
	return openOn(t, redisclusterserver.Start(t, 3, 1), cfg)
}

// openReplicated is open on a cluster whose replicas are in sync before
// the Cluster reads the slot map, so that it knows them from the start.
func openReplicated(t *testing.T, cfg rediscluster.Config) (*rediscluster.Cluster, *redisclusterserver.Cluster) {
	t.Helper()
	servers := redisclusterserver.Start(t, 3, 1)
	require.NoError(t, servers.AwaitReplicas(testCtx(t, 30*time.Second)))
	return openOn(t, servers, cfg)
}

func openOn(t *testing.T, servers *redisclusterserver.Cluster, cfg rediscluster.Config) (*rediscluster.Cluster, *redisclusterserver.Cluster) {
	t.Helper()
	for _, n := range servers.Nodes {
		n.Observer()
	}
	ignore := []goleak.Option{goleak.IgnoreCurrent(), redisserver.Waiters()}
	cfg.Seeds = servers.Seeds()[:1]
	if cfg.Pool.MaxConns == 0 {
		cfg.Pool = actorpool.Config{MaxConns: 4}
	}
	c, err := rediscluster.Open(testCtx(t, 10*time.Second), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		// A lease a failed test left out is revoked when ctx ends.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, c.Close(ctx))
		goleak.VerifyNone(t, ignore...)
	})
	return c, servers
}
