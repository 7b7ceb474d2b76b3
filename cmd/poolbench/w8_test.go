//go:build !race

// W8 runs live members of a protoactor cluster, in whose remote and gossip
// code (protoactor-go, grpc) the race detector reports races, none in this
// module: the README's test command runs this file in its step without
// -race.

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestW8RunsAgainstARealServerAndReports runs W8 for three short rounds and
// checks its tables: both rows without errors and with a ratio, every
// budget event timed, and no sample of the server above the limit.
func TestW8RunsAgainstARealServerAndReports(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.md")
	cfg, err := parseFlags([]string{"-workloads", "w8", "-duration", "300ms", "-out", out})
	require.NoError(t, err)
	require.NoError(t, run(cfg))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	text := string(b)
	rows := 0
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, "| W8") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		require.Len(t, cols, 8, line)
		assert.Equal(t, "0", strings.TrimSpace(cols[6]), "errors in %s", line)
		if strings.TrimSpace(cols[2]) == "actorpool-budget" {
			assert.Regexp(t, `^\d+\.\d\d \(`, strings.TrimSpace(cols[7]), "ratio in %s", line)
		}
		rows++
	}
	assert.Equal(t, len(w8Pools), rows)
	events := regexp.MustCompile(`(?m)^\| (load starts|load stops|a fifth|it leaves)[^|]*\| \d`).FindAllString(text, -1)
	assert.Len(t, events, 5, "every budget event has a time:\n%s", text)
	assert.Regexp(t, `at most \d+, 0 samples above`, text)
}
