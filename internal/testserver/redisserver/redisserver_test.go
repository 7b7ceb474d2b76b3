package redisserver_test

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/internal/testserver/redisserver"
)

func TestServerAnswersPingAndCountsItsClients(t *testing.T) {
	s := redisserver.Start(t)
	ctx := context.Background()

	require.NoError(t, s.Observer().Ping(ctx).Err())
	n, err := s.ClientCount(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "the observer is not counted")

	c := newClient(s.Addr(), "")
	defer c.Close()
	require.NoError(t, c.Ping(ctx).Err())
	cs, err := s.Clients(ctx)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, 0, cs[0].DB)
	assert.Equal(t, "N", cs[0].Flags)
	assert.Equal(t, -1, cs[0].Multi)
}

func TestServerWithPasswordRefusesClientsWithoutIt(t *testing.T) {
	s := redisserver.Start(t, redisserver.WithPassword("s3cret-pw"))
	ctx := context.Background()

	anon := newClient(s.Addr(), "")
	defer anon.Close()
	assert.Error(t, anon.Ping(ctx).Err())

	opt, err := redis.ParseURL(s.URL())
	require.NoError(t, err)
	authed := newClient(opt.Addr, opt.Password)
	defer authed.Close()
	assert.NoError(t, authed.Ping(ctx).Err())
}

func TestKilledServerRestartsOnTheSamePortWithoutData(t *testing.T) {
	s := redisserver.Start(t)
	ctx := context.Background()
	require.NoError(t, s.Observer().Set(ctx, "k", "v", 0).Err())
	addr := s.Addr()

	s.Kill()
	c := newClient(addr, "")
	defer c.Close()
	assert.Error(t, c.Ping(ctx).Err(), "nothing listens after Kill")

	s.Restart()
	assert.Equal(t, addr, s.Addr())
	assert.NoError(t, c.Ping(ctx).Err())
	assert.ErrorIs(t, s.Observer().Get(ctx, "k").Err(), redis.Nil, "no persistence")
}

func TestStopLeavesNoProcessBehind(t *testing.T) {
	var pid int
	t.Run("server", func(t *testing.T) {
		s := redisserver.Start(t)
		info, err := s.Observer().Info(context.Background(), "server").Result()
		require.NoError(t, err)
		pid = processID(t, info)
	})
	// The subtest's cleanup has stopped the server.
	p, err := os.FindProcess(pid)
	require.NoError(t, err)
	assert.Error(t, p.Signal(syscall.Signal(0)), "redis-server pid %d is still alive", pid)
}

func newClient(addr, password string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                     addr,
		Password:                 password,
		MaxRetries:               -1,
		DialerRetries:            1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

func processID(t *testing.T, info string) int {
	t.Helper()
	var pid int
	for _, line := range splitLines(info) {
		if n, ok := cutPrefix(line, "process_id:"); ok {
			pid = atoi(t, n)
		}
	}
	require.NotZero(t, pid, "process_id in INFO server")
	return pid
}

func TestServerWithTLSAcceptsOnlyTLSClientsThatTrustItsCA(t *testing.T) {
	s := redisserver.Start(t, redisserver.WithTLS(), redisserver.WithPassword("pw"))
	ctx := context.Background()
	require.NoError(t, s.Observer().Ping(ctx).Err())
	assert.Equal(t, "rediss://:pw@"+s.Addr()+"/0", s.URL())

	plain := newClient(s.Addr(), "pw") // no TLS
	defer plain.Close()
	assert.Error(t, plain.Ping(ctx).Err())

	s.Kill()
	s.Restart()
	assert.NoError(t, s.Observer().Ping(ctx).Err())
}

func TestAPausedServerAnswersNothingUntilResumed(t *testing.T) {
	s := redisserver.Start(t)
	c := redis.NewClient(&redis.Options{
		Addr: s.Addr(), MaxRetries: -1, DisableIdentity: true,
		ContextTimeoutEnabled:    true, // the read gives up at ctx's deadline
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	defer c.Close()
	require.NoError(t, c.Ping(context.Background()).Err())

	require.NoError(t, s.Pause())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	assert.Error(t, c.Ping(ctx).Err(), "a paused server answers nothing")

	require.NoError(t, s.Resume())
	assert.NoError(t, s.Observer().Ping(context.Background()).Err())
}
