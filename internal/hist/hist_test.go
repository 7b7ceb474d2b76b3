package hist

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type drained struct {
	mean time.Duration
	n    uint64
}

func drain(h *Histogram) []drained {
	var out []drained
	h.Drain(func(mean time.Duration, n uint64) { out = append(out, drained{mean, n}) })
	return out
}

func TestDrainGivesEachBucketsCountAndMeanOnce(t *testing.T) {
	h := New([]float64{0.000001, 0.001})
	h.Record(0)
	h.Record(500 * time.Nanosecond)
	h.Record(time.Microsecond) // bounds are inclusive
	h.Record(10 * time.Microsecond)
	h.Record(30 * time.Microsecond)
	h.Record(time.Second)
	require.Equal(t, []drained{{500, 3}, {20 * time.Microsecond, 2}, {time.Second, 1}}, drain(h))
	require.Empty(t, drain(h), "a second Drain gives only what came since")
	h.Record(2 * time.Second)
	require.Equal(t, []drained{{2 * time.Second, 1}}, drain(h))
}

func TestConcurrentRecordsAreAllDrained(t *testing.T) {
	h := New([]float64{0.000001, 0.00001})
	const goroutines, each = 8, 10000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				h.Record(time.Duration(g*1000 + i%7))
			}
		})
	}
	var total uint64
	stop := make(chan struct{})
	drainer := make(chan struct{})
	go func() {
		defer close(drainer)
		for {
			for _, d := range drain(h) {
				total += d.n
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-drainer
	for _, d := range drain(h) {
		total += d.n
	}
	require.Equal(t, uint64(goroutines*each), total)
}

func BenchmarkRecord(b *testing.B) {
	h := New([]float64{0.000001, 0.00001, 0.0001, 0.001, 0.01, 0.1, 1, 10})
	for b.Loop() {
		h.Record(3 * time.Microsecond)
	}
}

func TestAMeanIsHeldWithinItsBucket(t *testing.T) {
	h := New([]float64{0.000001, 0.001})
	// A count drained before its sum: the bucket's mean would be 0.
	h.counts[2].Add(1)
	got := drain(h)
	require.Len(t, got, 1)
	require.Greater(t, got[0].mean, time.Millisecond, "in the bucket above 1ms")
	h.sums[2].Add(int64(2 * time.Second))
	h.Record(3 * time.Second)
	got = drain(h)
	require.Len(t, got, 1)
	require.Equal(t, uint64(1), got[0].n)
	require.Greater(t, got[0].mean, time.Millisecond)
	// A sum drained before its count: the mean would be far above the bound.
	h.sums[1].Add(int64(500 * time.Microsecond))
	h.Record(time.Microsecond * 2)
	got = drain(h)
	require.LessOrEqual(t, got[0].mean, time.Millisecond)
}
