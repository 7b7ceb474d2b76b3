// Package hist is a duration histogram cheap enough for every lease: a
// record is a bucket search and two atomic adds, with no lock and no
// allocation. The pool's metrics record waits and holds here, on the
// caller's goroutine, and hand the counts to OpenTelemetry at collection
// time (Drain), off the hot path.
package hist

import (
	"sync"
	"sync/atomic"
	"time"
)

// Histogram counts durations in buckets with fixed upper bounds, and
// keeps each bucket's sum, so that a bucket's mean is exact.
type Histogram struct {
	bounds []int64 // upper bounds, inclusive, in nanoseconds, ascending
	counts []atomic.Uint64
	sums   []atomic.Int64 // nanoseconds

	mu            sync.Mutex // serialises Drain
	drainedCounts []uint64
	drainedSums   []int64
}

// New returns a histogram with the given upper bounds (seconds,
// ascending) and one more bucket for everything above the last.
func New(boundsSeconds []float64) *Histogram {
	h := &Histogram{
		bounds:        make([]int64, len(boundsSeconds)),
		counts:        make([]atomic.Uint64, len(boundsSeconds)+1),
		sums:          make([]atomic.Int64, len(boundsSeconds)+1),
		drainedCounts: make([]uint64, len(boundsSeconds)+1),
		drainedSums:   make([]int64, len(boundsSeconds)+1),
	}
	for i, b := range boundsSeconds {
		h.bounds[i] = int64(b * float64(time.Second))
	}
	return h
}

// Record counts d. Short durations, the common case, find their bucket
// in the first comparisons; a zero (an acquire served at once) is one
// atomic add.
func (h *Histogram) Record(d time.Duration) {
	ns := int64(d)
	i := 0
	for i < len(h.bounds) && ns > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	if ns != 0 {
		h.sums[i].Add(ns)
	}
}

// clamp holds mean (nanoseconds) within bucket i's bounds.
func (h *Histogram) clamp(i int, mean int64) time.Duration {
	if i < len(h.bounds) && mean > h.bounds[i] {
		mean = h.bounds[i]
	}
	if i > 0 && mean <= h.bounds[i-1] {
		mean = h.bounds[i-1] + 1
	}
	return time.Duration(max(mean, 0))
}

// Drain calls record once per bucket that gained durations since the last
// Drain, with how many it gained and their mean. Concurrent Drains are
// serialised; each duration is counted exactly once. A Record that races
// with Drain may have its count drained now and its sum on the next Drain
// (or the other way round): the mean is then held within the bucket's
// bounds, so every duration is reported in its own bucket, and the sums
// drained add up to the durations recorded.
func (h *Histogram) Drain(record func(mean time.Duration, n uint64)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.counts {
		c, s := h.counts[i].Load(), h.sums[i].Load()
		n := c - h.drainedCounts[i]
		if n == 0 {
			continue
		}
		sum := s - h.drainedSums[i]
		h.drainedCounts[i], h.drainedSums[i] = c, s
		record(h.clamp(i, sum/int64(n)), n)
	}
}
