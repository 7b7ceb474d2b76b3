package cmdq_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/internal/cmdq"
)

var errReply = errors.New("cmdq test: the reply's error")

const eventually = 5 * time.Second

// answered reports whether o's answer token is there, without waiting.
func answered(o *cmdq.Op) bool {
	select {
	case <-o.Done():
		return true
	default:
		return false
	}
}

func TestAQueuedOpAbandonedIsNeverClaimed(t *testing.T) {
	o := cmdq.Get(context.Background(), "work", 1)
	require.True(t, o.Abandon(), "a queued op can be abandoned")
	assert.False(t, o.Claim(), "the writer finds it abandoned and drops it unwritten")
}

func TestAClaimedOpAbandonedIsDroppedWithoutAnAnswer(t *testing.T) {
	o := cmdq.Get(context.Background(), "work", 1)
	require.True(t, o.Claim())
	require.True(t, o.Abandon(), "an op in flight can be abandoned")
	o.Finish(nil) // the reply comes: nobody waits for it
	assert.False(t, answered(o), "an abandoned op gets no answer")
}

func TestAnAnsweredOpCannotBeAbandoned(t *testing.T) {
	o := cmdq.Get(context.Background(), "work", 1)
	require.True(t, o.Claim())
	o.Finish(errReply)
	assert.False(t, o.Abandon(), "the answer won: the caller takes it")
	assert.ErrorIs(t, o.Wait(), errReply)
	assert.ErrorIs(t, o.Err(), errReply)
	cmdq.Put(o)
}

func TestARequeuedOpIsQueuedAgain(t *testing.T) {
	o := cmdq.Get(context.Background(), "work", 1)
	require.True(t, o.Claim())
	o.Finish(cmdq.ErrNotWritten)
	require.ErrorIs(t, o.Wait(), cmdq.ErrNotWritten)
	o.Requeue()
	assert.NoError(t, o.Err())
	assert.True(t, o.Claim(), "the next writer claims it as a new op")
	o.Finish(nil)
	assert.NoError(t, o.Wait())
	cmdq.Put(o)
}

// The writer's answer and the caller's abandonment race: exactly one of
// them wins, every time, and the loser sees it.
func TestFinishAndAbandonHaveOneWinner(t *testing.T) {
	abandons, answers := 0, 0
	for range 2000 {
		o := cmdq.Get(context.Background(), "work", 1)
		require.True(t, o.Claim())
		var wg sync.WaitGroup
		wg.Go(func() { o.Finish(nil) })
		if o.Abandon() {
			abandons++
			wg.Wait()
			continue // the writer dropped o
		}
		answers++
		select {
		case <-o.Done():
		case <-time.After(time.Second):
			t.Fatal("the caller lost the race but no answer came")
		}
		wg.Wait()
		cmdq.Put(o)
	}
	assert.Equal(t, 2000, abandons+answers)
	t.Logf("%d abandoned, %d answered", abandons, answers)
}

// An op taken from the pool carries nothing of its last use.
func TestGetReturnsAFreshOp(t *testing.T) {
	for range 100 {
		o := cmdq.Get(context.Background(), "work", 1)
		require.True(t, o.Claim())
		o.Finish(errReply)
		require.ErrorIs(t, o.Wait(), errReply)
		cmdq.Put(o)
		n := cmdq.Get(context.Background(), "next", 2)
		assert.False(t, answered(n), "no answer token left over")
		assert.NoError(t, n.Err())
		assert.Equal(t, "next", n.Work)
		assert.Equal(t, 2, n.Size)
		assert.True(t, n.Claim(), "a fresh op is queued")
		n.Finish(nil)
		<-n.Done()
		cmdq.Put(n)
	}
}
