package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInsertsFollowReadOnly(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	t.Log("\n" + out.String())
	assert.Contains(t, out.String(), "db-a (primary): rows 50, Com_insert 50\n  db-b (replica): rows 0, Com_insert 0\n")
	assert.Contains(t, out.String(), "db-a (replica): rows 50, Com_insert 50\n  db-b (primary): rows 50, Com_insert 50\n")
}
