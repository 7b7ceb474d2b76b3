package core

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestIdle(t *testing.T) (*Idle[int], *Slot[int]) {
	t.Helper()
	idle := NewIdle[int](IdleConfig{Post: func(any) {}}, 1)
	slot := NewSlot(SlotConfig[int]{Idle: idle}, nil, 1, 7, nil, func(*Slot[int]) any { return nil })
	return idle, slot
}

func TestACallerJoinsTheLineItselfOnlyBehindOthersAndWhenTheBrokerHasNothingToDecide(t *testing.T) {
	idle, slot := newTestIdle(t)
	const timeout = time.Minute

	assert.False(t, idle.Join(NewRequest[int](), timeout, 0), "nobody in line: the broker takes the first one")

	// The first waiter goes through the broker (the stack is empty).
	first := NewRequest[int]()
	got, _, queued := idle.TakeOrEnqueue(first, timeout, 0)
	require.Nil(t, got)
	require.Equal(t, 1, queued)

	for name, p := range map[string]Published{
		"closing":                 {Closed: true},
		"shrinking":               {Divert: true},
		"growing or failing fast": {QueueHere: true},
	} {
		idle.Publish(p)
		assert.False(t, idle.Join(NewRequest[int](), timeout, 0), "joined while the pool is %s", name)
	}
	idle.Publish(Published{})

	idle.mu.Lock()
	assert.False(t, idle.Join(NewRequest[int](), timeout, 0), "waited for a held lock instead of asking the broker")
	idle.mu.Unlock()

	assert.False(t, idle.Join(NewRequest[int](), timeout, 1), "joined a line already MaxWaiters long")
	assert.False(t, idle.Join(NewRequest[int](), timeout/2, 0),
		"joined although due before the earliest in line, for whom the broker's timer may be armed")

	second := NewRequest[int]()
	require.True(t, idle.Join(second, timeout, 2))
	assert.Equal(t, 2, idle.Waiting())

	// Served in order: the first a holder gives back goes to first.
	require.True(t, idle.put(slot))
	<-first.Done()
	require.NoError(t, first.Err)
	assert.Equal(t, 7, first.Lease.Conn())
	assert.True(t, second.Pending())
	assert.Equal(t, 1, idle.Waiting())

	// A caller that gave up leaves the line without the broker.
	require.True(t, second.Cancel())
	assert.True(t, idle.Dequeue(second))
	assert.Zero(t, idle.Waiting())
	assert.False(t, idle.Join(NewRequest[int](), timeout, 0), "the line is empty again")
}
