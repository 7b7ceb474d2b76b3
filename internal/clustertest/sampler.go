package clustertest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Sampler counts a server's connections every few milliseconds.
type Sampler struct {
	limit          int
	n, max, over   atomic.Int64
	stop, finished chan struct{}
	once           sync.Once
}

// Sample starts counting with count every interval; a sample above limit
// is counted as over.
func Sample(limit int, every time.Duration, count func(context.Context) (int, error)) *Sampler {
	s := &Sampler{limit: limit, stop: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(s.finished)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			n, err := count(ctx)
			cancel()
			if err != nil {
				continue
			}
			s.n.Add(1)
			if int64(n) > s.max.Load() {
				s.max.Store(int64(n))
			}
			if n > s.limit {
				s.over.Add(1)
			}
		}
	}()
	return s
}

// Stop stops the sampler (once) and returns how many samples it took, the
// most connections one saw, and how many were above the limit.
func (s *Sampler) Stop() (samples, most, over int64) {
	s.once.Do(func() { close(s.stop) })
	<-s.finished
	return s.n.Load(), s.max.Load(), s.over.Load()
}
