package redisserver_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func splitLines(s string) []string { return strings.Split(strings.ReplaceAll(s, "\r", ""), "\n") }

func cutPrefix(s, prefix string) (string, bool) { return strings.CutPrefix(s, prefix) }

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	require.NoError(t, err)
	return n
}
