package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThePickerMovesJobsOffTheSlowWorkerAndAroundAKilledOne(t *testing.T) {
	phases, err := run(io.Discard)
	require.NoError(t, err)
	require.Len(t, phases, 3)
	rr, p2c, killed := phases[0], phases[1], phases[2]
	for _, p := range phases {
		assert.Equal(t, int64(callers*jobsPerCaller), p.jobs, "%s: a job was lost", p.name)
	}
	assert.InDelta(t, 1.0/3, rr.shares["slow-worker"], 0.05, "round-robin gives each worker a third")
	assert.Less(t, p2c.shares["slow-worker"], 0.2, "power of two choices moves jobs off the slow worker")
	assert.Less(t, killed.shares["worker-1"], 0.5, "the killed worker's jobs went elsewhere")
	assert.LessOrEqual(t, killed.retry, int64(4), "at most one job per connection of the killed worker is run again")
}
