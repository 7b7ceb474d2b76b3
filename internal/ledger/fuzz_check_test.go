package ledger

import (
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// This file is FuzzLedgerRules's bookkeeping: what each side saw, and the
// checks after every step.

// settle collects the answers goroutine callers got, until every one not
// yet answered is waiting in line, and records the answers actors got.
// Then nothing moves until the next step.
func (w *world) settle() {
	deadline := time.Now().Add(2 * time.Second)
	for {
		for _, gw := range w.waiters {
			if !gw.over {
				select {
				case res := <-gw.done:
					w.answered(gw, res, false)
				default:
				}
			}
		}
		if w.goInLine() == w.goPending() {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("step %d: a goroutine caller neither returned nor waits in line", w.step)
		}
		runtime.Gosched()
	}
	kept := w.queued[:0]
	for _, aw := range w.queued {
		if aw.r.queued {
			kept = append(kept, aw)
			continue
		}
		if aw.r.err == nil {
			w.fifo(aw.seq)
			w.granted(aw.r.slot, aw.r.gen, aw.r.Owner)
		}
	}
	w.queued = kept
}

// collect waits for gw's answer; cancelled says its ctx ended, so a
// lease in the answer would be a lease lost.
func (w *world) collect(gw *goWaiter, cancelled bool) {
	select {
	case res := <-gw.done:
		w.answered(gw, res, cancelled)
	case <-time.After(2 * time.Second):
		w.t.Fatalf("step %d: a cancelled caller did not return", w.step)
	}
}

func (w *world) answered(gw *goWaiter, res result, cancelled bool) {
	gw.over = true
	gw.cancel()
	switch {
	case res.err != nil:
		if cancelled && !errors.Is(res.err, context.Canceled) && !errors.Is(res.err, ErrPoolClosed) &&
			!errors.Is(res.err, ErrAcquireTimeout) && !errors.Is(res.err, ErrBackendUnavailable) {
			w.t.Errorf("step %d: a cancelled caller got %v", w.step, res.err)
		}
	case cancelled:
		w.t.Errorf("step %d: a cancelled caller got a lease", w.step)
	default:
		w.fifo(gw.seq)
		w.granted(res.s, res.gen, nil)
	}
}

// fifo checks that the waiter seq, just granted, was the oldest in line,
// unless overload control served the newest first.
func (w *world) fifo(seq int) {
	if w.overloaded() {
		return
	}
	for _, gw := range w.waiters {
		if !gw.over && gw.seq < seq {
			w.t.Errorf("step %d: a grant passed over an older goroutine waiter", w.step)
		}
	}
	for _, aw := range w.queued {
		if aw.r.queued && aw.seq < seq {
			w.t.Errorf("step %d: a grant passed over an older actor's request", w.step)
		}
	}
}

func (w *world) granted(s *Slot[int], gen uint64, owner *actor.PID) {
	switch {
	case w.closed:
		w.t.Errorf("step %d: %v granted after Close", w.step, s)
	case w.active(s) != nil:
		w.t.Errorf("step %d: %v granted while a lease holds it", w.step, s)
	}
	w.leases = append(w.leases, &lease{s: s, gen: gen, owner: owner})
}

func (w *world) end(le *lease, broken bool) {
	err := w.l.End(le.s, le.gen, broken, nil)
	switch {
	case !le.ended && err != nil:
		w.t.Errorf("step %d: ending a lease held: %v", w.step, err)
	case le.revoked && !errors.Is(err, ErrLeaseRevoked):
		w.t.Errorf("step %d: ending a revoked lease returned %v", w.step, err)
	case le.ended && !le.revoked && !errors.Is(err, ErrLeaseReleased):
		w.t.Errorf("step %d: ending a lease twice returned %v", w.step, err)
	}
	le.ended = true
}

// pick returns the n-th lease still held (ended false) or over.
func (w *world) pick(n int, ended bool) *lease {
	var from []*lease
	for _, le := range w.leases {
		if le.ended == ended {
			from = append(from, le)
		}
	}
	if len(from) == 0 {
		return nil
	}
	return from[n%len(from)]
}

// active is the lease holding s, nil when none.
func (w *world) active(s *Slot[int]) *lease {
	for _, le := range w.leases {
		if le.s == s && !le.ended {
			return le
		}
	}
	return nil
}

// waiting is the n-th goroutine caller not answered yet.
func (w *world) waiting(n int) *goWaiter {
	var in []*goWaiter
	for _, gw := range w.waiters {
		if !gw.over {
			in = append(in, gw)
		}
	}
	if len(in) == 0 {
		return nil
	}
	return in[n%len(in)]
}

func (w *world) goPending() (n int) {
	for _, gw := range w.waiters {
		if !gw.over {
			n++
		}
	}
	return n
}

func (w *world) goInLine() int { return len(w.goRequests()) }

// goRequests are the goroutine callers' requests in line, oldest first.
func (w *world) goRequests() (rs []*Request[int]) {
	w.l.lock()
	defer w.l.mu.Unlock()
	for r := w.l.line.head; r != nil; r = r.next {
		if r.ReplyTo == nil {
			rs = append(rs, r)
		}
	}
	return rs
}

func (w *world) alive() []*Slot[int] {
	w.l.lock()
	defer w.l.mu.Unlock()
	return append([]*Slot[int](nil), w.l.live...)
}

// handed are the idle connections on their way to the broker.
func (w *world) handed() (hs []*Slot[int]) {
	w.l.lock()
	defer w.l.mu.Unlock()
	placed := map[*Slot[int]]bool{}
	for _, s := range append(append(append([]*Slot[int](nil), w.l.stack...), w.l.stale...), w.pinging...) {
		placed[s] = true
	}
	for _, s := range w.l.live {
		if s.state == stIdle && !placed[s] {
			hs = append(hs, s)
		}
	}
	return hs
}

// check holds the ledger to the rules after a step.
func (w *world) check() {
	t, l := w.t, w.l
	st := l.Stats()
	if st.Total != st.Idle+st.Leased+st.Dialing || st.Idle < 0 || st.Leased < 0 || st.Dialing < 0 {
		t.Errorf("step %d: stats do not add up: %+v", w.step, st)
	}
	if st.Waiting != w.goPending()+len(w.queued) {
		t.Errorf("step %d: %d waiting, %d callers and %d actors in line", w.step, st.Waiting, w.goPending(), len(w.queued))
	}
	l.lock()
	defer l.mu.Unlock()
	if len(l.stack) > 0 && l.line.n > 0 {
		t.Errorf("step %d: %d idle on the stack while %d wait", w.step, len(l.stack), l.line.n)
	}
	if l.closed.Load() && l.line.n > 0 {
		t.Errorf("step %d: %d wait after Close", w.step, l.line.n)
	}
	byState := map[slotState]int{}
	for i, s := range l.live {
		byState[s.state]++
		if s.liveAt != i {
			t.Errorf("step %d: %v at %d of live thinks it is at %d", w.step, s, i, s.liveAt)
		}
		le := w.active(s)
		switch {
		case s.state == stLeased && (le == nil || le.gen != s.gen):
			t.Errorf("step %d: %v is leased (gen %d) but no holder has that lease", w.step, s, s.gen)
		case s.state != stLeased && le != nil:
			t.Errorf("step %d: a holder has %v, which is not leased", w.step, s)
		}
	}
	seen := map[*Slot[int]]bool{}
	for _, s := range append(append(append([]*Slot[int](nil), l.stack...), l.stale...), w.pinging...) {
		if seen[s] || s.state != stIdle || s.liveAt < 0 {
			t.Errorf("step %d: %v idle twice, or idle while %d", w.step, s, s.state)
		}
		seen[s] = true
	}
	if len(w.pinging) != l.checking {
		t.Errorf("step %d: %d out for a ping, ledger counts %d", w.step, len(w.pinging), l.checking)
	}
	if byState[stIdle] != l.idle() || byState[stEnded] != l.ended {
		t.Errorf("step %d: %d idle and %d ended, ledger counts %d and %d", w.step, byState[stIdle], byState[stEnded], l.idle(), l.ended)
	}
	if len(l.live) != byState[stIdle]+byState[stLeased]+byState[stEnded] {
		t.Errorf("step %d: a live connection is gone: %v", w.step, byState)
	}
	for _, le := range w.leases {
		if !le.ended && (le.s.state != stLeased || le.s.gen != le.gen) {
			t.Errorf("step %d: a lease on %v is held but the ledger ended it", w.step, le.s)
		}
	}
}

// finish closes the ledger, ends what is held, lets every actor and the
// broker finish, and checks that every connection came back.
func (w *world) finish() {
	w.l.Close()
	w.closed = true
	w.settle()
	for _, le := range w.leases {
		if !le.ended {
			w.end(le, false)
		}
	}
	for range 2 {
		for _, s := range w.alive() {
			if s.state == stEnded {
				w.l.Returned(s)
			}
		}
		w.place()
	}
	for len(w.pinging) > 0 {
		w.pinged(0)
	}
	w.place()
	w.check()
	if !w.l.Drained() {
		w.t.Errorf("not drained after Close: %+v", w.l.Stats())
	}
	for _, gw := range w.waiters {
		if !gw.over {
			w.t.Errorf("a goroutine caller still waits after Close")
		}
	}
	w.l.Stopped()
}
