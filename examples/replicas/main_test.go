package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWritesGoToThePrimaryReadsToReplicasAndFollowASwitchOver(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	t.Log("\n" + out.String())
	assert.Contains(t, out.String(), "primary    SET 100  EXISTS   0  READONLY 0")
	assert.Regexp(t, `replica-1  SET   —  EXISTS +[1-9]\d*  READONLY 0`, out.String())
	assert.Regexp(t, `replica-2  SET   —  EXISTS +[1-9]\d*  READONLY 0`, out.String())
	assert.Contains(t, out.String(), "every acknowledged write is on the new primary: true")
	assert.Regexp(t, `replica-1  primary\n  replica-2  replica\n`, out.String())
}
