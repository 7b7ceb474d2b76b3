package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlagsRejectsWhatCannotRun(t *testing.T) {
	for _, args := range [][]string{{"-duration", "0s"}, {"-hold", "-1s"}, {"extra"}} {
		_, err := parseFlags(args)
		assert.Error(t, err, "%q", args)
	}
	cfg, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Minute, cfg.duration)
	assert.Equal(t, 3*time.Second, cfg.hold)
}

var lastLine = regexp.MustCompile(`^soak: (\d+) ops, (\d+) lost, (\d+) double, (\d+) violations$`)

// TestASoakOfTwentySecondsEndsCleanUnderEveryFault runs the soak as the
// command does, servers, proxies and faults included, for 20 s, and reads
// its last line: operations ran, and nothing was lost, held twice or
// otherwise wrong.
func TestASoakOfTwentySecondsEndsCleanUnderEveryFault(t *testing.T) {
	cfg, err := parseFlags([]string{"-duration", "20s"})
	require.NoError(t, err)
	var out bytes.Buffer
	res, err := run(cfg, &out)
	t.Log("\n" + out.String())
	require.NoError(t, err)

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	m := lastLine.FindStringSubmatch(lines[len(lines)-1])
	require.NotNil(t, m, "last line: %q", lines[len(lines)-1])
	n := func(i int) int {
		v, err := strconv.Atoi(m[i])
		require.NoError(t, err)
		return v
	}
	assert.Greater(t, n(1), 1000, "operations")
	assert.Zero(t, n(2), "leases lost")
	assert.Zero(t, n(3), "connections held twice")
	assert.Zero(t, n(4), "violations")
	assert.True(t, res.clean())
	assert.Contains(t, out.String(), "kill, restart / mariadb", "every fault kind is applied in 20 s")
}
