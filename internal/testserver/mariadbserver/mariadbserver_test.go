package mariadbserver_test

import (
	"context"
	"errors"
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

func TestServersStartedTogetherDoNotClash(t *testing.T) {
	// Test packages run in parallel, each starting its own server: their
	// bootstraps must not share anything (data, sockets, temporary files).
	const n = 6
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs := make(chan error, n)
	for range n {
		go func() {
			s, err := mariadbserver.Start(ctx)
			if err == nil {
				err = s.Admin().PingContext(ctx)
				err = errors.Join(err, s.Stop())
			}
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
}
