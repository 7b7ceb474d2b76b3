package budget_test

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/budget"
	"github.com/actorpool/actorpool/internal/pooltest"
)

func TestJoinRefusesABadConfigNoPoolAndAClusterNotStarted(t *testing.T) {
	for _, cfg := range []budget.Config{{Budget: 4}, {Name: "db"}, {Name: "db", Budget: 4, Floor: -1}} {
		_, err := budget.Join(nil, nil, cfg)
		assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "%+v", cfg)
	}
	_, err := budget.Join(nil, nil, budget.Config{Name: "db", Budget: 4})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "no pool")

	p, err := actorpool.New(pooltest.NewSystem(), membackend.New(), actorpool.Config{})
	require.NoError(t, err)
	defer p.Close(context.Background())
	_, err = budget.Join(nil, p, budget.Config{Name: "db", Budget: 4})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "no cluster")
	_, err = budget.Join(&cluster.Cluster{}, p, budget.Config{Name: "db", Budget: 4})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "a cluster not started")
	assert.Equal(t, 10, p.Stats().MaxConns(), "the pool's limits are untouched")
}
