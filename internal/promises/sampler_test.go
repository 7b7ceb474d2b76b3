package promises_test

// This file counts the servers' clients from the side (CLIENT LIST)
// while a load runs.

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// minSamples is how many times each server is counted under one limit.
const minSamples = 100

// waitLoaded waits until 300 more calls succeeded and every sampler
// counted its server minSamples times.
func waitLoaded(t *testing.T, l *load, ss []*sampler, what string) {
	t.Helper()
	l.waitOK(t, l.ok.Load(), 300, what)
	require.Eventually(t, func() bool {
		for _, s := range ss {
			if s.n.Load() < minSamples {
				return false
			}
		}
		return true
	}, bound, time.Millisecond, "%s: the servers were not counted %d times within %s", what, minSamples, bound)
}

// sampler counts a server's clients every sampleEvery while a load runs.
type sampler struct {
	addr          string
	limit         int64
	n, most, over atomic.Int64
	stop          context.CancelFunc
	done          chan struct{}
}

// sampleServers starts a sampler on each server; the test's cleanup
// stops them.
func sampleServers(t *testing.T, r *rig, limit int) []*sampler {
	var out []*sampler
	for _, srv := range r.servers {
		ctx, cancel := context.WithCancel(context.Background())
		s := &sampler{addr: srv.Addr(), limit: int64(limit), stop: cancel, done: make(chan struct{})}
		go func() {
			defer close(s.done)
			tick := time.NewTicker(sampleEvery)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				c, cancel := context.WithTimeout(ctx, time.Second)
				n, err := srv.ClientCount(c)
				cancel()
				if err != nil {
					continue
				}
				s.n.Add(1)
				if int64(n) > s.most.Load() {
					s.most.Store(int64(n))
				}
				if int64(n) > s.limit {
					s.over.Add(1)
				}
			}
		}()
		t.Cleanup(func() { cancel(); <-s.done })
		out = append(out, s)
	}
	return out
}

// stopSamplers stops the samplers and checks what they saw: enough
// samples, the pool's clients among them, none above the limit.
func stopSamplers(t *testing.T, ss []*sampler, what string) {
	t.Helper()
	for _, s := range ss {
		s.stop()
		<-s.done
		n, most, over := s.n.Load(), s.most.Load(), s.over.Load()
		t.Logf("%s: %d samples, at most %d clients (%s %d)", s.addr, n, most, what, s.limit)
		assert.GreaterOrEqual(t, n, int64(minSamples), "%s: too few samples of the server", s.addr)
		assert.Positive(t, most, "%s: the server never saw a client of the pool", s.addr)
		assert.Zero(t, over, "%s: samples above %s %d (at most %d)", s.addr, what, s.limit, most)
	}
}

// mostClients is the highest client count among the servers; one that
// cannot be counted counts as above any limit.
func mostClients(r *rig) int {
	most := 0
	for _, s := range r.servers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		n, err := s.ClientCount(ctx)
		cancel()
		if err != nil {
			return 1 << 30
		}
		most = max(most, n)
	}
	return most
}
