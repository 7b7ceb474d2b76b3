package cmdq_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/internal/cmdq"
)

func TestPickTakesTheLiveQueueWithTheFewestOpsPending(t *testing.T) {
	set := cmdq.NewSet(func() {})
	busy, light, closed := newLine(t), newLine(t), newLine(t)
	for _, l := range []*line{busy, light, closed} {
		l.hold()
		go l.q.Push(cmdq.Get(context.Background(), "in flight", 1))
	}
	require.Eventually(t, func() bool {
		return len(busy.writes())+len(light.writes())+len(closed.writes()) == 3
	}, eventually, time.Millisecond)
	busy.q.Push(cmdq.Get(context.Background(), "queued", 1))
	closed.q.Close()

	set.Publish([]*cmdq.Queue{busy.q, closed.q, light.q}, nil, false)
	v := set.View()
	assert.Same(t, light.q, v.Pick())
	assert.Equal(t, 4, v.InFlight(), "InFlight counts every queue of the view")

	set.Publish([]*cmdq.Queue{closed.q}, nil, false)
	assert.Nil(t, set.View().Pick(), "a closed queue is never picked")
}

func TestPublishTellsWhoWaitsForTheNextView(t *testing.T) {
	set := cmdq.NewSet(func() {})
	v := set.View()
	assert.Empty(t, v.Queues)
	select {
	case <-v.Changed:
		t.Fatal("changed before a publish")
	default:
	}
	errNone := errors.New("no connection")
	set.Publish(nil, errNone, true)
	select {
	case <-v.Changed:
	default:
		t.Fatal("Publish did not signal the view it replaced")
	}
	next := set.View()
	assert.ErrorIs(t, next.Err, errNone)
	assert.True(t, next.Closed)
}

func TestGrowAsksOnceUntilAnswered(t *testing.T) {
	var asks atomic.Int32
	set := cmdq.NewSet(func() { asks.Add(1) })
	set.Grow()
	set.Grow()
	assert.Equal(t, int32(1), asks.Load(), "a burst sends one request")
	set.Answered()
	set.Grow()
	assert.Equal(t, int32(2), asks.Load())
}
