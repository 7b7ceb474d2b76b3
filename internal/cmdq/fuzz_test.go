package cmdq

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// FuzzQueueRules decodes its input as a sequence of steps, two bytes each
// (what, which), and plays them on one queue from every side: callers
// push ops whose ctx can end or not, give up (Abandon) and collect their
// answers, pushing again what came back unwritten, as Pool.Do does; a
// direct write in flight on its own goroutine gets its reply; the
// connection actor takes a batch, and later writes it and answers it, or
// breaks and bounces what queued, as actors/pipeline.go does; the
// dispatcher closes and reopens the queue. After every step it checks the
// rules (see check): every op answered at most once and only if its caller
// waits, nothing written twice, nothing written once its caller abandoned
// it queued, nothing taken once closed, the pending count exact and never
// negative, and no queued work without a drain on its way.
//
// The seed corpus under testdata/fuzz/FuzzQueueRules runs with every plain
// go test; go test -fuzz FuzzQueueRules ./internal/cmdq explores.
func FuzzQueueRules(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 2, 3, 3, 1, 6, 0})
	f.Add([]byte{1, 0, 1, 1, 1, 2, 5, 1, 4, 1, 2, 3, 5, 0, 3, 1, 6, 0})
	f.Fuzz(func(t *testing.T, steps []byte) {
		if len(steps) > 400 {
			steps = steps[:400]
		}
		w := newWorld(t)
		defer w.finish()
		for i := 0; i+1 < len(steps); i += 2 {
			w.step = i / 2
			w.do(steps[i], steps[i+1])
			w.check()
			if t.Failed() {
				t.FailNow()
			}
		}
	})
}

var errBroke = errors.New("cmdq fuzz: the connection broke")

// world is one run: the queue, and what each side knows of it.
type world struct {
	t     *testing.T
	q     *Queue
	set   *Set
	step  int
	gen   uint64
	pokes atomic.Int32

	calls   []*call
	batch   []*Op  // the actor's batch in flight: taken, claimed, not yet answered
	live    []bool // for each op of batch: its ctx was live when claimed, so it is written
	taken   int    // ops Take handed over for that batch, dropped ones included
	direct  *call  // the call a goroutine writes directly, until its reply
	pending int    // what q.Pending must read
	written int    // ops written: what the Set's Commands must read
	sampled int    // ops written since the last Sample
	closed  bool   // Close or Fail since Open: Push must refuse work
	ending  bool   // Close since Open, and Ending has not said so yet
}

// where a call's op is.
type where int

const (
	idle     where = iota // not pushed, or answered and not pushed again
	inQueue               // in the queue
	inBatch               // in the actor's batch in flight
	inDirect              // in a direct write in flight
	gone                  // its caller abandoned it, or gave up on this queue
)

// call is one caller, and the work of its op.
type call struct {
	id      int
	ctx     context.Context
	cancel  context.CancelFunc // nil: ctx cannot end
	o       *Op                // nil once abandoned
	at      where
	writes  atomic.Int32 // times its work was written
	before  int32        // writes before this push
	release chan error   // the reply to its direct write on a goroutine
	err     error        // the reply to its direct write on the caller's goroutine
	left    bool         // abandoned while queued: must never be written
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, gen: 1}
	w.set = NewSet(func() {})
	w.q = NewQueue(func() { w.pokes.Add(1) }, w.set)
	w.q.Write = func(work []any) error { // direct writes only
		c := work[0].(*call)
		c.writes.Add(1)
		if c.cancel == nil {
			return c.err // on the caller's goroutine: the reply is there at once
		}
		return <-c.release
	}
	w.q.Open(w.gen)
	return w
}

// do plays one step.
func (w *world) do(what, which byte) {
	n := int(which)
	switch what % 11 {
	case 0: // a caller whose ctx cannot end pushes
		c := w.newCall(false)
		if n%7 == 6 {
			c.err = errBroke
		}
		w.push(c)
	case 1: // a caller whose ctx can end pushes
		w.push(w.newCall(true))
	case 2: // the actor drains: it takes a batch
		w.take(1+n%4, 1+n%16)
	case 3: // the actor's batch gets its replies, or the connection breaks
		w.reply(n%5 == 4)
	case 4: // the direct write in flight gets its reply
		w.replyDirect(n%5 == 4)
	case 5: // a caller's ctx ends
		if c := w.waiting(n, true); c != nil {
			w.cancel(c)
		}
	case 6: // callers look for their answers
		w.collect()
	case 7: // the dispatcher closes the queue
		w.q.Close()
		w.ending = w.ending || !w.closed
		w.closed = true
	case 8: // the actor stops: what queued goes back to its callers
		if w.batch == nil {
			w.bounce()
		}
	case 9: // the dispatcher opens the closed, empty, idle queue on a new lease
		if w.closed && w.batch == nil && w.direct == nil && !w.queuedAny() {
			if w.ending { // the actor ends the lease first
				w.drained()
			}
			w.gen++
			w.q.Open(w.gen)
			w.closed, w.ending = false, false
		}
	case 10: // the dispatcher's tick
		taken, _ := w.q.Sample()
		if int(taken) != w.sampled {
			w.t.Errorf("step %d: Sample counted %d ops written, want %d", w.step, taken, w.sampled)
		}
		w.sampled = 0
	}
}

func (w *world) newCall(canEnd bool) *call {
	c := &call{id: len(w.calls), ctx: context.Background()}
	if canEnd {
		c.ctx, c.cancel = context.WithCancel(context.Background())
		c.release = make(chan error, 1)
	}
	w.calls = append(w.calls, c)
	return c
}

// push hands c's op to the queue, as Pool.Do does.
func (w *world) push(c *call) {
	if c.o == nil {
		c.o = Get(c.ctx, c, 1+c.id%5)
	}
	if len(c.o.done) != 0 {
		w.t.Errorf("step %d: call %d: a fresh op carries an answer", w.step, c.id)
	}
	c.before = c.writes.Load()
	if !w.q.Push(c.o) {
		if !w.closed {
			w.t.Errorf("step %d: call %d: an open queue refused work", w.step, c.id)
		}
		c.at = gone // Do pushes it to another queue
		return
	}
	if w.closed {
		w.t.Errorf("step %d: call %d: a closed queue took work", w.step, c.id)
	}
	w.pending++
	c.at = inQueue
	if c.cancel == nil { // a direct write is over when Push returns
		if c.writes.Load() > c.before {
			c.at = idle
			w.pending--
			w.wrote(1)
			w.answer(c, true)
		}
		return
	}
	// A direct write starts on a goroutine: wait until it is in flight,
	// unless the op queued.
	w.until("a pushed op neither queued nor went out", func() bool {
		w.q.mu.Lock()
		defer w.q.mu.Unlock()
		return c.writes.Load() > c.before || (len(w.q.ops) > 0 && w.q.ops[len(w.q.ops)-1] == c.o)
	})
	if c.writes.Load() > c.before {
		c.at, w.direct = inDirect, c
	}
}

// take is the first half of the actor's drain: a connection broken by a
// direct write is bounced; else it takes a batch and claims its ops, or,
// with nothing to take, ends the lease if the queue was closed.
func (w *world) take(maxOps, maxBytes int) {
	if w.batch != nil {
		return // the actor is inside one drain
	}
	if err := w.q.Broken(); err != nil {
		w.bounce()
		return
	}
	batch, _ := w.q.Take(nil, maxOps, maxBytes)
	if len(batch) == 0 {
		w.drained()
		return
	}
	if w.direct != nil {
		w.t.Errorf("step %d: the actor took a batch while a direct write was in flight", w.step)
	}
	w.taken = len(batch)
	w.batch, w.live = []*Op{}, nil
	for _, o := range batch {
		c := o.Work.(*call)
		if !o.Claim() {
			if !c.left {
				w.t.Errorf("step %d: call %d: a waiting caller's op could not be claimed", w.step, c.id)
			}
			Put(o)
			continue
		}
		c.at = inBatch
		w.batch = append(w.batch, o)
		w.live = append(w.live, o.Ctx.Err() == nil)
	}
}

// reply is the second half: the batch is written (its ops whose ctx had
// ended when claimed are not), the queue records it, and each op is
// answered; a broken connection then bounces what queued.
func (w *world) reply(broke bool) {
	if w.batch == nil {
		return
	}
	var err error
	if broke {
		err = errBroke
	}
	n := 0
	for i, o := range w.batch {
		if w.live[i] {
			o.Work.(*call).writes.Add(1)
			n++
		}
	}
	if n > 0 {
		w.q.Wrote(n)
		w.wrote(n)
	}
	again := w.q.Written(w.taken)
	w.pending -= w.taken
	batch := w.batch
	w.batch, w.live, w.taken = nil, nil, 0
	for _, o := range batch {
		c := o.Work.(*call)
		if c.at == inBatch {
			c.at = idle
		}
		if e := o.Ctx.Err(); e != nil {
			o.Finish(e)
		} else {
			o.Finish(err)
		}
	}
	switch {
	case broke:
		w.bounce()
	case !again:
		w.drained()
	}
}

// replyDirect lets the direct write in flight have its reply and waits
// until the queue is free again.
func (w *world) replyDirect(broke bool) {
	c := w.direct
	if c == nil {
		return
	}
	var err error
	if broke {
		err = errBroke
	}
	c.release <- err
	w.until("a direct write did not end", func() bool {
		w.q.mu.Lock()
		defer w.q.mu.Unlock()
		return !w.q.busy
	})
	w.direct = nil
	if c.at == inDirect { // its caller waits: the answer follows
		c.at = idle
		w.until("a direct write's caller got no answer", func() bool { return len(c.o.done) == 1 })
	}
	w.pending--
	w.wrote(1)
}

// bounce is what the actor does when its connection breaks or it stops:
// the queue takes no more work, and what queued goes back to its callers.
func (w *world) bounce() {
	ops := w.q.Fail()
	w.pending -= len(ops)
	w.closed, w.ending = true, false
	for _, o := range ops {
		c := o.Work.(*call)
		if !o.Claim() {
			Put(o)
			continue
		}
		c.at = idle
		o.Finish(ErrNotWritten)
	}
}

// drained is the actor finding nothing to write: Ending says whether
// the lease ends, once, after Close.
func (w *world) drained() {
	ended := w.q.Ending()
	if ended != (w.ending && w.direct == nil && !w.queuedAny()) {
		w.t.Errorf("step %d: Ending said %v; closed by Close %v, direct write %v, queued %v",
			w.step, ended, w.ending, w.direct != nil, w.queuedAny())
	}
	if ended {
		w.ending = false
	}
}

func (w *world) wrote(n int) {
	w.written += n
	w.sampled += n
}
