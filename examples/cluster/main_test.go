//go:build !race

// This test runs live members of a protoactor cluster. The race detector
// reports data races inside protoactor-go's and grpc's remote and gossip
// code once a member runs (none in this module), so it is left out of
// `go test -race`; the Makefile runs it in a step of its own without it.

package main

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// report is one printed line: the phase, each member's limit, share and
// agreement, and the server's count.
type report struct {
	phase          string
	limits, shares []int
	agreed         []bool
	server, peak   int
}

var (
	reportLine  = regexp.MustCompile(`(?m)^t=\d+s +(\w+) +(.*)\| server +(\d+)/12, peak +(\d+)$`)
	memberField = regexp.MustCompile(`m\d limit +(\d+) share +(\d+) (agreed|waiting) +open +\d+`)
)

func parse(t *testing.T, out string) []report {
	var rs []report
	for _, l := range reportLine.FindAllStringSubmatch(out, -1) {
		r := report{phase: l[1], server: atoi(t, l[3]), peak: atoi(t, l[4])}
		for _, m := range memberField.FindAllStringSubmatch(l[2], -1) {
			r.limits = append(r.limits, atoi(t, m[1]))
			r.shares = append(r.shares, atoi(t, m[2]))
			r.agreed = append(r.agreed, m[3] == "agreed")
		}
		require.Len(t, r.limits, members, "a line for every member: %q", l[0])
		rs = append(rs, r)
	}
	return rs
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

func TestTheBudgetFollowsTheLoadToTheBusyMemberAndBackWhileTheServerStaysWithinIt(t *testing.T) {
	t.Setenv("REDIS_URL", "") // the in-process Redis, whose clients are all ours
	var out bytes.Buffer
	require.NoError(t, run(&out))
	t.Log("\n" + out.String())

	rs := parse(t, out.String())
	require.Len(t, rs, int((idleFor + loadFor + quietFor).Seconds()), "a line every second")
	most := 0
	for i, r := range rs {
		assert.LessOrEqual(t, r.peak, size, "line %d: the server saw more than the budget", i+1)
		assert.LessOrEqual(t, r.server, r.peak, "line %d", i+1)
		if r.phase == "load" {
			most = max(most, r.limits[0])
		}
	}
	// The others keep their floor of one each.
	assert.Equal(t, size-2, most, "the loaded member's limit under load")

	even := []int{size / 3, size / 3, size / 3}
	lastIdle, last := rs[int(idleFor.Seconds())-1], rs[len(rs)-1]
	require.Equal(t, "idle", lastIdle.phase)
	assert.Equal(t, even, lastIdle.limits, "while all are idle the budget is split evenly")
	require.Equal(t, "quiet", last.phase)
	assert.Equal(t, even, last.limits, "after the load the split goes back")
	assert.Equal(t, []bool{true, true, true}, last.agreed)
	assert.LessOrEqual(t, last.server, size/3, "the loaded member closed what it no longer may hold")
}
