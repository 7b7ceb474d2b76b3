package main

import (
	"context"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms hold latencies in nanoseconds, 1 ns to 30 s, to three
// significant digits. A longer latency is recorded as 30 s.
const (
	histMin    = 1
	histMax    = int64(30 * time.Second)
	histDigits = 3
)

// histPool recycles histograms: one costs about 200 KB, and a run at 256
// callers needs 256 of them per round.
var histPool = sync.Pool{New: func() any { return hdrhistogram.New(histMin, histMax, histDigits) }}

func getHist() *hdrhistogram.Histogram { return histPool.Get().(*hdrhistogram.Histogram) }

func putHist(h *hdrhistogram.Histogram) {
	h.Reset()
	histPool.Put(h)
}

// splitPool recycles the histograms of the two parts of a lease (wait,
// held), kept to two significant digits: they only feed a note.
var splitPool = sync.Pool{New: func() any { return hdrhistogram.New(histMin, histMax, 2) }}

func getSplit() *hdrhistogram.Histogram { return splitPool.Get().(*hdrhistogram.Histogram) }

func putSplit(h *hdrhistogram.Histogram) {
	h.Reset()
	splitPool.Put(h)
}

func record(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(min(max(int64(d), histMin), histMax))
}

// recorder is one caller goroutine's measurements. Only its goroutine
// writes it; the round reads it after the goroutine ended.
type recorder struct {
	lat  *hdrhistogram.Histogram // latency of successful ops in the window
	ops  int64                   // successful ops in the window
	errs int64                   // failed ops in the window
	// wait and held split lat at the moment the lease was in hand, for
	// ops that report it (actorpool's); nil for the others.
	wait, held *hdrhistogram.Histogram
}

// phases of a round, shared by its callers through an atomic.
const (
	phaseWarm int32 = iota
	phaseMeasure
	phaseStop
)

// result is one round of one pool in one case.
type result struct {
	ops     int64
	errs    int64
	elapsed time.Duration
	lat     *hdrhistogram.Histogram // merged; nil when the case has none
	extra   map[string]float64      // case-specific numbers (W4, W5; the lease split of W1, W2)
	done    *summary                // a round a child process measured: its summary, as is
}

func (r result) opsPerSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

func (r result) quantile(q float64) time.Duration {
	if r.lat == nil || r.lat.TotalCount() == 0 {
		return 0
	}
	return time.Duration(r.lat.ValueAtQuantile(q))
}

// release gives the merged histogram back once the numbers are taken.
func (r *result) summarise() summary {
	if r.done != nil {
		return *r.done
	}
	s := summary{
		opsPerSec: r.opsPerSec(),
		p50:       r.quantile(50),
		p99:       r.quantile(99),
		errs:      r.errs,
		extra:     r.extra,
	}
	if r.lat != nil {
		putHist(r.lat)
		r.lat = nil
	}
	return s
}

// summary is what the report keeps of a round.
type summary struct {
	opsPerSec float64
	p50, p99  time.Duration
	errs      int64
	extra     map[string]float64
}

// op is one operation of one caller: caller is the caller's index, n counts
// its operations (both pick keys). It returns the op's error and, for an
// op on actorpool, when the lease was in hand (zero for the peers, whose
// wait for a connection happens inside the client).
type op func(ctx context.Context, caller, n int) (leased time.Time, err error)

// closedLoop runs callers goroutines, each calling fn back to back, for
// warm then window; only ops that end inside the window count. Each
// latency is one call of fn, recorded in the caller's own histogram; the
// histograms are merged at the end. An op that says when its lease was in
// hand is also split there: the wait for the lease, and the time it was
// held (the command and the release). labels are pprof labels for the
// callers.
func closedLoop(ctx context.Context, callers int, warm, window time.Duration, labels pprof.LabelSet, fn op) result {
	var phase atomic.Int32
	recs := make([]recorder, callers)
	var wg sync.WaitGroup
	for i := range recs {
		rec := &recs[i]
		rec.lat = getHist()
		wg.Go(func() {
			pprof.Do(ctx, labels, func(ctx context.Context) {
				for n := 0; ; n++ {
					p := phase.Load()
					if p == phaseStop {
						return
					}
					start := time.Now()
					leased, err := fn(ctx, i, n)
					end := time.Now()
					if phase.Load() != phaseMeasure {
						continue
					}
					if err != nil {
						rec.errs++
						continue
					}
					rec.ops++
					record(rec.lat, end.Sub(start))
					if !leased.IsZero() {
						if rec.wait == nil {
							rec.wait, rec.held = getSplit(), getSplit()
						}
						record(rec.wait, leased.Sub(start))
						record(rec.held, end.Sub(leased))
					}
				}
			})
		})
	}
	sleepCtx(ctx, warm)
	phase.Store(phaseMeasure)
	start := time.Now()
	sleepCtx(ctx, window)
	phase.Store(phaseStop)
	elapsed := time.Since(start)
	wg.Wait()
	return mergeRecorders(recs, elapsed)
}

func mergeRecorders(recs []recorder, elapsed time.Duration) result {
	res := result{elapsed: elapsed, lat: getHist()}
	var wait, held *hdrhistogram.Histogram
	for i := range recs {
		res.ops += recs[i].ops
		res.errs += recs[i].errs
		res.lat.Merge(recs[i].lat)
		putHist(recs[i].lat)
		if recs[i].wait == nil {
			continue
		}
		if wait == nil {
			wait, held = getSplit(), getSplit()
		}
		wait.Merge(recs[i].wait)
		held.Merge(recs[i].held)
		putSplit(recs[i].wait)
		putSplit(recs[i].held)
	}
	if wait != nil {
		q := func(h *hdrhistogram.Histogram, p float64) float64 { return float64(h.ValueAtQuantile(p)) }
		res.extra = map[string]float64{
			"waitP50": q(wait, 50), "waitP99": q(wait, 99),
			"heldP50": q(held, 50), "heldP99": q(held, 99),
		}
		putSplit(wait)
		putSplit(held)
	}
	return res
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// median returns the median of xs (the mean of the middle two for an even
// count), and the smallest and largest.
func median(xs []float64) (med, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}
