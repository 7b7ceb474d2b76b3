package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlagsRejectsWhatCannotRun(t *testing.T) {
	for _, args := range [][]string{
		{"-rounds", "2"},
		{"-duration", "0s"},
		{"-conns", "0"},
		{"-callers", "1,x"},
		{"-callers", "0"},
		{"-workloads", "w3"},
		{"-pools", "hikari"},
		{"extra"},
	} {
		_, err := parseFlags(args)
		assert.Error(t, err, "%q", args)
	}
	cfg, err := parseFlags([]string{"-workloads", "w2", "-callers", "1,64", "-pools", "actorpool"})
	require.NoError(t, err)
	assert.True(t, cfg.has("w2"))
	assert.False(t, cfg.has("w1"))
	assert.True(t, cfg.runs("actorpool"))
	assert.False(t, cfg.runs("peer"))
}

// TestW1AndW2RunAgainstRealServersAndReport runs the bench command's W1
// and W2 briefly, servers and all, and checks the report it writes: every
// case has both pools, no errors, and a ratio.
func TestW1AndW2RunAgainstRealServersAndReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.md")
	cfg, err := parseFlags([]string{"-workloads", "w1,w2", "-callers", "1,10", "-duration", "100ms", "-out", out, "-inprocess"})
	require.NoError(t, err)
	require.NoError(t, run(cfg))
	text, err := os.ReadFile(out)
	require.NoError(t, err)

	cases := map[string]int{}
	for line := range strings.SplitSeq(string(text), "\n") {
		if !strings.HasPrefix(line, "| W") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		require.Len(t, cols, 9, line)
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		assert.Equal(t, "0", cols[6], "errors in %s", line)
		if cols[2] == "actorpool" {
			assert.Regexp(t, `^\d+\.\d\d \(\d+\.\d\d–\d+\.\d\d\)$`, cols[7], "ratio in %s", line)
			assert.Regexp(t, `^wait p50 \S+ p99 \S+; held p50 \S+ p99 \S+$`, cols[8], "lease split in %s", line)
		} else {
			assert.Empty(t, cols[8], "the peer's wait is inside the client: no split in %s", line)
		}
		cases[cols[0]+" @"+cols[1]]++
	}
	for _, w := range []string{"W1 Redis GET", "W1 Redis SET", "W2 MySQL SELECT 1", "W2 MySQL point select"} {
		for _, c := range []string{"1", "10"} {
			assert.Equal(t, 2, cases[w+" @"+c], "rows of %s at %s callers (actorpool and peer)", w, c)
		}
	}
}

// W1 in its default way, each round of each side in a child process: the
// children's figures, actorpool's lease split included, reach the report.
func TestW1RunsEachSideInAChildProcess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.md")
	cfg, err := parseFlags([]string{"-workloads", "w1", "-callers", "4", "-duration", "100ms", "-out", out})
	require.NoError(t, err)
	require.NoError(t, run(cfg))
	text, err := os.ReadFile(out)
	require.NoError(t, err)
	rows := 0
	for line := range strings.SplitSeq(string(text), "\n") {
		if !strings.HasPrefix(line, "| W1") {
			continue
		}
		rows++
		cols := strings.Split(strings.Trim(line, "|"), "|")
		require.Len(t, cols, 9, line)
		assert.Equal(t, "0", strings.TrimSpace(cols[6]), "errors in %s", line)
		if strings.TrimSpace(cols[2]) == "actorpool" {
			assert.Regexp(t, `^wait p50 \S+ p99 \S+; held p50 \S+ p99 \S+$`, strings.TrimSpace(cols[8]), "lease split in %s", line)
		}
	}
	assert.Equal(t, 4, rows, "GET and SET, actorpool and go-redis")
}

// TestW6RunsAgainstARealServerAndReports runs W6 briefly, its clients in
// this process, and checks its table: every pool of every case, no errors,
// actorpool-cmd's ratios to the others and its mean batch; and the charts
// -plot draws. (TestW6RunsEachClientInAChildProcess runs the default way.)
func TestW6RunsAgainstARealServerAndReports(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report.md")
	cfg, err := parseFlags([]string{"-workloads", "w6", "-callers", "1,16", "-duration", "100ms",
		"-out", out, "-plot", filepath.Join(dir, "plots"), "-inprocess"})
	require.NoError(t, err)
	require.NoError(t, run(cfg))
	pools := w6Pools
	if hasRedisBenchmark() {
		pools = append(pools[:len(pools):len(pools)], limitPool)
	}
	text, err := os.ReadFile(out)
	require.NoError(t, err)
	rows := map[string]int{}
	for line := range strings.SplitSeq(string(text), "\n") {
		if !strings.HasPrefix(line, "| W6") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		require.Len(t, cols, 7+len(pools), line)
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		assert.Equal(t, "0", cols[6], "errors in %s", line)
		if cols[2] == "actorpool-cmd" {
			for _, c := range cols[7 : 6+len(pools)] {
				assert.Regexp(t, `^\d+\.\d\d \(\d+\.\d\d–\d+\.\d\d\)$`, c, "ratio in %s", line)
			}
			assert.Regexp(t, `^batch \d+\.\d .*; connections \d+ `, cols[6+len(pools)], "notes in %s", line)
		}
		rows[cols[0]+" @"+cols[1]]++
	}
	for _, w := range []string{"W6 Redis GET", "W6 Redis SET"} {
		for _, c := range []string{"1", "16"} {
			assert.Equal(t, len(pools), rows[w+" @"+c], "rows of %s at %s callers", w, c)
		}
		svg, err := os.ReadFile(filepath.Join(dir, "plots", strings.ToLower(strings.ReplaceAll(w, " ", "-"))+".svg"))
		require.NoError(t, err)
		for _, p := range w6Pools {
			assert.Contains(t, string(svg), p, "the chart's legend names %s", p)
		}
	}
}

// W6 in its default way, each round of each client in a child process:
// every client's row, and actorpool-cmd's notes from its child.
func TestW6RunsEachClientInAChildProcess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.md")
	cfg, err := parseFlags([]string{"-workloads", "w6", "-callers", "16", "-duration", "100ms", "-out", out})
	require.NoError(t, err)
	require.NoError(t, run(cfg))
	text, err := os.ReadFile(out)
	require.NoError(t, err)
	seen := map[string]bool{}
	for line := range strings.SplitSeq(string(text), "\n") {
		if !strings.HasPrefix(line, "| W6 Redis GET") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		pool := strings.TrimSpace(cols[2])
		seen[pool] = true
		assert.Equal(t, "0", strings.TrimSpace(cols[6]), "errors in %s", line)
		if pool == "actorpool-cmd" {
			assert.Regexp(t, `^batch \d+\.\d .*; connections \d+ `, strings.TrimSpace(cols[len(cols)-1]), "notes in %s", line)
		}
	}
	for _, p := range w6Pools {
		assert.True(t, seen[p], "a row for %s", p)
	}
}

// A child asked for a round it cannot run says why in its result, and the
// W6 clients refuse a name they do not know.
func TestAChildSaysWhyItCannotRun(t *testing.T) {
	var res childResult
	require.Error(t, runChildRound(childSpec{Workload: "w1"}, &res))
	e := &env{cfg: config{conns: 1}}
	w, err := newW6Clients(context.Background(), e, "127.0.0.1:1", []string{"nobody"})
	w.close()
	require.ErrorContains(t, err, `no pool "nobody"`)
}

// TestMain lets the test binary serve as W6's child process too, as the
// poolbench binary does: runChild runs os.Executable() with -child.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "-child" {
		os.Exit(childMain(os.Args[2]))
	}
	os.Exit(m.Run())
}

// W7 in its default way, each round of each row in a child process: every
// row reaches the report with its figures and each endpoint's share, and a
// power-of-two picker sends the slow endpoint less than its third.
func TestW7RunsEachRowInAChildProcess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.md")
	cfg, err := parseFlags([]string{"-workloads", "w7", "-duration", "200ms", "-out", out})
	require.NoError(t, err)
	require.NoError(t, run(cfg))
	rows := reportRows(t, out, "| W7", 9)
	for _, pool := range w7Pools {
		require.Contains(t, rows, "W7 Redis GET "+pool)
	}
	p2c := rows["W7 Redis GET actorpool-p2c"]
	assert.Regexp(t, `^\d+% / \d+% / \d+%$`, p2c[8])
	shares := strings.Split(p2c[8], " / ")
	slow, err := strconv.Atoi(strings.TrimSuffix(shares[2], "%"))
	require.NoError(t, err)
	assert.Less(t, slow, 33, "p2c sends the slow endpoint less than a third")
}

// W10 starts its own Redis Cluster and runs every client in a child
// process: each row reaches the report with no error, and the first has
// its ratio to each other.
func TestW10RunsAgainstAClusterItStarts(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.md")
	cfg, err := parseFlags([]string{"-workloads", "w10", "-callers", "8", "-duration", "100ms", "-out", out})
	require.NoError(t, err)
	require.NoError(t, run(cfg))
	rows := reportRows(t, out, "| W10", 11)
	for _, op := range []string{"GET", "SET"} {
		for _, pool := range w10Pools {
			require.Contains(t, rows, "W10 Redis Cluster "+op+" "+pool)
		}
		first := rows["W10 Redis Cluster "+op+" "+w10Pools[0]]
		for i := 7; i < 10; i++ {
			assert.Regexp(t, `^\d+\.\d\d \(\d+\.\d\d–\d+\.\d\d\)$`, first[i])
		}
	}
}

// reportRows reads the report at path and returns its table rows that
// start with prefix, by workload and pool, each with want columns,
// trimmed; every row must show no error.
func reportRows(t *testing.T, path, prefix string, want int) map[string][]string {
	t.Helper()
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	rows := map[string][]string{}
	for line := range strings.SplitSeq(string(text), "\n") {
		if !strings.HasPrefix(line, prefix+" ") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		require.Len(t, cols, want, line)
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		assert.Equal(t, "0", cols[6], "errors in %s", line)
		rows[cols[0]+" "+cols[2]] = cols
	}
	return rows
}
