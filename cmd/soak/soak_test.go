package main

import (
	"bytes"
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
	assert.Equal(t, res.String(), lines[len(lines)-1], "the last line is the result")
	assert.Greater(t, res.ops, int64(1000), "operations")
	assert.Zero(t, res.lost, "leases lost")
	assert.Zero(t, res.double, "connections held twice")
	assert.Zero(t, res.violations, "violations")
	assert.True(t, res.clean())
	assert.Contains(t, out.String(), "kill, restart / mariadb", "every fault kind is applied in 20 s")
}
