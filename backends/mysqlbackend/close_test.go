package mysqlbackend_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
)

// serving reports whether a process-list row with this COMMAND is a
// session the server still serves. MariaDB ends a session (rolls it back,
// frees it from MAX_USER_CONNECTIONS) and closes its socket before its
// thread leaves the process list: for that moment the row shows Killed, or
// Busy while the thread holds its own lock.
func serving(command string) bool { return command != "Killed" && command != "Busy" }

// served reports whether s still serves the session id.
func served(t *testing.T, s *mariadbserver.Server, id uint64) bool {
	t.Helper()
	var command string
	err := s.Admin().QueryRowContext(testCtx(t),
		"SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = ?", id).Scan(&command)
	if errors.Is(err, sql.ErrNoRows) {
		return false
	}
	require.NoError(t, err)
	return serving(command)
}

// When Close returns, the server has ended the session, over TCP, a unix
// socket and TLS alike: a session dialed next never meets it.
func TestCloseReturnsOnceTheServerHasEndedTheSession(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server func(t *testing.T) *mariadbserver.Server
		config func(s *mariadbserver.Server, cfg *mysql.Config)
	}{
		{"tcp", sharedServer, func(*mariadbserver.Server, *mysql.Config) {}},
		{"unix socket", sharedServer, func(s *mariadbserver.Server, cfg *mysql.Config) {
			cfg.Net, cfg.Addr = "unix", s.Socket()
		}},
		{"tls", tlsServer, func(s *mariadbserver.Server, cfg *mysql.Config) { cfg.TLS = s.TLSConfig() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.server(t)
			cfg, err := mysql.ParseDSN(s.DSN())
			require.NoError(t, err)
			tc.config(s, cfg)
			b := mysqlbackend.New(mysqlbackend.Options{Config: cfg})
			require.NoError(t, b.Validate())
			for range 20 {
				c, err := b.Dial(testCtx(t))
				require.NoError(t, err)
				require.NoError(t, b.Ping(testCtx(t), c))
				require.True(t, served(t, s, c.ID()))
				require.NoError(t, b.Close(c))
				require.False(t, served(t, s, c.ID()), "session %d is still served after Close", c.ID())
			}
		})
	}
}

func sharedServer(*testing.T) *mariadbserver.Server { return srv }

func TestClosingASessionTheServerKilledReturnsAtOnce(t *testing.T) {
	b, _ := newBackend(t)
	c, err := b.Dial(testCtx(t))
	require.NoError(t, err)
	require.NoError(t, srv.KillSession(testCtx(t), int64(c.ID())))
	start := time.Now()
	require.NoError(t, b.Close(c))
	assert.Less(t, time.Since(start), 500*time.Millisecond)
}

// A server that does not answer holds Close for a second at most.
func TestCloseWaitsASecondAtMostForAServerThatDoesNotAnswer(t *testing.T) {
	b, _ := newBackend(t)
	c, err := b.Dial(testCtx(t))
	require.NoError(t, err)
	require.NoError(t, srv.Pause())
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			assert.NoError(t, srv.Resume())
		}
	})
	start := time.Now()
	require.NoError(t, b.Close(c))
	took := time.Since(start)
	resumed = true
	require.NoError(t, srv.Resume())
	t.Logf("Close took %v", took)
	assert.GreaterOrEqual(t, took, 900*time.Millisecond)
	assert.Less(t, took, 3*time.Second)
}

// noCloseWrite hides the CloseWrite of the connection it wraps.
type noCloseWrite struct{ net.Conn }

// A Config's own DialFunc dials every session; a connection it returns
// without CloseWrite is closed without waiting for the server.
func TestTheConfigsDialFuncDialsEverySession(t *testing.T) {
	cfg, err := mysql.ParseDSN(srv.DSN())
	require.NoError(t, err)
	var dials atomic.Int32
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return noCloseWrite{nc}, nil
	}
	b := mysqlbackend.New(mysqlbackend.Options{Config: cfg})
	for range 2 {
		c, err := b.Dial(testCtx(t))
		require.NoError(t, err)
		require.NoError(t, b.Ping(testCtx(t), c))
		require.NoError(t, b.Close(c))
	}
	assert.Equal(t, int32(2), dials.Load())
	assert.Eventually(t, sessionsAre(0), eventually, 10*time.Millisecond)
}
