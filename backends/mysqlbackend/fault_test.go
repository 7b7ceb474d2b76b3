package mysqlbackend_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKillingOneSessionFailsOnlyThatConnection(t *testing.T) {
	ctx := testCtx(t)
	b, logs := newBackend(t)
	victim, bystander := dial(t, b), dial(t, b)

	require.NoError(t, srv.KillSession(ctx, int64(victim.ID())))

	err := b.Ping(ctx, victim)
	require.Error(t, err)
	t.Logf("ping after KILL: %v", err)
	assert.True(t, b.IsFatal(err), "%v", err)
	assert.Error(t, b.Reset(ctx, victim))
	_, err = victim.ExecContext(ctx, "SELECT 1")
	assert.True(t, b.IsFatal(err), "%v", err)

	require.NoError(t, b.Ping(ctx, bystander))
	require.NoError(t, b.Reset(ctx, bystander))
	assert.NotContains(t, logs.String(), srv.Password())
}

func TestAKilledServerGivesFatalErrorsAndNoHiddenReconnectAfterItReturns(t *testing.T) {
	ctx := testCtx(t)
	b, logs := newBackend(t)
	settledSessions(t)
	idle, busy := dial(t, b), dial(t, b)
	before := sessions(t)

	require.NoError(t, srv.Kill())
	t.Cleanup(func() {
		// Leave the shared server running for the next test.
		if err := srv.Restart(testCtx(t)); err != nil && err.Error() != "mariadbserver: restart: server is running" {
			t.Errorf("restart: %v", err)
		}
	})

	_, err := busy.ExecContext(ctx, "SELECT 1")
	require.Error(t, err)
	t.Logf("query on a killed server: %v", err)
	assert.True(t, b.IsFatal(err), "query on a dead server: %v", err)
	err = b.Ping(ctx, idle)
	require.Error(t, err)
	assert.True(t, b.IsFatal(err), "ping on a dead server: %v", err)
	_, err = b.Dial(ctx)
	require.Error(t, err)
	assert.True(t, b.IsFatal(err), "dial to a dead server: %v", err)

	require.NoError(t, srv.Restart(ctx))
	assert.Zero(t, sessions(t), "a restarted server has no session of ours")

	// The old connections stay dead: database/sql may not re-dial for them.
	_, err = busy.ExecContext(ctx, "SELECT 1")
	assert.True(t, b.IsFatal(err), "%v", err)
	_, err = idle.ExecContext(ctx, "SELECT 1")
	assert.True(t, b.IsFatal(err), "%v", err)
	assert.Error(t, b.Ping(ctx, idle))
	assert.Error(t, b.Reset(ctx, busy))
	assert.Zero(t, sessions(t))

	// A new Dial is how a connection comes back.
	fresh := dial(t, b)
	require.NoError(t, b.Ping(ctx, fresh))
	assert.Equal(t, 1, sessions(t))
	assert.Equal(t, 2, before)
	assert.NotContains(t, logs.String(), srv.Password())
	require.NoError(t, b.Close(idle))
	require.NoError(t, b.Close(busy))
}
