package redisbackend_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

func TestDialOpensOneConnectionThatAnswersPing(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr(), ClientName: "app-1"})
	ctx := testCtx(t)

	c, err := b.Dial(ctx)
	require.NoError(t, err)
	require.NoError(t, b.Ping(ctx, c))
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	assert.Equal(t, "v", c.Get(ctx, "k").Val())

	cs, err := s.Clients(ctx)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, "app-1", cs[0].Name)

	require.NoError(t, b.Close(c))
	assertClients(t, s, 0)
	assert.ErrorIs(t, b.Ping(ctx, c), redisbackend.ErrConnLost, "a closed connection stays closed")
}

func TestTheServerSeesAsManyClientsAsOpenConnections(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)

	var conns []*redisbackend.Conn
	for range 5 {
		c, err := b.Dial(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	assertClients(t, s, 5)

	require.NoError(t, b.Close(conns[0]))
	require.NoError(t, b.Close(conns[1]))
	assertClients(t, s, 3)

	for _, c := range conns[2:] {
		require.NoError(t, b.Close(c))
	}
	assertClients(t, s, 0)
}

func TestErrorsPipelinesAndTransactionsStayOnTheOneConnection(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	c := dial(t, b)
	id := clientID(t, c)

	// Error replies and missing keys.
	require.NoError(t, c.LPush(ctx, "list", "a").Err())
	assert.ErrorContains(t, c.Get(ctx, "list").Err(), "WRONGTYPE")
	assert.ErrorIs(t, c.Get(ctx, "missing").Err(), redis.Nil)
	assert.Error(t, c.Do(ctx, "NOSUCHCOMMAND").Err())

	// A pipeline, with an error in the middle.
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "a", "1", 0)
		p.Incr(ctx, "list")
		p.Get(ctx, "a")
		return nil
	})
	assert.ErrorContains(t, err, "WRONGTYPE")
	require.Len(t, cmds, 3)
	assert.Equal(t, "1", cmds[2].(*redis.StringCmd).Val())

	// MULTI/EXEC, and an optimistic transaction with WATCH.
	_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "counter")
		p.Incr(ctx, "counter")
		return nil
	})
	require.NoError(t, err)
	err = c.Watch(ctx, func(tx *redis.Tx) error {
		n, err := tx.Get(ctx, "counter").Int()
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "counter", n*10, 0)
			return nil
		})
		return err
	}, "counter")
	require.NoError(t, err)
	assert.Equal(t, "20", c.Get(ctx, "counter").Val())

	// A redis.Conn pinned from the client is the same connection.
	pinned := c.Conn()
	assert.Equal(t, id, pinned.ClientID(ctx).Val())
	require.NoError(t, pinned.Close())

	assert.Equal(t, id, clientID(t, c), "same server-side client all along")
	assertClients(t, s, 1)
}

func TestPubSubCannotOpenASecondConnection(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	c := dial(t, b)

	ps := c.Subscribe(ctx, "news")
	_, err := ps.Receive(ctx)
	assert.ErrorIs(t, err, redisbackend.ErrSecondConn)
	require.NoError(t, ps.Close())

	assert.False(t, b.IsFatal(err), "the connection itself is fine")
	assert.NoError(t, b.Ping(ctx, c))
	assertClients(t, s, 1)
}

func TestKilledServerFailsTheConnectionAndItIsNotRedialedAfterRestart(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	idle := dial(t, b)
	busy := dial(t, b)
	require.True(t, assertClients(t, s, 2))

	s.Kill()

	err := b.Ping(ctx, idle)
	require.Error(t, err)
	assert.True(t, b.IsFatal(err), "ping after kill: %v", err)
	err = busy.Set(ctx, "k", "v", 0).Err()
	require.Error(t, err)
	assert.True(t, b.IsFatal(err), "command after kill: %v", err)

	s.Restart()

	for _, c := range []*redisbackend.Conn{idle, busy} {
		assert.ErrorIs(t, b.Ping(ctx, c), redisbackend.ErrConnLost)
		assert.ErrorIs(t, c.Get(ctx, "k").Err(), redisbackend.ErrConnLost)
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error { p.Get(ctx, "k"); return nil })
		assert.ErrorIs(t, err, redisbackend.ErrConnLost)
		assert.True(t, b.NeedsReset(c))
		assert.ErrorIs(t, b.Reset(ctx, c), redisbackend.ErrConnLost)
	}
	assertClients(t, s, 0, "nothing reconnected behind the pool")

	require.NoError(t, b.Close(idle))
	require.NoError(t, b.Close(busy))
	assertClients(t, s, 0)
}

func TestAConnectionKilledByTheServerIsLostAndOnlyThatOne(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	victim := dial(t, b)
	other := dial(t, b)

	require.NoError(t, s.Observer().ClientKillByFilter(ctx, "ID", itoa(clientID(t, victim))).Err())

	err := victim.Get(ctx, "k").Err()
	require.Error(t, err)
	assert.True(t, b.IsFatal(err), "%v", err)
	assert.ErrorIs(t, b.Reset(ctx, victim), redisbackend.ErrConnLost)
	assert.NoError(t, b.Ping(ctx, other))
	assert.NoError(t, b.Reset(ctx, other))
	assertClients(t, s, 1)
}

func TestDialToAPortWithoutServerIsAFatalError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	b := redisbackend.New(redisbackend.Options{Addr: addr})
	_, err = b.Dial(testCtx(t))
	require.Error(t, err)
	assert.True(t, b.IsFatal(err), "%v", err)
	assert.ErrorContains(t, err, addr)
}

func TestDialGivesUpAtTheContextDeadlineWhenTheServerNeverAnswers(t *testing.T) {
	// A listener that accepts and then says nothing.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	defer func() {
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	}()

	b := redisbackend.New(redisbackend.Options{Addr: l.Addr().String()})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = b.Dial(ctx)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.True(t, b.IsFatal(err), "%v", err)
}

func TestWrongPasswordIsAnAuthErrorThatDoesNotShowThePassword(t *testing.T) {
	const serverPw, wrongPw = "right-horse-battery", "Tr0ub4dor&3-wrong"
	s := redisserver.Start(t, redisserver.WithPassword(serverPw))
	ctx := testCtx(t)

	for name, opt := range map[string]redisbackend.Options{
		"wrong password":   {Addr: s.Addr(), Password: wrongPw},
		"wrong user":       {Addr: s.Addr(), Username: "nobody", Password: wrongPw},
		"missing password": {Addr: s.Addr()},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := redisbackend.New(opt).Dial(ctx)
			require.Error(t, err)
			assert.ErrorIs(t, err, redisbackend.ErrAuth)
			var reply redis.Error
			assert.ErrorAs(t, err, &reply, "the server's reply stays reachable")
			assert.NotContains(t, err.Error(), wrongPw)
			assert.NotContains(t, err.Error(), serverPw)
			assert.ErrorContains(t, err, s.Addr())
		})
	}
	assert.Eventually(t, func() bool {
		n, err := s.ClientCount(ctx)
		return err == nil && n == 0
	}, 2*time.Second, 10*time.Millisecond, "failed dials leave no client behind")

	c := dial(t, redisbackend.New(redisbackend.Options{Addr: s.Addr(), Password: serverPw}))
	assert.NoError(t, c.Ping(ctx).Err())
}

func TestAConfiguredDatabaseIsSelectedOnDial(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.NewFromURL(s.URL()[:len(s.URL())-1] + "4?client_name=from-url")
	require.NoError(t, b.Validate())
	c := dial(t, b)

	info := clientByID(t, s, clientID(t, c))
	assert.Equal(t, 4, info.DB)
	assert.Equal(t, "from-url", info.Name)
}

func TestIsFatalTellsBrokenConnectionsFromErrorReplies(t *testing.T) {
	s := redisserver.Start(t)
	b := redisbackend.New(redisbackend.Options{Addr: s.Addr()})
	ctx := testCtx(t)
	c := dial(t, b)
	require.NoError(t, c.LPush(ctx, "list", "a").Err())
	wrongType := c.Get(ctx, "list").Err()
	require.Error(t, wrongType)
	noScript := c.EvalSha(ctx, "0000000000000000000000000000000000000000", nil).Err()
	require.Error(t, noScript)

	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	for _, tc := range []struct {
		name  string
		err   error
		fatal bool
	}{
		{"nil", nil, false},
		{"redis.Nil", redis.Nil, false},
		{"WRONGTYPE reply", wrongType, false},
		{"NOSCRIPT reply", noScript, false},
		{"wrapped error reply", errorsJoin("saving user", wrongType), false},
		{"the holder's own error", errors.New("user not found"), false},
		{"context cancelled", context.Canceled, false},
		{"context deadline", context.DeadlineExceeded, false},
		{"second connection refused", redisbackend.ErrSecondConn, false},
		{"connection lost", redisbackend.ErrConnLost, true},
		{"client closed", redis.ErrClosed, true},
		{"go-redis pool timeout", redis.ErrPoolTimeout, true},
		{"EOF", ioEOF(), true},
		{"wrapped EOF", errorsJoin("get", ioEOF()), true},
		{"closed network connection", net.ErrClosed, true},
		{"dial refused", refused, true},
		{"read timeout", &net.OpError{Op: "read", Net: "tcp", Err: timeoutError{}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.fatal, b.IsFatal(tc.err), "%v", tc.err)
		})
	}
}

func TestTheDialerIsCalledOnceAndNeverAgainAfterTheConnectionIsLost(t *testing.T) {
	s := redisserver.Start(t)
	ctx := testCtx(t)
	var dials atomic.Int32
	b := redisbackend.New(redisbackend.Options{
		Addr: s.Addr(),
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	})
	c := dial(t, b)
	require.Equal(t, int32(1), dials.Load())

	require.NoError(t, s.Observer().ClientKillByFilter(ctx, "ID", itoa(clientID(t, c))).Err())
	for range 5 {
		assert.Error(t, c.Get(ctx, "k").Err())
	}
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error { p.Get(ctx, "k"); return nil })
	assert.Error(t, err)
	assert.Error(t, c.Watch(ctx, func(*redis.Tx) error { return nil }, "k"))
	assert.Error(t, b.Ping(ctx, c))
	assert.Error(t, b.Reset(ctx, c))

	assert.Equal(t, int32(1), dials.Load(), "go-redis dialed behind the pool")
	assertClients(t, s, 0)
}
