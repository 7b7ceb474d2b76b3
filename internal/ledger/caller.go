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
// Who touches what: ReplyTo, Owner, Timeout and Deadline are set when the
// request joins the line and read-only after; everything else is guarded
// by the ledger's lock, except timer, which belongs to the waiting
// goroutine.
type Request[C any] struct {
	// ReplyTo receives the answer as a message (actor callers); nil for a
	// goroutine, which waits on done.
	ReplyTo *actor.PID
	// Owner is the actor whose stop reclaims the lease (actor callers).
	Owner *actor.PID
	// Tag is the actor's correlation tag, echoed in the answer.
	Tag any
	// Deadline is when the request times out, Timeout after it arrived:
	// by the broker's timer for an actor, by its own for a goroutine.
	Deadline time.Time
	Timeout  time.Duration
	// Internal: the pool's own request (command mode growing); its
	// timeout is no caller's and is not counted in Timeouts.
	Internal bool

	stack    []byte
	queuedAt int64         // when it joined the line (clock)
	waited   time.Duration // from queuedAt to the grant, when the ledger is timed

	// the answer
	slot *Slot[C]
	gen  uint64
	err  error
	done chan struct{} // buffered(1), goroutine callers; signalled once answered

	// a goroutine's own deadline: timer runs expire
	timer   *time.Timer
	armed   bool // timer is set to fire (at firesAt)
	firesAt time.Time

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
	if s, gen, ok := l.takeIdle(nil, stack); ok {
		l.mu.Unlock()
		if waited := l.cfg.Waited; waited != nil {
			waited(0)
		}
		return s, gen, nil
	}
	o := l.outbox()
	if err := l.admit(&o); err != nil {
		l.mu.Unlock()
		l.send(&o)
		return nil, 0, err
	}
	r := l.reqs.Get().(*Request[C])
	r.stack, r.Timeout = stack, timeout
	now := time.Now()
	r.Deadline, r.queuedAt = now.Add(timeout), onClock(now)
	// The request's timer may still be armed from an earlier wait, for an
	// earlier time: it then re-arms itself for this deadline (expire).
	arm := !r.armed || r.firesAt.After(r.Deadline)
	if arm {
		r.armed, r.firesAt = true, r.Deadline
	}
	l.line.pushBack(r)
	o.nudge = l.wantsBroker()
	l.mu.Unlock()
	l.send(&o)
	if arm {
		r.timer.Reset(timeout)
	}
	return l.wait(ctx, r)
}

// takeIdle lends an idle connection (pop: the most recently used, or with
// FIFO the longest idle) when nobody waits and the pool is open. Under the
// lock.
func (l *Ledger[C]) takeIdle(owner *actor.PID, stack []byte) (*Slot[C], uint64, bool) {
	if l.line.n > 0 || len(l.stack) == 0 || l.closed.Load() {
		return nil, 0, false
	}
	s := l.pop()
	return s, l.grant(s, owner, stack), true
}

// admit decides whether a new request may join the line; its error is the
// answer when not. A caller failed fast nudges the broker (o non-nil), so
// that the probe may redial sooner; the broker, admitting an actor's
// request, passes nil and acts itself. Under the lock.
func (l *Ledger[C]) admit(o *outbox[C]) error {
	switch {
	case l.closed.Load():
		return ErrPoolClosed
	case l.failFast != nil:
		l.n.FailedFast++
		if o != nil && !l.nudged {
			o.nudge, l.nudged = true, true
		}
		return l.failFast
	case l.cfg.MaxWaiters > 0 && l.line.callers() >= l.cfg.MaxWaiters:
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
	if l.want() > 0 || len(l.stale) > 0 {
		l.nudged = true
	}
	return l.nudged
}

// wait parks the caller until its request is answered (by a holder, a
// connection actor, the broker, or its own timer) or ctx ends.
func (l *Ledger[C]) wait(ctx context.Context, r *Request[C]) (*Slot[C], uint64, error) {
	if done := ctx.Done(); done != nil {
		select {
		case <-r.done:
		case <-done:
			return l.withdraw(r, ctx.Err())
		}
	} else {
		<-r.done
	}
	if waited := l.cfg.Waited; waited != nil && r.err == nil {
		waited(r.waited)
	}
	return l.recycle(r)
}

// expire is the request's timer. Past the deadline of a request in line,
// it takes it out and answers ErrAcquireTimeout; before it, it re-arms for
// the deadline (the timer was armed for an earlier wait of the pooled
// request); for a request not in line, it does nothing. A wait therefore
// costs no timer operation unless the timer has gone off since the last
// one.
func (l *Ledger[C]) expire(r *Request[C]) {
	l.lock()
	if !r.queued {
		r.armed = false
		l.mu.Unlock()
		return
	}
	if now := time.Now(); now.Before(r.Deadline) {
		r.firesAt = r.Deadline
		r.timer.Reset(r.Deadline.Sub(now))
		l.mu.Unlock()
		return
	}
	r.armed = false
	l.timeOut(r)
	l.mu.Unlock()
	r.done <- struct{}{}
}

// timeOut takes r, in line past its deadline, out of the line and answers
// it with ErrAcquireTimeout. Under the lock.
func (l *Ledger[C]) timeOut(r *Request[C]) {
	l.line.remove(r)
	l.countTimeout(r)
	r.err = fmt.Errorf("%w after %s", ErrAcquireTimeout, r.Timeout)
}

// withdraw takes r out of the line after its caller's ctx ended. If it was
// answered meanwhile, a lease in the answer goes back to the pool: a grant
// that races with a cancellation is never lost.
func (l *Ledger[C]) withdraw(r *Request[C], cause error) (*Slot[C], uint64, error) {
	l.lock()
	if r.queued {
		l.line.remove(r)
		l.mu.Unlock()
		l.recycle(r)
		return nil, 0, cause
	}
	l.mu.Unlock()
	<-r.done // whoever answered wakes it right after unlocking
	s, gen, err := l.recycle(r)
	if err == nil {
		_ = l.End(s, gen, false, nil)
	}
	return nil, 0, cause
}

// recycle takes the answer out of r, whose done was received, and pools r.
func (l *Ledger[C]) recycle(r *Request[C]) (*Slot[C], uint64, error) {
	s, gen, err := r.slot, r.gen, r.err
	r.slot, r.err, r.stack = nil, nil, nil
	l.reqs.Put(r)
	return s, gen, err
}

// pop takes the most recently used connection off the stack, or with
// FIFO the one idle longest (from the bottom). Under the lock, with the
// stack not empty.
func (l *Ledger[C]) pop() *Slot[C] {
	n := len(l.stack) - 1
	if l.cfg.FIFO {
		s := l.stack[0]
		copy(l.stack, l.stack[1:])
		l.stack[n] = nil
		l.stack = l.stack[:n]
		return s
	}
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
	internal   int  // of n, the pool's own requests (Request.Internal)
	emptied    bool // the line was empty since overload control last looked
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
	if r.Internal {
		q.internal++
	}
}

// callers is the number of callers waiting: the line less the pool's own
// requests.
func (q *line[C]) callers() int { return q.n - q.internal }

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
	if r.Internal {
		q.internal--
	}
	q.emptied = q.emptied || q.n == 0
}

// popBack takes the newest waiter out of the line; nil when none.
func (q *line[C]) popBack() *Request[C] {
	r := q.tail
	if r != nil {
		q.remove(r)
	}
	return r
}

// popFront takes the oldest waiter out of the line; nil when none.
func (q *line[C]) popFront() *Request[C] {
	r := q.head
	if r != nil {
		q.remove(r)
	}
	return r
}

// countTimeout counts r's ErrAcquireTimeout (a timeout, or shed) in
// Timeouts, unless r is the pool's own request. Under the lock.
func (l *Ledger[C]) countTimeout(r *Request[C]) {
	if !r.Internal {
		l.n.Timeouts++
	}
}
