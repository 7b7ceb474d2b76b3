package main

// This file measures the process's own stalls: how late a goroutine that
// sleeps 1 ms wakes up. When the machine is loaded (go test -race with
// other packages on two cores), every goroutine of the process, a pool's
// timers included, can be held up tens of milliseconds at once; an
// Acquire that returns late during such a stall was held up with them.

import (
	"sync/atomic"
	"time"
)

const (
	stallBucket  = 10 * time.Millisecond
	stallBuckets = 2048 // about 20 s of history
)

// stallMeter keeps, per 10 ms bucket, the longest oversleep seen.
type stallMeter struct {
	lag  [stallBuckets]atomic.Int64 // ns, indexed by bucket number mod stallBuckets
	seen [stallBuckets]atomic.Int64 // bucket number the slot holds
	stop chan struct{}
	done chan struct{}
}

func newStallMeter() *stallMeter {
	m := &stallMeter{stop: make(chan struct{}), done: make(chan struct{})}
	go m.run()
	return m
}

func (m *stallMeter) run() {
	defer close(m.done)
	const nap = time.Millisecond
	for {
		before := time.Now()
		select {
		case <-m.stop:
			return
		case <-time.After(nap):
		}
		now := time.Now()
		m.note(now, now.Sub(before)-nap)
	}
}

// note records lag as seen at now.
func (m *stallMeter) note(now time.Time, lag time.Duration) {
	b := now.UnixNano() / int64(stallBucket)
	i := b % stallBuckets
	if m.seen[i].Swap(b) != b {
		m.lag[i].Store(0)
	}
	for {
		old := m.lag[i].Load()
		if int64(lag) <= old || m.lag[i].CompareAndSwap(old, int64(lag)) {
			return
		}
	}
}

// worst is the longest stall seen between from and to (and the bucket
// after, which records a stall that ended after to).
func (m *stallMeter) worst(from, to time.Time) time.Duration {
	var w int64
	first, last := from.UnixNano()/int64(stallBucket), to.UnixNano()/int64(stallBucket)+1
	for b := max(first, last-stallBuckets+1); b <= last; b++ {
		i := b % stallBuckets
		if m.seen[i].Load() == b {
			w = max(w, m.lag[i].Load())
		}
	}
	return time.Duration(w)
}

func (m *stallMeter) close() {
	close(m.stop)
	<-m.done
}
