package main

// This file measures how long the process was held up: a goroutine wakes
// every millisecond and adds up how late each wake-up came. When the
// machine is loaded (go test -race with other packages on two cores), or
// the runtime stops the world, every goroutine of the process that is
// ready to run waits, a pool's timers, its broker and the actors'
// mailboxes included. An Acquire handed from goroutine to actor to
// goroutine waits at each hand-off: the sum over its wait, not the worst
// single stall, is what it may have lost.

import (
	"sync"
	"time"
)

// stallNap is how long the meter sleeps between wake-ups.
const stallNap = time.Millisecond

// moment is an instant and the process's stall up to it.
type moment struct {
	at      time.Time
	stalled time.Duration
}

// stallMeter adds up the lateness of its wake-ups. Its fields are guarded
// by mu: the meter's goroutine writes them, any goroutine reads them.
type stallMeter struct {
	mu    sync.Mutex
	total time.Duration // the lateness of every wake-up so far
	due   time.Time     // when the next wake-up is due
	worst time.Duration // the latest single wake-up

	stop chan struct{}
	done chan struct{}
}

func newStallMeter() *stallMeter {
	m := &stallMeter{due: time.Now().Add(stallNap), stop: make(chan struct{}), done: make(chan struct{})}
	go m.run(m.due)
	return m
}

func (m *stallMeter) run(due time.Time) {
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		case <-time.After(time.Until(due)):
		}
		due = m.woke(time.Now())
	}
}

// woke records a wake-up at now and returns when the next one is due.
func (m *stallMeter) woke(now time.Time) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	late := max(now.Sub(m.due), 0)
	m.total += late
	m.worst = max(m.worst, late)
	m.due = now.Add(stallNap)
	return m.due
}

// now is this instant and the stall up to it: the lateness of every
// wake-up so far, and of the one due and not come yet. The stall between
// two moments is the difference of theirs.
func (m *stallMeter) now() moment {
	m.mu.Lock()
	defer m.mu.Unlock()
	at := time.Now()
	return moment{at: at, stalled: m.total + max(at.Sub(m.due), 0)}
}

// summary is the lateness of every wake-up so far, and the latest one.
func (m *stallMeter) summary() (total, worst time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total, m.worst
}

func (m *stallMeter) close() {
	close(m.stop)
	<-m.done
}
