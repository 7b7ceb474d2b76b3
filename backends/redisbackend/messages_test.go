package redisbackend_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

// asker is an actor that sends the requests it is given (as messages from
// the test) to the pool and hands every Reply it gets to replies.
func asker(to *actor.PID, replies chan<- *redisbackend.Reply) *actor.Props {
	return askerTelling(to, replies, nil)
}

// askerTelling is asker, which also tells sent once it has sent a request.
func askerTelling(to *actor.PID, replies chan<- *redisbackend.Reply, sent chan<- struct{}) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *redisbackend.Request:
			ctx.Request(to, m)
			if sent != nil {
				sent <- struct{}{}
			}
		case *redisbackend.Reply:
			replies <- m
		}
	})
}

// counter is an actor that counts to rounds with INCR by message, each
// request tagged with its round, and then reports what it saw.
type counter struct {
	to     *actor.PID
	key    string
	rounds int
	done   chan<- error
	round  int
}

func (c *counter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.next(ctx)
	case *redisbackend.Reply:
		switch {
		case m.Tag != c.round:
			c.done <- fmt.Errorf("%s: reply tagged %v, want %d", c.key, m.Tag, c.round)
			return
		case m.Err != nil:
			c.done <- fmt.Errorf("%s: %w", c.key, m.Err)
			return
		}
		n, err := m.Cmds[0].(*redis.IntCmd).Result()
		if err != nil || n != int64(c.round) {
			c.done <- fmt.Errorf("%s: INCR gave %d, %v; want %d", c.key, n, err, c.round)
			return
		}
		if c.round == c.rounds {
			c.done <- nil
			return
		}
		c.next(ctx)
	}
}

func (c *counter) next(ctx actor.Context) {
	c.round++
	ctx.Request(c.to, &redisbackend.Request{Tag: c.round,
		Cmds: []redis.Cmder{redis.NewIntCmd(context.Background(), "incr", c.key)}})
}

// Many actors, each in a request → reply loop by message, share the pool's
// batches; each sees its own replies, in its own order, with its tags.
func TestActorsRunCommandsByMessage(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 4})
	rc := redisbackend.NewCommands(p)
	sys := p.ActorSystem()
	const actors, rounds = 200, 25
	done := make(chan error, actors)
	pids := make([]*actor.PID, actors)
	for i := range actors {
		pids[i] = sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
			return &counter{to: rc.PID(), key: fmt.Sprintf("msg:%d", i), rounds: rounds, done: done}
		}))
	}
	for range actors {
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(eventually):
			t.Fatal("an actor was not answered")
		}
	}
	for _, pid := range pids {
		require.NoError(t, sys.Root.StopFuture(pid).Wait())
	}
	st := p.Stats()
	assert.Equal(t, uint64(actors*rounds), st.Commands(), "every request is written once")
	assert.Less(t, st.Batches(), st.Commands(), "requests share batches")
}

// A pipeline by message runs together and in order; a transaction runs
// on a lease; a blocking command on a lease; a session command is refused.
func TestRequestsByMessageRunWhereTheClientsWould(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 4})
	rc := redisbackend.NewCommands(p)
	sys := p.ActorSystem()
	replies := make(chan *redisbackend.Reply, 4)
	pid := sys.Root.Spawn(asker(rc.PID(), replies))
	defer sys.Root.Stop(pid)
	ctx := context.Background()

	pipe := rc.Pipeline()
	pipe.Set(ctx, "pipe:k", "v1", 0)
	get := pipe.Get(ctx, "pipe:k")
	sys.Root.Send(pid, &redisbackend.Request{Tag: "pipe", Cmds: pipe.Cmds()})
	r := recv(t, replies)
	require.NoError(t, r.Err)
	assert.Equal(t, "pipe", r.Tag)
	assert.Equal(t, "v1", get.Val())

	tx := rc.Pipeline()
	a, b := tx.Incr(ctx, "tx:n"), tx.Incr(ctx, "tx:n")
	sys.Root.Send(pid, &redisbackend.Request{Tag: "tx", Cmds: tx.Cmds(), Tx: true})
	r = recv(t, replies)
	require.NoError(t, r.Err)
	assert.Equal(t, []int64{1, 2}, []int64{a.Val(), b.Val()})

	blpop := redis.NewStringSliceCmd(ctx, "blpop", "empty:list", "0.05")
	sys.Root.Send(pid, &redisbackend.Request{Tag: "blocking", Cmds: []redis.Cmder{blpop}})
	r = recv(t, replies)
	assert.ErrorIs(t, r.Err, redis.Nil, "BLPOP on an empty list times out with a nil reply")

	sys.Root.Send(pid, &redisbackend.Request{Tag: "select", Cmds: []redis.Cmder{redis.NewStatusCmd(ctx, "select", 1)}})
	r = recv(t, replies)
	assert.Equal(t, "select", r.Tag)
	assert.ErrorIs(t, r.Err, redisbackend.ErrNeedsLease)
}

// A request that cannot be written before its deadline (every connection
// is leased) is answered with a timeout, once; and once the pool closes,
// a request is answered with ErrPoolClosed at once.
func TestARequestByMessageIsAnsweredAtItsDeadlineAndAfterClose(t *testing.T) {
	p, _ := newPool(t, actorpool.Config{MaxConns: 1})
	rc := redisbackend.NewCommands(p)
	sys := p.ActorSystem()
	replies := make(chan *redisbackend.Reply, 4)
	pid := sys.Root.Spawn(asker(rc.PID(), replies))
	defer sys.Root.Stop(pid)
	ctx := testCtx(t)

	lease, err := p.Acquire(ctx)
	require.NoError(t, err)
	incr := redis.NewIntCmd(ctx, "incr", "late")
	sys.Root.Send(pid, &redisbackend.Request{Tag: 1, Cmds: []redis.Cmder{incr}, Timeout: 50 * time.Millisecond})
	r := recv(t, replies)
	assert.Equal(t, 1, r.Tag)
	assert.ErrorIs(t, r.Err, actorpool.ErrAcquireTimeout)
	assert.ErrorIs(t, incr.Err(), actorpool.ErrAcquireTimeout)
	require.NoError(t, lease.Release())

	require.NoError(t, p.Close(ctx))
	sys.Root.Send(pid, &redisbackend.Request{Tag: 2, Cmds: []redis.Cmder{redis.NewIntCmd(ctx, "incr", "late")}})
	r = recv(t, replies)
	assert.Equal(t, 2, r.Tag)
	assert.ErrorIs(t, r.Err, actorpool.ErrPoolClosed)
	select {
	case extra := <-replies:
		t.Fatalf("a second reply: %+v", extra)
	default:
	}
}

// A request whose sender stopped before it was written is dropped, not
// run, and counted; one whose sender stopped while it was in flight is
// run, and its reply goes to the dead letters unlogged.
func TestARequestOfAStoppedActorIsDroppedOrGoesNowhere(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MaxConns: 1})
	rc := redisbackend.NewCommands(p)
	sys := p.ActorSystem()
	var deadMu sync.Mutex
	var dead []any
	sub := sys.EventStream.Subscribe(func(evt any) {
		if dl, ok := evt.(*actor.DeadLetterEvent); ok {
			deadMu.Lock()
			dead = append(dead, dl.Message)
			deadMu.Unlock()
		}
	})
	defer sys.EventStream.Unsubscribe(sub)
	ctx := testCtx(t)

	// Before the write: every connection is leased while the actor stops.
	lease, err := p.Acquire(ctx)
	require.NoError(t, err)
	sent := make(chan struct{}, 1)
	pid := sys.Root.Spawn(askerTelling(rc.PID(), make(chan *redisbackend.Reply, 1), sent))
	sys.Root.Send(pid, &redisbackend.Request{Cmds: []redis.Cmder{redis.NewIntCmd(ctx, "incr", "dropped")}})
	recv(t, sent)
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
	require.NoError(t, lease.Release())
	require.Eventually(t, func() bool { return p.Stats().CommandsDropped() == 1 }, eventually, time.Millisecond)
	v, err := rc.Get(ctx, "dropped").Result()
	assert.ErrorIs(t, err, redis.Nil, "the dropped INCR never ran (got %q)", v)

	// In flight: the server is paused with the request written.
	require.NoError(t, s.Pause())
	pid = sys.Root.Spawn(asker(rc.PID(), make(chan *redisbackend.Reply, 1)))
	before := p.Stats().Commands()
	sys.Root.Send(pid, &redisbackend.Request{Cmds: []redis.Cmder{redis.NewIntCmd(ctx, "incr", "inflight")}})
	require.Eventually(t, func() bool { return p.Stats().Commands() > before }, eventually, time.Millisecond, "written")
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
	require.NoError(t, s.Resume())
	require.Eventually(t, func() bool { return p.Stats().CommandsInFlight() == 0 }, eventually, time.Millisecond)
	n, err := rc.Get(ctx, "inflight").Int()
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the INCR in flight ran")
	assert.Equal(t, uint64(1), p.Stats().CommandsDropped())
	deadMu.Lock()
	defer deadMu.Unlock()
	replies := 0
	for _, m := range dead {
		if _, isReply := m.(*redisbackend.Reply); isReply {
			replies++
			_, quiet := m.(actor.IgnoreDeadLetterLogging)
			assert.True(t, quiet, "a reply to a stopped sender is logged as a dead letter")
		}
	}
	assert.LessOrEqual(t, replies, 1, "one reply at most went to the dead letters")
}

// The server killed while actors' requests are in flight: every actor is
// answered exactly once, with its own reply or an error, never another's;
// after the restart they are served again.
func TestEveryActorIsAnsweredOnceWhenTheServerDiesMidBatch(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MaxConns: 2, BackoffMin: 5 * time.Millisecond})
	rc := redisbackend.NewCommands(p)
	sys := p.ActorSystem()
	const actors = 100
	replies := make(chan *redisbackend.Reply, 2*actors)
	pids := make([]*actor.PID, actors)
	for i := range actors {
		pids[i] = sys.Root.Spawn(asker(rc.PID(), replies))
	}
	send := func(round int) {
		for i, pid := range pids {
			key := fmt.Sprintf("kill:%d", i)
			sys.Root.Send(pid, &redisbackend.Request{Tag: fmt.Sprintf("%d/%d", i, round), Cmds: []redis.Cmder{
				redis.NewStatusCmd(context.Background(), "set", key, fmt.Sprintf("%d/%d", i, round)),
				redis.NewStringCmd(context.Background(), "get", key),
			}})
		}
	}
	check := func(r *redisbackend.Reply) {
		if r.Err != nil {
			return
		}
		got := r.Cmds[1].(*redis.StringCmd).Val()
		assert.Equal(t, r.Tag, got, "an actor got another's reply")
	}
	send(1)
	s.Kill()
	seen := map[any]int{}
	for range actors {
		r := recv(t, replies)
		check(r)
		seen[r.Tag]++
	}
	for tag, n := range seen {
		assert.Equal(t, 1, n, "%v answered %d times", tag, n)
	}
	assert.Len(t, seen, actors, "every actor answered")
	s.Restart()
	require.Eventually(t, func() bool { return rc.Ping(context.Background()).Err() == nil }, eventually, 10*time.Millisecond)
	send(2)
	for range actors {
		r := recv(t, replies)
		require.NoError(t, r.Err)
		check(r)
	}
	select {
	case extra := <-replies:
		t.Fatalf("a second reply: %v", extra.Tag)
	case <-time.After(50 * time.Millisecond):
	}
	for _, pid := range pids {
		sys.Root.Stop(pid)
	}
}

// Requests by message start no goroutine each: with the server paused, a
// thousand of them queued or in flight leave the goroutine count where it
// was, give or take the pool's own few.
func TestRequestsByMessageStartNoGoroutineEach(t *testing.T) {
	p, s := newPool(t, actorpool.Config{MaxConns: 2})
	rc := redisbackend.NewCommands(p)
	sys := p.ActorSystem()
	ctx := testCtx(t)
	require.NoError(t, rc.Ping(ctx).Err()) // command mode holds a connection
	const requests = 1000
	replies := make(chan *redisbackend.Reply, requests)
	sent := make(chan struct{}, requests)
	pid := sys.Root.Spawn(askerTelling(rc.PID(), replies, sent))
	defer sys.Root.Stop(pid)

	require.NoError(t, s.Pause())
	before := runtime.NumGoroutine()
	for i := range requests {
		sys.Root.Send(pid, &redisbackend.Request{Tag: i, Cmds: []redis.Cmder{redis.NewStatusCmd(ctx, "ping")}})
	}
	for range requests {
		recv(t, sent)
	}
	require.Eventually(t, func() bool { return p.Stats().CommandsInFlight() == requests }, eventually, time.Millisecond)
	during := runtime.NumGoroutine()
	require.NoError(t, s.Resume())
	for range requests {
		require.NoError(t, recv(t, replies).Err)
	}
	t.Logf("goroutines: %d before, %d with %d requests queued or in flight", before, during, requests)
	assert.Less(t, during-before, 20, "goroutines started for requests")
}
