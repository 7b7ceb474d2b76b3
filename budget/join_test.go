package budget_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/budget"
)

func TestJoinRefusesABadConfigNoPoolAndAClusterNotStarted(t *testing.T) {
	for _, cfg := range []budget.Config{{Budget: 4}, {Name: "db"}, {Name: "db", Budget: 4, Floor: -1}} {
		_, err := budget.Join(nil, nil, cfg)
		assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "%+v", cfg)
	}
	_, err := budget.Join(nil, nil, budget.Config{Name: "db", Budget: 4})
	assert.ErrorIs(t, err, actorpool.ErrInvalidConfig, "no pool")
}
