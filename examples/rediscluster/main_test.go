package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheExampleRoutesKeysAndMovesASlotWithoutAnError(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	t.Log("\n" + out.String())
	assert.Contains(t, out.String(), "key:999 = 999")
	assert.Contains(t, out.String(), "BLPOP on a lease: [jobs job-1]")
	assert.Regexp(t, `under load: [1-9]\d* calls, 0 failed`, out.String())
	assert.Regexp(t, `(?s)(node 127\.0\.0\.1:\d+: [1-9]\d* connections, [1-9]\d* commands in command mode\n.*){3}`, out.String(), "three primaries served")
}
