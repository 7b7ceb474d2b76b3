package mysqlbackend_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
)

const eventually = 10 * time.Second

type mysqlPool = actorpool.Pool[*mysqlbackend.Conn]

// srv is the MariaDB server shared by every test of the package.
var srv *mariadbserver.Server

func TestMain(m *testing.M) {
	code := mariadbserver.Run(m, &srv)
	stopTLSServer()
	os.Exit(code)
}

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

// sessions returns how many sessions the test user has on the server; call
// it on the test's goroutine only.
func sessions(t testing.TB) int {
	t.Helper()
	n, err := sessionCount()
	require.NoError(t, err)
	return n
}

// sessionCount returns how many sessions the test user has on the server,
// or the error of asking.
func sessionCount() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.SessionCount(ctx)
}

// sessionsAre is a condition for Eventually: the test user has want
// sessions on the server.
func sessionsAre(want int) func() bool {
	return func() bool {
		n, err := sessionCount()
		return err == nil && n == want
	}
}

func newLogger(l *logBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// settledSessions waits until the test user's sessions left by earlier tests
// are gone (the server drops a closed or killed session asynchronously) and
// returns the count, which is then zero: every test closes its sessions.
func settledSessions(t testing.TB) int {
	t.Helper()
	require.Eventually(t, sessionsAre(0), 10*time.Second, 10*time.Millisecond,
		"sessions of earlier tests are still open on the server")
	return 0
}

// newPool starts a pool over the shared server, opened by pooltest.Open:
// its cleanup closes the pool and checks what must hold after any test. On
// top of those, the server must see none of the pool's sessions.
func newPool(t *testing.T, cfg actorpool.Config) (*mysqlPool, *mysqlbackend.Backend) {
	t.Helper()
	before := settledSessions(t) // the harness's admin connection exists from here
	// Runs after the goroutine check (cleanups run last registered first).
	t.Cleanup(func() { srv.Admin().SetMaxIdleConns(2) })
	b, _ := newBackend(t)
	f := pooltest.Open(t, b, cfg,
		pooltest.IgnoreGoroutines(goleak.IgnoreCurrent(),
			mariadbserver.Waiters()),
		pooltest.AfterClose(func(t testing.TB) {
			assert.Eventually(t, sessionsAre(before), eventually, 10*time.Millisecond,
				"the server still sees sessions of a closed pool")
			// The harness's admin pool may have opened connections meanwhile
			// (after a server restart): let them go before counting goroutines.
			srv.Admin().SetMaxIdleConns(0)
		}))
	return f.Pool, b
}
