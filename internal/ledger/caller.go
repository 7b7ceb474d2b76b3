package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// This file is the caller's side: Acquire, on the caller's goroutine.

// Request is one acquire waiting in line. A goroutine caller's request is
// pooled and reused with its timer; an actor's is made by the broker.
//
// Who touches what: the creator fills ReplyTo, Owner and Deadline before
// the request is queued; everything else is guarded by the ledger's lock,
// except timer, which belongs to the waiting goroutine.
type Request[C any] struct {
	// ReplyTo receives the answer as a message (actor callers); nil for a
	// goroutine, which waits on done.
	ReplyTo *actor.PID
	// Owner is the actor whose stop reclaims the lease (actor callers).
	Owner *actor.PID
	// Deadline is when the broker fails an actor's request, Timeout after
	// it arrived (actor callers).
	Deadline time.Time
	Timeout  time.Duration

	stack []byte

	// the answer
	slot *Slot[C]
	gen  uint64
	err  error
	done chan struct{} // buffered(1), goroutine callers; signalled once answered

	timer   *time.Timer // the goroutine's own deadline; runs expire
	timeout time.Duration
	expired bool // expire answered it (under the lock)

	// in line
	prev, next *Request[C]
	queued     bool
}

func (l *Ledger[C]) newRequest() *Request[C] {
	r := &Request[C]{done: make(chan struct{}, 1)}
	r.timer = time.AfterFunc(time.Hour, func() { l.expire(r) })
	r.timer.Stop()
	return r
}

// Acquire leases a connection to a goroutine caller: from the stack when
// nobody waits (no message, no allocation), else after waiting in line
// until a holder, a connection actor or the broker hands it one, ctx ends
// (ctx's error), or timeout passes (ErrAcquireTimeout). It fails at once
// with ErrPoolClosed, the circuit's error, or ErrTooManyWaiters. stack is
// recorded with the lease when leak warnings are on.
func (l *Ledger[C]) Acquire(ctx context.Context, timeout time.Duration, stack []byte) (*Slot[C], uint64, error) {
	l.lock()
	if l.line.n == 0 && len(l.stack) > 0 && !l.closed {
		s := l.pop()
		gen := l.grant(s, nil, stack)
		l.mu.Unlock()
		return s, gen, nil
	}
	o := l.outbox()
	if err := l.admit(&o); err != nil {
		l.mu.Unlock()
		l.send(&o)
		return nil, 0, err
	}
	r := l.reqs.Get().(*Request[C])
	r.stack = stack
	l.line.pushBack(r)
	o.nudge = l.wantsBroker()
	l.mu.Unlock()
	l.send(&o)
	return l.wait(ctx, r, timeout)
}

// admit decides whether a new request may join the line; its error is the
// answer when not. A caller failed fast nudges the broker (o non-nil), so
// that the probe may redial sooner; the broker, admitting an actor's
// request, passes nil and acts itself. Under the lock.
func (l *Ledger[C]) admit(o *outbox[C]) error {
	switch {
	case l.closed:
		return ErrPoolClosed
	case l.failFast != nil:
		l.n.FailedFast++
		if o != nil && !l.nudged {
			o.nudge, l.nudged = true, true
		}
		return l.failFast
	case l.cfg.MaxWaiters > 0 && l.line.n >= l.cfg.MaxWaiters:
		l.n.Rejected++
		return ErrTooManyWaiters
	}
	return nil
}

// wantsBroker reports, for a request that just joined the line, whether
// the broker must be nudged: the waiters outnumber the connections on
// their way and the pool may grow, or idle connections need a ping before
// they can be lent. Under the lock.
func (l *Ledger[C]) wantsBroker() bool {
	if l.nudged {
		return false
	}
	if l.total < l.max && l.line.n > l.coming() || len(l.stale) > 0 {
		l.nudged = true
	}
	return l.nudged
}

// wait parks the caller until its request is answered, ctx ends, or its
// own timer (armed here, for timeout) takes it out of the line.
func (l *Ledger[C]) wait(ctx context.Context, r *Request[C], timeout time.Duration) (*Slot[C], uint64, error) {
	r.timeout = timeout
	r.timer.Reset(timeout)
	if done := ctx.Done(); done != nil {
		select {
		case <-r.done:
		case <-done:
			return l.withdraw(r, ctx.Err())
		}
	} else {
		<-r.done
	}
	// r.expired is written by expire before it signals done: safe to read.
	if !r.timer.Stop() && !r.expired {
		// The timer fired as the answer came, and its function may still
		// look at r: leave r to it and the collector.
		return r.slot, r.gen, r.err
	}
	return l.recycle(r)
}

// expire is the waiter's timer: past its deadline, the request leaves the
// line and its caller gets ErrAcquireTimeout. A request answered already
// is left alone.
func (l *Ledger[C]) expire(r *Request[C]) {
	l.lock()
	if !r.queued {
		l.mu.Unlock()
		return
	}
	l.line.remove(r)
	l.n.Timeouts++
	r.expired = true
	r.err = fmt.Errorf("%w after %s", ErrAcquireTimeout, r.timeout)
	l.mu.Unlock()
	r.done <- struct{}{}
}

// withdraw takes r out of the line after its caller's ctx ended. If it was
// answered meanwhile, a lease in the answer goes back to the pool: a grant
// that races with a cancellation is never lost.
func (l *Ledger[C]) withdraw(r *Request[C], cause error) (*Slot[C], uint64, error) {
	l.lock()
	if r.queued {
		l.line.remove(r)
		l.mu.Unlock()
		if r.timer.Stop() {
			r.stack = nil
			l.reqs.Put(r)
		}
		return nil, 0, cause
	}
	l.mu.Unlock()
	<-r.done // whoever answered wakes it right after unlocking
	stopped := r.timer.Stop()
	s, gen, err := r.slot, r.gen, r.err
	if stopped {
		l.recycle(r)
	}
	if err == nil {
		_ = l.End(s, gen, false, nil)
	}
	return nil, 0, cause
}

// recycle takes the answer out of r, whose done was received, and pools r.
func (l *Ledger[C]) recycle(r *Request[C]) (*Slot[C], uint64, error) {
	s, gen, err := r.slot, r.gen, r.err
	r.slot, r.err, r.stack, r.expired = nil, nil, nil, false
	l.reqs.Put(r)
	return s, gen, err
}

// pop takes the most recently used connection off the stack. Under the
// lock, with the stack not empty.
func (l *Ledger[C]) pop() *Slot[C] {
	n := len(l.stack) - 1
	s := l.stack[n]
	l.stack[n] = nil
	l.stack = l.stack[:n]
	return s
}

// line is the FIFO of waiters, linked through the requests themselves so
// that queueing allocates nothing. Under the lock.
type line[C any] struct {
	head, tail *Request[C]
	n          int
}

func (q *line[C]) pushBack(r *Request[C]) {
	r.prev, r.next, r.queued = q.tail, nil, true
	if q.tail == nil {
		q.head = r
	} else {
		q.tail.next = r
	}
	q.tail = r
	q.n++
}

func (q *line[C]) remove(r *Request[C]) {
	if r.prev == nil {
		q.head = r.next
	} else {
		r.prev.next = r.next
	}
	if r.next == nil {
		q.tail = r.prev
	} else {
		r.next.prev = r.prev
	}
	r.prev, r.next, r.queued = nil, nil, false
	q.n--
}

// popFront takes the oldest waiter out of the line; nil when none.
func (q *line[C]) popFront() *Request[C] {
	r := q.head
	if r != nil {
		q.remove(r)
	}
	return r
}
