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

// uncomparablePool is a Pool that == cannot tell apart from another.
type uncomparablePool struct{ _ []int }

func (uncomparablePool) Stats() actorpool.Stats                    { return actorpool.Stats{} }
func (uncomparablePool) SetLimits(context.Context, int, int) error { return nil }

func TestJoinRefusesABadConfigNoPoolAndAClusterNotStarted(t *testing.T) {
	p, err := actorpool.New(pooltest.NewSystem(), membackend.New(), actorpool.Config{})
	require.NoError(t, err)
	defer p.Close(context.Background())
	for field, cfg := range map[string]budget.Config{"Name": {Budget: 4}, "Budget": {Name: "db"}, "Floor": {Name: "db", Budget: 4, Floor: -1}} {
		_, err := budget.Join(&cluster.Cluster{}, p, cfg)
		assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "%+v", cfg)
		assert.ErrorContains(t, err, field, "the error names the field")
	}
	_, err = budget.Join(nil, nil, budget.Config{Name: "db", Budget: 4})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "no pool")
	_, err = budget.Join(&cluster.Cluster{}, (*actorpool.Pool[*membackend.Conn])(nil), budget.Config{Name: "db", Budget: 4})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "a nil *actorpool.Pool")
	assert.ErrorContains(t, err, "nil *actorpool.Pool")
	_, err = budget.Join(&cluster.Cluster{}, uncomparablePool{}, budget.Config{Name: "db", Budget: 4})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "a pool that cannot be compared")
	assert.ErrorContains(t, err, "cannot be compared")
	_, err = budget.Join(nil, p, budget.Config{Name: "db", Budget: 4})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "no cluster")
	_, err = budget.Join(&cluster.Cluster{}, p, budget.Config{Name: "db", Budget: 4})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "a cluster not started")
	assert.Equal(t, 10, p.Stats().MaxConns(), "the pool's limits are untouched")
}
