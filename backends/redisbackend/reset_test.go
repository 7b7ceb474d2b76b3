package redisbackend_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

func TestResetSelectsTheConfiguredDatabaseAgain(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr(), DB: 2})
	ctx := testCtx(t)
	c := dial(t, b)
	id := clientID(t, c)

	require.NoError(t, c.Do(ctx, "SELECT", 7).Err())
	require.Equal(t, 7, clientByID(t, s, id).DB)
	require.True(t, b.NeedsReset(c))

	require.NoError(t, b.Reset(ctx, c))
	assert.Equal(t, 2, clientByID(t, s, id).DB)
	require.NoError(t, c.Set(ctx, "k", "db2", 0).Err())
	assert.Equal(t, "db2", s.Observer().Do(ctx, "EVAL", "redis.call('SELECT', 2); return redis.call('GET', 'k')", 0).Val())
}

func TestResetDiscardsAnOpenMulti(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	c := dial(t, b)
	id := clientID(t, c)

	require.NoError(t, c.Do(ctx, "MULTI").Err())
	require.Equal(t, "QUEUED", c.Do(ctx, "SET", "k", "queued").Val())
	require.Equal(t, 1, clientByID(t, s, id).Multi)

	require.NoError(t, b.Reset(ctx, c))
	assert.Equal(t, -1, clientByID(t, s, id).Multi, "out of MULTI")
	assert.ErrorIs(t, s.Observer().Get(ctx, "k").Err(), redis.Nil, "the queued SET never ran")
	assert.Equal(t, "OK", c.Set(ctx, "k", "now", 0).Val(), "commands run at once again")
}

func TestResetUnwatchesWatchedKeys(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	c := dial(t, b)

	require.NoError(t, c.Do(ctx, "WATCH", "k").Err())
	require.NoError(t, b.Reset(ctx, c))

	// Were k still watched, this change would make the next holder's
	// transaction fail.
	require.NoError(t, s.Observer().Set(ctx, "k", "changed", 0).Err())
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "k", "next holder", 0)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "next holder", c.Get(ctx, "k").Val())
}

func TestResetRestoresTheClientName(t *testing.T) {
	s := redisserver.Start(t)
	ctx := testCtx(t)

	for _, configured := range []string{"checkout-svc", ""} {
		t.Run("configured "+quote(configured), func(t *testing.T) {
			b := redisbackend.New(redisbackend.Options{Addr: s.Addr(), ClientName: configured})
			c := dial(t, b)
			require.NoError(t, c.Do(ctx, "CLIENT", "SETNAME", "holder-was-here").Err())

			require.NoError(t, b.Reset(ctx, c))
			assert.Equal(t, configured, c.ClientGetName(ctx).Val())
		})
	}
}

func TestResetUndoesEverythingAtOnce(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr(), DB: 1, ClientName: "app"})
	ctx := testCtx(t)
	c := dial(t, b)
	id := clientID(t, c)

	require.NoError(t, c.Do(ctx, "SELECT", 3).Err())
	require.NoError(t, c.Do(ctx, "CLIENT", "SETNAME", "other").Err())
	require.NoError(t, c.Do(ctx, "WATCH", "k").Err())
	require.NoError(t, c.Do(ctx, "MULTI").Err())
	require.Equal(t, "QUEUED", c.Do(ctx, "SELECT", 5).Val())

	require.NoError(t, b.Reset(ctx, c))
	info := clientByID(t, s, id)
	assert.Equal(t, 1, info.DB)
	assert.Equal(t, "app", info.Name)
	assert.Equal(t, -1, info.Multi)
}

func TestResetSendsNothingWhenTheHolderChangedNoSessionState(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	c := dial(t, b)
	id := clientID(t, c)

	// Plain commands, a transaction and a WATCH that go-redis closes
	// itself leave nothing to undo.
	require.NoError(t, c.Set(ctx, "k", "1", 0).Err())
	require.NoError(t, c.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, "k")
			return nil
		})
		return err
	}, "k"))
	require.NoError(t, c.Get(ctx, "k").Err())

	assert.False(t, b.NeedsReset(c), "the pool may skip Reset")
	require.NoError(t, b.Reset(ctx, c))
	assert.Equal(t, "get", clientByID(t, s, id).Cmd, "the last command the server saw is still the holder's")

	// After a reset that did send something, the next clean one sends
	// nothing again.
	require.NoError(t, c.Do(ctx, "SELECT", 0).Err())
	assert.True(t, b.NeedsReset(c))
	require.NoError(t, b.Reset(ctx, c))
	assert.False(t, b.NeedsReset(c))
	require.NoError(t, c.Get(ctx, "k").Err())
	require.NoError(t, b.Reset(ctx, c))
	assert.Equal(t, "get", clientByID(t, s, id).Cmd)
}

func TestResetReportsAConnectionLeftInPubSubForReplacement(t *testing.T) {
	s := redisserver.Start(t)
	ctx := testCtx(t)

	for _, proto := range []int{2, 3} {
		t.Run("RESP"+itoa(int64(proto)), func(t *testing.T) {
			b := redisbackend.New(redisbackend.Options{Addr: s.Addr(), Protocol: proto})
			c := dial(t, b)
			id := clientID(t, c)
			require.NoError(t, c.Do(ctx, "SUBSCRIBE", "news").Err())
			require.Equal(t, "P", clientByID(t, s, id).Flags)

			assert.True(t, b.NeedsReset(c))
			err := b.Reset(ctx, c)
			assert.ErrorIs(t, err, redisbackend.ErrNotResettable)
			assert.ErrorContains(t, err, "SUBSCRIBE")
		})
	}
}

func TestResetReportsCommandsItCannotUndo(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)

	for _, args := range [][]any{
		{"CLIENT", "TRACKING", "on"},
		{"CLIENT", "NO-EVICT", "on"},
		{"HELLO", "2"},
		{"AUTH", "default", "nopass-anyway"},
	} {
		t.Run(args[0].(string)+" "+args[1].(string), func(t *testing.T) {
			c := dial(t, b)
			_ = c.Do(ctx, args...).Err() // refused or not, the session may have changed
			assert.True(t, b.NeedsReset(c))
			assert.ErrorIs(t, b.Reset(ctx, c), redisbackend.ErrNotResettable)
		})
	}
}

func TestResetRefusesAConnectionStillPinnedByTheHolder(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	c := dial(t, b)

	pinned := c.Conn()
	require.NoError(t, pinned.Ping(ctx).Err())
	assert.True(t, b.NeedsReset(c))
	assert.ErrorIs(t, b.Reset(ctx, c), redisbackend.ErrConnInUse)

	require.NoError(t, pinned.Close())
	assert.NoError(t, b.Reset(ctx, c), "once given back, the connection is fine")
	assert.False(t, b.NeedsReset(c))
}

func TestResetAfterTheHolderClosedTheClientFails(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	c := dial(t, b)

	require.NoError(t, c.Close())
	assert.True(t, b.NeedsReset(c))
	assert.ErrorIs(t, b.Reset(ctx, c), redisbackend.ErrConnLost)
	assert.NoError(t, b.Close(c), "closing twice is fine")
	assertClients(t, s, 0)
}
