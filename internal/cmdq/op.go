// Package cmdq carries command mode: callers hand the pool work (an Op)
// instead of leasing a connection, and the connection writes all the work
// queued for it as one batch (its actor, or the writer of its pump for a
// duplex queue).
//
// Who owns what:
//   - an Op belongs to its caller until Push, then to the queue and the
//     writer that claims it (the connection actor, a pump's writer, or the
//     goroutine that writes it directly), and back to the caller when it is
//     finished (a pump's reader finishes what its writer claimed);
//   - a caller whose ctx ends abandons its Op, queued or in flight, and
//     returns at once: the Op and its Work then belong to the writer, which
//     skips a queued one and, for one in flight, reads the reply and drops
//     it (the caller must not touch Work after it abandoned it);
//   - a Queue belongs to one connection (one incarnation of a connection
//     actor): callers push, the actor (a duplex queue: its pump) takes,
//     writes and finishes;
//   - the Set (which queues take work) is written by the pool's command
//     dispatcher only; callers read its snapshot without a lock.
package cmdq

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotWritten finishes an Op that never reached the network because its
// queue stopped taking work (the connection broke, left command mode, or its
// actor restarted). The caller pushes it again elsewhere; it never leaves
// the pool.
var ErrNotWritten = errors.New("actorpool: command not written: its connection left command mode")

// ErrExpired finishes a message's op whose deadline passed before it was
// written; ErrOwnerGone one whose sender stopped before.
var (
	ErrExpired   = errors.New("actorpool: the request's deadline passed before it was written")
	ErrOwnerGone = errors.New("actorpool: the request's sender stopped before it was written")
)

// Where an Op stands. Each step is one compare-and-swap, so that the
// writer's answer and the caller's abandonment have one winner:
//
//	queued ──Claim──► claimed ──Finish──► answered (the caller hears err)
//	   │                 │
//	   └────Abandon──────┴──────────────► abandoned (the writer drops it)
const (
	queued    int32 = iota // pushed, not yet claimed
	claimed                // a writer is writing it (or bouncing it)
	answered               // finished: its caller hears of it
	abandoned              // its caller gave up and returned
)

// Op is one caller's unit of work: a command, or a caller's pipeline that
// must stay together on one connection.
//
// An op with Then is a message's (an actor's request): nobody waits for
// it. It is never written on the pushing goroutine, Finish hands it to
// Then (which owns it from then on), and the writer checks before it
// writes it that its Deadline has not passed and its Owner is not gone
// (Set.Gone).
type Op struct {
	Ctx  context.Context
	Work any // the backend's: what its Pipeline writes and where it puts the replies
	Size int // bytes it writes, roughly; batches are bounded by it

	Then     func(o *Op, err error) // set: a message's op
	Reply    any                    // for Then: how to answer the message
	Owner    any                    // the actor that sent the message, for Set.Gone
	Deadline time.Time              // zero: none

	state atomic.Int32
	err   error         // written by Finish's winner, read by the caller after done
	done  chan struct{} // one token per answer; none for an abandoned op

	// q is the queue writing the op on a goroutine of its own (Push), and
	// writeDirect that goroutine's function: made once per Op, so that
	// starting it allocates nothing.
	q           *Queue
	writeDirect func()
}

var ops sync.Pool

func init() {
	ops.New = func() any {
		o := &Op{done: make(chan struct{}, 1)}
		o.writeDirect = func() { o.q.direct(o) }
		return o
	}
}

// Get returns an Op ready to push.
func Get(ctx context.Context, work any, size int) *Op {
	o := ops.Get().(*Op)
	o.Ctx, o.Work, o.Size = ctx, work, size
	o.state.Store(queued)
	return o
}

// Put recycles an Op that nobody uses any more: its caller, once it has
// the answer, or the writer, for an abandoned Op.
func Put(o *Op) {
	o.Ctx, o.Work, o.err, o.q = nil, nil, nil, nil
	o.Then, o.Reply, o.Owner, o.Deadline = nil, nil, nil, time.Time{}
	ops.Put(o)
}

// Requeue readies an Op finished with ErrNotWritten for another push.
func (o *Op) Requeue() {
	o.err = nil
	o.state.Store(queued)
}

// Claim is the writer's: true means the op is its to write or bounce, and
// it must Finish it; false means the caller abandoned it, and the writer
// drops it (Put) without writing it.
func (o *Op) Claim() bool { return o.state.CompareAndSwap(queued, claimed) }

// Abandon is the caller's, when its ctx ends: true means the caller
// returns at once and the op (with its Work) is left to the writer, which
// drops it, unwritten if it was still queued; false means the op was
// answered meanwhile, and its token is on its way (Wait).
func (o *Op) Abandon() bool {
	for {
		switch s := o.state.Load(); s {
		case queued, claimed:
			if o.state.CompareAndSwap(s, abandoned) {
				return true
			}
		default:
			return false
		}
	}
}

// Finish answers a claimed op with err (nil: the backend put the replies
// into Work), or drops it when its caller abandoned it. The writer does
// not touch o after.
func (o *Op) Finish(err error) {
	if !o.state.CompareAndSwap(claimed, answered) {
		Put(o) // abandoned: nobody waits for it
		return
	}
	if o.Then != nil {
		o.Then(o, err)
		return
	}
	o.err = err
	o.done <- struct{}{}
}

// Unwanted returns why a claimed op must not be written, or nil: its ctx
// ended, its Deadline passed (ErrExpired), or its owner is gone
// (ErrOwnerGone). now is read once per batch, when the batch holds an op
// with a Deadline.
func (o *Op) Unwanted(now func() time.Time, gone func(owner any) bool) error {
	if err := o.Ctx.Err(); err != nil {
		return err
	}
	if o.Then == nil {
		return nil
	}
	if !o.Deadline.IsZero() && !now().Before(o.Deadline) {
		return ErrExpired
	}
	if o.Owner != nil && gone != nil && gone(o.Owner) {
		return ErrOwnerGone
	}
	return nil
}

// Answer finishes an op that no writer holds (one that waits for a queue,
// or one a queue gave back) with err; an op its caller abandoned is
// dropped.
func (o *Op) Answer(err error) {
	if o.Claim() {
		o.Finish(err)
	} else {
		Put(o)
	}
}

// Done is ready once the op is answered.
func (o *Op) Done() <-chan struct{} { return o.done }

// Wait waits until the op is answered and returns its error.
func (o *Op) Wait() error {
	<-o.done
	return o.err
}

// Err is the error the op was answered with; read it after Done.
func (o *Op) Err() error { return o.err }
