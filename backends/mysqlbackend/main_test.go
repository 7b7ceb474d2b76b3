package mysqlbackend_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
)

// srv is the MariaDB server shared by every test of the package.
var srv *mariadbserver.Server

func TestMain(m *testing.M) { os.Exit(mariadbserver.Run(m, &srv)) }

// testCtx returns a context that ends with the test, at most after a minute.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// logBuffer is a slog destination that tests can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newBackend returns a backend for the shared server's user, whose driver
// log lines go to the returned buffer.
func newBackend(t testing.TB, init ...string) (*mysqlbackend.Backend, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	b := mysqlbackend.New(mysqlbackend.Options{
		DSN:            srv.DSN(),
		InitStatements: init,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	})
	require.NoError(t, b.Validate())
	return b, logs
}

// dial opens a connection that is closed when the test ends.
func dial(t testing.TB, b *mysqlbackend.Backend) *mysqlbackend.Conn {
	t.Helper()
	c, err := b.Dial(testCtx(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(c) })
	return c
}

// sessions returns how many sessions the test user has on the server.
func sessions(t testing.TB) int {
	t.Helper()
	n, err := srv.SessionCount(testCtx(t))
	require.NoError(t, err)
	return n
}

func newLogger(l *logBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// settledSessions waits until the test user's sessions left by earlier tests
// are gone (the server drops a closed or killed session asynchronously) and
// returns the count, which is then zero: every test closes its sessions.
func settledSessions(t testing.TB) int {
	t.Helper()
	require.Eventually(t, func() bool { return sessions(t) == 0 }, 10*time.Second, 10*time.Millisecond,
		"sessions of earlier tests are still open on the server")
	return 0
}
