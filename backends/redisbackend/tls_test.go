package redisbackend_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

func TestTLSConnectionsUseTheGivenConfigAndStayOneClientEach(t *testing.T) {
	const pw = "tls-secret-pw"
	s := redisserver.Start(t, redisserver.WithTLS(), redisserver.WithPassword(pw))
	ctx := testCtx(t)

	opt, err := redisbackend.ParseURL(s.URL())
	require.NoError(t, err)
	require.NotNil(t, opt.TLSConfig, "rediss:// turns TLS on")

	// The URL alone does not trust the test CA: the handshake fails, and
	// the error does not show the password.
	_, err = redisbackend.New(opt).Dial(ctx)
	require.Error(t, err)
	assert.ErrorContains(t, err, "certificate")
	assert.NotContains(t, err.Error(), pw)

	opt.TLSConfig.RootCAs = s.TLSConfig().RootCAs
	b := redisbackend.New(opt)
	c1, c2 := dial(t, b), dial(t, b)
	require.NoError(t, c1.Set(ctx, "k", "v", 0).Err())
	assert.Equal(t, "v", c2.Get(ctx, "k").Val())
	assertClients(t, s, 2)

	s.Kill()
	s.Restart()
	err = c1.Ping(ctx).Err()
	assert.True(t, b.IsFatal(err), "the first command sees the socket closed: %v", err)
	assert.ErrorIs(t, c1.Ping(ctx).Err(), redisbackend.ErrConnLost, "and it is not dialed again")
	assertClients(t, s, 0, "no TLS connection came back by itself")

	skip := redisbackend.NewFromURL(s.URL() + "?skip_verify=true")
	c3 := dial(t, skip)
	assert.NoError(t, c3.Ping(ctx).Err())
	assertClients(t, s, 1)
}
