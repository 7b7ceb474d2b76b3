package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAWakeUpDueAndNotComeCountsAsStalledAlready(t *testing.T) {
	m := newStallMeter()
	m.close()
	m.due = time.Now().Add(time.Hour)
	before := m.now()
	m.due = before.at.Add(-50 * time.Millisecond) // overdue, as when the meter cannot run
	assert.GreaterOrEqual(t, m.now().stalled-before.stalled, 50*time.Millisecond)
}

// Moments in the past stand for Acquires that started then: the rule
// reads only the time and the stall between start and now.
func TestAnAcquireMayReturnItsTimeoutPlusTheStallMeanwhilePlusTheMarginLate(t *testing.T) {
	tl := newTally()
	defer tl.stalls.close()
	const timeout = 300 * time.Millisecond
	startedAgo := func(late, stalled time.Duration) moment {
		now := tl.now()
		return moment{at: now.at.Add(-timeout - late), stalled: now.stalled - stalled}
	}

	tl.timed(startedAgo(-timeout/2, 0), timeout, "before its timeout")
	assert.Zero(t, tl.excused.Load())
	assert.Zero(t, tl.violations.Load())

	tl.timed(startedAgo(100*time.Millisecond, 150*time.Millisecond), timeout, "stalled longer than late")
	assert.Equal(t, int64(1), tl.excused.Load(), "counted apart")
	assert.Zero(t, tl.violations.Load())

	// A stall from here on adds as much to the lateness as to the stall:
	// late by 100 ms beyond the stall stays a violation.
	tl.timed(startedAgo(100*time.Millisecond, 0), timeout, "not stalled")
	assert.Equal(t, int64(1), tl.violations.Load())
	assert.Equal(t, "not stalled", tl.mostBeyond.who)
}
