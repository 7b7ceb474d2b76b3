//go:build !race

// This test runs live members of a protoactor cluster. The race detector
// reports data races inside protoactor-go's and grpc's remote and gossip
// code once a member runs (none in this module), so it is left out of
// `go test -race`, as the budget's live tests are (budget/site_test.go);
// the Makefile's test target runs it in a step of its own without it. The
// schedule's tests in schedule_test.go run with -race.

package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/internal/clustertest"
)

var eventLine = regexp.MustCompile(`(?m)^ +\d+\.\d+s  (join|leave|crash|demand) `)

// TestAChurnOfFifteenSecondsNeverExceedsTheBudget runs the churn as the
// command does, on redis-server, for 15 s, and reads its output: a member
// joined, one's demand changed, one left and one crashed, and the server
// never saw more connections than the budget. Seed 40 draws short gaps
// at the start, so the four opening events begin within about 9 s.
func TestAChurnOfFifteenSecondsNeverExceedsTheBudget(t *testing.T) {
	cfg, err := parseFlags([]string{"-duration", "15s", "-seed", "40"})
	require.NoError(t, err)
	var out bytes.Buffer
	res, err := run(cfg, &out)
	t.Log("\n" + out.String())
	require.NoError(t, err)

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Equal(t, res.String(), lines[len(lines)-1], "the last line is the result")
	assert.Greater(t, res.samples, int64(1000), "samples of the server's count")
	assert.LessOrEqual(t, res.most, int64(res.budget), "most connections seen, of the budget")
	assert.Zero(t, res.over, "samples over budget")
	assert.Empty(t, res.failures)
	assert.True(t, res.clean())

	seen := map[string]int{}
	for _, e := range eventLine.FindAllStringSubmatch(out.String(), -1) {
		seen[e[1]]++
	}
	for _, k := range kinds {
		assert.Positive(t, seen[k.String()], "events of kind %s", k)
	}
	assert.Eventually(t, func() bool { return len(clustertest.OwnGoroutines()) == 0 }, 5*time.Second, 20*time.Millisecond,
		"goroutines of this module outlive the members: %v", clustertest.OwnGoroutines())
}
