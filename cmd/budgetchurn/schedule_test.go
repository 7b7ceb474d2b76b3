package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlagsRejectsWhatCannotRun(t *testing.T) {
	for _, args := range [][]string{{"-backend", "postgres"}, {"-budget", "0"}, {"-duration", "0s"}, {"extra"}} {
		_, err := parseFlags(args)
		assert.Error(t, err, "%q", args)
	}
	cfg, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, config{backend: "redis", budget: 12, duration: time.Minute, seed: cfg.seed}, cfg)
	assert.NotZero(t, cfg.seed, "a seed is picked and printed")
}

func TestTheScheduleOpensWithAJoinADemandChangeALeaveAndACrash(t *testing.T) {
	s := newSchedule(1, 12)
	members := startMembers
	var got []kind
	for range opening {
		k := s.next(members)
		got = append(got, k)
		members += delta(k)
	}
	assert.Equal(t, []kind{join, demand, leave, crash}, got)
}

func TestTheScheduleKeepsBetweenOneAndSixMembersAndDrawsEveryKind(t *testing.T) {
	s := newSchedule(7, 12)
	members := startMembers
	seen := map[kind]int{}
	sum := 0 // of the members after each event
	for range 10000 {
		k := s.next(members)
		seen[k]++
		members += delta(k)
		sum += members
		require.GreaterOrEqual(t, members, minMembers)
		require.LessOrEqual(t, members, maxMembers)

		g := s.gap()
		require.GreaterOrEqual(t, g, time.Second)
		require.Less(t, g, 4*time.Second)
		l := s.load()
		require.GreaterOrEqual(t, l, -1)
		require.LessOrEqual(t, l, 36, "at most 3 × the budget")
	}
	for _, k := range kinds {
		assert.Greater(t, seen[k], 1000, "%s", k)
	}
	assert.Greater(t, float64(sum)/10000, 3.0, "members join as often as they go: on average, more than three run")
}

func TestTheSameSeedGivesTheSameSchedule(t *testing.T) {
	a, b := newSchedule(42, 12), newSchedule(42, 12)
	for range 100 {
		require.Equal(t, a.next(3), b.next(3))
		require.Equal(t, a.gap(), b.gap())
		require.Equal(t, a.load(), b.load())
	}
}

// delta is how an event of kind k changes the number of members.
func delta(k kind) int {
	switch k {
	case join:
		return 1
	case leave, crash:
		return -1
	}
	return 0
}
