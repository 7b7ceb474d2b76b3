package main

// This file is the watcher: every 100 ms it holds each pool's Stats to
// invariant 5, and each server's connection count to the pools' MaxConns
// plus the connections known to be closing.

import (
	"context"
	"time"

	"github.com/actorpool/actorpool"
)

// closingWindow: a connection a pool let go of within this long may still
// be on the server's list (through the proxy, with slow_close, or while
// the server is paused and has not read the close yet).
const closingWindow = 5 * time.Second

// sample is the pools' state at one instant, for one server.
type sample struct {
	at       time.Time
	maxConns int
	closes   uint64
}

// watcher samples until stop is closed; done is closed when it returns.
type watcher struct {
	t    *tally
	srv  *servers
	ps   *pools
	stop chan struct{}
	done chan struct{}

	history [2][]sample // per target, the last closingWindow of samples

	// seen is, per target, the most connections the server showed, and
	// over how many samples it showed more than MaxConns (the excess
	// being connections still closing).
	seen [2]serverCount
}

// serverCount sums up a server's counts over the run.
type serverCount struct {
	most, mostMax, samples, aboveMax int
}

func (w *watcher) run() {
	defer close(w.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		checkStats(w.t, w.ps, false)
		w.check(redisTarget, []actorpool.Stats{w.ps.redisLease.Stats(), w.ps.redisCmd.Stats()}, w.srv.redisClients)
		w.check(mariaTarget, []actorpool.Stats{w.ps.maria.Stats()}, w.srv.maria.SessionCount)
	}
}

// check compares the server's count of the pools' connections with what
// the pools may have: the highest MaxConns of the window plus the
// connections they let go of in it.
func (w *watcher) check(target int, stats []actorpool.Stats, count func(context.Context) (int, error)) {
	now := time.Now()
	s := sample{at: now}
	for _, st := range stats {
		s.maxConns += st.MaxConns()
		s.closes += closes(st)
	}
	h := append(w.history[target], s)
	for len(h) > 1 && now.Sub(h[0].at) > closingWindow {
		h = h[1:]
	}
	w.history[target] = h
	allowed := 0
	for _, x := range h {
		allowed = max(allowed, x.maxConns)
	}
	allowed += int(s.closes - h[0].closes)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	n, err := count(ctx)
	cancel()
	if err != nil {
		return // the server is down or paused: nothing to count
	}
	c := &w.seen[target]
	c.samples++
	if n > c.most {
		c.most, c.mostMax = n, s.maxConns
	}
	if n > s.maxConns {
		c.aboveMax++
	}
	if n > allowed {
		w.t.violate("%s: the server sees %d connections, the pools may have %d", targetNames[target], n, allowed)
	}
}

// drained waits until neither server sees any of the pools' connections,
// at most 5 s, and records a violation for each that still does.
func drained(t *tally, srv *servers) {
	for target, count := range []func(context.Context) (int, error){srv.redisClients, srv.maria.SessionCount} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			n, err := count(ctx)
			cancel()
			if err == nil && n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.violate("%s: %d connections left on the server after Close (%v)", targetNames[target], n, err)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
