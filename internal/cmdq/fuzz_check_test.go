package cmdq

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// This file is FuzzQueueRules's bookkeeping: the callers' side, and the
// checks after every step.

// waiting is the n-th caller (in order of arrival, wrapping) whose op is
// pushed and not answered; canEnd picks among those whose ctx can end.
func (w *world) waiting(n int, canEnd bool) *call {
	var ws []*call
	for _, c := range w.calls {
		if c.o != nil && (c.at == inQueue || c.at == inBatch || c.at == inDirect) && (!canEnd || c.cancel != nil) {
			ws = append(ws, c)
		}
	}
	if len(ws) == 0 {
		return nil
	}
	return ws[n%len(ws)]
}

// cancel ends c's ctx, and c does what Pool.Do does then: it takes its
// answer if it has one, else abandons its op and leaves, else (the answer
// won) waits for the answer on its way.
func (w *world) cancel(c *call) {
	c.cancel()
	select {
	case <-c.o.Done():
		w.answer(c, false)
		return
	default:
	}
	if c.o.Abandon() {
		c.left = c.at == inQueue
		c.at, c.o = gone, nil // the op is the writer's now
		return
	}
	select {
	case <-c.o.Done():
		w.answer(c, false)
	case <-time.After(2 * time.Second):
		w.t.Fatalf("step %d: call %d lost the race to an answer that never came", w.step, c.id)
	}
}

// collect takes the answers that are there.
func (w *world) collect() {
	for _, c := range w.calls {
		if c.o == nil || c.at == gone {
			continue
		}
		select {
		case <-c.o.Done():
			w.answer(c, false)
		default:
		}
	}
}

// answer checks the answer c just took (its token consumed unless
// pushed: a direct write on c's goroutine, whose token is still there)
// and ends the call, or pushes its op again when it came back unwritten.
func (w *world) answer(c *call, pushed bool) {
	if pushed {
		select {
		case <-c.o.Done():
		default:
			w.t.Errorf("step %d: call %d: a direct write on its goroutine ended without an answer", w.step, c.id)
			return
		}
	}
	err, writes := c.o.Err(), c.writes.Load()-c.before
	if p := w.q.Pending(); p != w.pending {
		w.t.Errorf("step %d: call %d has its answer while %d ops are pending, want %d", w.step, c.id, p, w.pending)
	}
	if c.at != idle {
		w.t.Errorf("step %d: call %d answered while its op is %v", w.step, c.id, c.at)
	}
	switch {
	case err == nil, errors.Is(err, errBroke):
		if writes != 1 {
			w.t.Errorf("step %d: call %d answered %v after %d writes", w.step, c.id, err, writes)
		}
	case errors.Is(err, ErrNotWritten):
		if writes != 0 {
			w.t.Errorf("step %d: call %d came back unwritten after %d writes", w.step, c.id, writes)
		}
		c.o.Requeue()
		w.push(c) // as Do does
		return
	case errors.Is(err, context.Canceled):
		if writes > 1 {
			w.t.Errorf("step %d: call %d written %d times", w.step, c.id, writes)
		}
	default:
		w.t.Errorf("step %d: call %d answered %v", w.step, c.id, err)
	}
	Put(c.o)
	c.o = nil
}

// check checks the rules after a step.
func (w *world) check() {
	if w.pending < 0 {
		w.t.Errorf("step %d: the model counts %d ops pending", w.step, w.pending)
	}
	if p := w.q.Pending(); p != w.pending {
		w.t.Errorf("step %d: %d ops pending, want %d", w.step, p, w.pending)
	}
	if n := w.set.Commands.Load(); n != uint64(w.written) {
		w.t.Errorf("step %d: %d commands counted, want %d written", w.step, n, w.written)
	}
	if w.q.Live() == w.closed {
		w.t.Errorf("step %d: the queue's Live is %v after Close or Fail: %v", w.step, w.q.Live(), w.closed)
	}
	if w.direct != nil && w.batch != nil {
		w.t.Errorf("step %d: a direct write and a batch in flight at once", w.step)
	}
	w.q.mu.Lock()
	stuck := (len(w.q.ops) > 0 || w.q.ending) && !w.q.busy && !w.q.poked
	w.q.mu.Unlock()
	if stuck {
		w.t.Errorf("step %d: the queue has work for the actor, and no drain on its way", w.step)
	}
	for _, c := range w.calls {
		if d := c.writes.Load() - c.before; d > 1 {
			w.t.Errorf("step %d: call %d written %d times", w.step, c.id, d)
		}
		if c.left && c.writes.Load() != c.before {
			w.t.Errorf("step %d: call %d written after its caller abandoned it queued", w.step, c.id)
		}
	}
}

// queuedAny reports whether ops (abandoned ones included) are queued.
func (w *world) queuedAny() bool {
	w.q.mu.Lock()
	defer w.q.mu.Unlock()
	return len(w.q.ops) > 0
}

// until waits for cond, which another goroutine makes true.
func (w *world) until(what string, cond func() bool) {
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("step %d: %s", w.step, what)
		}
		runtime.Gosched()
	}
}

// finish plays the run to its end, as the actor and the callers would:
// every write gets its reply, everything queued is written, every caller
// takes its answer. Then every caller that did not leave has one, and no
// op is pending.
func (w *world) finish() {
	if w.t.Failed() {
		w.releaseAll()
		return
	}
	for range 1000 {
		w.replyDirect(false)
		w.reply(false)
		w.take(256, 1<<20)
		w.reply(false)
		w.collect()
		if w.direct == nil && w.batch == nil && !w.queuedAny() && w.waiting(0, false) == nil && !w.unanswered() {
			break
		}
		runtime.Gosched()
	}
	w.check()
	for _, c := range w.calls {
		if c.o != nil && c.at != gone {
			w.t.Errorf("call %d never had its answer (op %v)", c.id, c.at)
		}
	}
	if w.pending != 0 {
		w.t.Errorf("%d ops pending once every caller had its answer", w.pending)
	}
	w.releaseAll()
}

// unanswered reports whether an answered op's token is still on its way
// (a direct write's goroutine sends it after the queue is free).
func (w *world) unanswered() bool {
	for _, c := range w.calls {
		if c.o != nil && c.at == idle {
			return true
		}
	}
	return false
}

// releaseAll lets every goroutine still writing go, and ends every ctx.
func (w *world) releaseAll() {
	if w.direct != nil {
		w.direct.release <- nil
	}
	for _, c := range w.calls {
		if c.cancel != nil {
			c.cancel()
		}
	}
}
