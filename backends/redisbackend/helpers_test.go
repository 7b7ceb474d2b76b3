package redisbackend_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

const eventually = 10 * time.Second

type redisPool = actorpool.Pool[*redisbackend.Conn]

// newPool starts a redis-server and a pool over it, opened by pooltest.Open:
// its cleanup closes the pool and checks what must hold after any test. On
// top of those, the server must see none of the pool's clients.
func newPool(t *testing.T, cfg actorpool.Config, opts ...redisserver.Option) (*redisPool, *redisserver.Server) {
	t.Helper()
	return newPoolWith(t, cfg, nil, opts...)
}

// newPoolWith is newPool with options changed by set before the backend is
// made.
func newPoolWith(t *testing.T, cfg actorpool.Config, set func(*redisbackend.Options), opts ...redisserver.Option) (*redisPool, *redisserver.Server) {
	t.Helper()
	s := redisserver.Start(t, opts...)
	s.Observer() // open before the goroutine snapshot
	o := redisbackend.Options{Addr: s.Addr(), Password: s.Password(), ClientName: "pooled"}
	if set != nil {
		set(&o)
	}
	b := redisbackend.New(o)
	f := pooltest.Open(t, b, cfg,
		pooltest.IgnoreGoroutines(goleak.IgnoreCurrent(),
			redisserver.Waiters()),
		pooltest.AfterClose(func(t testing.TB) {
			assertClients(t, s, 0, "the server still sees clients of a closed pool")
		}))
	return f.Pool, s
}

// testCtx is a context for one test step: nothing here should take long.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial dials one connection and closes it when the test ends.
func dial(t *testing.T, b *redisbackend.Backend) *redisbackend.Conn {
	t.Helper()
	c, err := b.Dial(testCtx(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(c) })
	return c
}

// clientByID is the server's CLIENT LIST entry for client id.
func clientByID(t *testing.T, s *redisserver.Server, id int64) redisserver.ClientInfo {
	t.Helper()
	cs, err := s.Clients(testCtx(t))
	require.NoError(t, err)
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("client id=%d is not in CLIENT LIST (%d clients)", id, len(cs))
	return redisserver.ClientInfo{}
}

// clientID asks the connection for its server-side id.
func clientID(t *testing.T, c *redisbackend.Conn) int64 {
	t.Helper()
	id, err := c.ClientID(testCtx(t)).Result()
	require.NoError(t, err)
	return id
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func errorsJoin(msg string, err error) error { return fmt.Errorf("%s: %w", msg, err) }

func ioEOF() error { return io.EOF }

// timeoutError is a net.Error that timed out.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func quote(s string) string { return strconv.Quote(s) }

// assertClients checks that the server comes to see want clients, the
// observer aside. A close reaches the server a moment after Close returns.
func assertClients(t testing.TB, s *redisserver.Server, want int, msgAndArgs ...any) bool {
	t.Helper()
	var last int
	ok := assert.Eventually(t, func() bool {
		n, err := s.ClientCount(context.Background())
		last = n
		return err == nil && n == want
	}, 3*time.Second, 5*time.Millisecond, msgAndArgs...)
	if !ok {
		t.Logf("the server sees %d clients, want %d", last, want)
	}
	return ok
}

// recv receives from ch, failing the test after eventually.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	return pooltest.Recv(t, ch, eventually)
}
