package mariadbserver_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
)

var srv *mariadbserver.Server

func TestMain(m *testing.M) { os.Exit(mariadbserver.Run(m, &srv)) }

func TestServerAnswersAndRestartsOnTheSamePort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var version string
	require.NoError(t, srv.Admin().QueryRowContext(ctx, "SELECT VERSION()").Scan(&version))
	assert.Contains(t, version, "MariaDB")
	n, err := srv.SessionCount(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "the user has no session yet")

	port := srv.Port()
	require.NoError(t, srv.Kill())
	require.NoError(t, srv.Restart(ctx))
	assert.Equal(t, port, srv.Port())
	require.NoError(t, srv.Admin().PingContext(ctx))
}
