package main

// This file is the dial log of W4's actorpool side: a slog.Handler that
// keeps the broker's "dial failed" and "backend reachable again"
// records, and reads from them the backoff step, the redial due and the
// dial time at the restart.

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"
)

// Messages of the broker's Debug records that dialLog keeps.
const (
	msgDialFailed = "actorpool: dial failed"
	msgReachable  = "actorpool: backend reachable again; refilling"
)

// dialFailure is one "dial failed" record: when, and the redial delay.
type dialFailure struct {
	at      time.Time
	retryIn time.Duration
}

// redialIn is when the probe redials after f: its backoff, brought forward
// to BackoffMin by the callers being failed fast.
func (f *dialFailure) redialIn() time.Duration { return min(f.retryIn, w4BackoffMin) }

// dialLog is the slog.Handler of the actorpool side of W4. It keeps the
// time and retry_in of every "dial failed" record and the time of every
// "backend reachable again" record, and drops everything else. Safe for
// concurrent use.
type dialLog struct {
	mu        sync.Mutex
	failed    []dialFailure
	reachable []time.Time
}

func (h *dialLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *dialLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *dialLog) WithGroup(string) slog.Handler            { return h }

// Handle keeps the records W4 needs, with the time the logger stamped.
func (h *dialLog) Handle(_ context.Context, r slog.Record) error {
	switch r.Message {
	case msgDialFailed:
		f := dialFailure{at: r.Time}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "retry_in" && a.Value.Kind() == slog.KindDuration {
				f.retryIn = a.Value.Duration()
				return false
			}
			return true
		})
		h.mu.Lock()
		h.failed = append(h.failed, f)
		h.mu.Unlock()
	case msgReachable:
		h.mu.Lock()
		h.reachable = append(h.reachable, r.Time)
		h.mu.Unlock()
	}
	return nil
}

// atRestart returns, in milliseconds, the backoff step in effect when the
// server came back at restart: step, the delay of the last failed dial
// before restart (its retry_in, or BackoffMin when that is shorter: while
// callers are failed fast, the probe redials BackoffMin after a failure);
// due, the time from restart to the redial it scheduled (negative: that
// redial had started before); dial, from the scheduled redial that
// succeeded to the broker's "reachable again". Children parked behind
// the probe schedule no redial and log another message. NaN when a record
// is missing.
func (h *dialLog) atRestart(restart time.Time) (step, due, dial float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	step, due, dial = math.NaN(), math.NaN(), math.NaN()
	last := h.lastRedial(restart)
	if last == nil {
		return step, due, dial
	}
	step = msOf(last.redialIn())
	due = msOf(last.at.Add(last.redialIn()).Sub(restart))
	i := slices.IndexFunc(h.reachable, func(t time.Time) bool { return t.After(last.at) })
	if i < 0 {
		return step, due, dial
	}
	back := h.reachable[i]
	won := h.lastRedial(back)
	dial = msOf(back.Sub(won.at.Add(won.redialIn())))
	return step, due, dial
}

// lastRedial is the last failed dial before t that scheduled a redial, or
// nil. The caller holds h.mu.
func (h *dialLog) lastRedial(t time.Time) *dialFailure {
	var last *dialFailure
	for i := range h.failed {
		if f := &h.failed[i]; f.retryIn > 0 && f.at.Before(t) {
			last = f
		}
	}
	return last
}

// msOf is d in milliseconds.
func msOf(d time.Duration) float64 { return float64(d) / 1e6 }
