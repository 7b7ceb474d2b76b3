// Package cmdq carries command mode: callers hand the pool work (an Op)
// instead of leasing a connection, and a connection actor writes all the
// work queued for it as one batch.
//
// Who owns what:
//   - an Op belongs to its caller until Push, then to the queue and the
//     connection actor that claims it, and back to the caller when it is
//     finished; a caller that gives up before the claim leaves the Op to the
//     actor, which drops it;
//   - a Queue belongs to one connection (one incarnation of a connection
//     actor): callers push, the actor takes, writes and finishes;
//   - the Set (which queues take work) is written by the pool's command
//     dispatcher only; callers read its snapshot without a lock.
package cmdq

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrNotWritten finishes an Op that never reached the network because its
// queue stopped taking work (the connection broke, left command mode, or its
// actor restarted). The caller pushes it again elsewhere; it never leaves
// the pool.
var ErrNotWritten = errors.New("actorpool: command not written: its connection left command mode")

// Where an Op stands.
const (
	queued    int32 = iota // pushed, not yet claimed
	claimed                // the connection actor is writing it (or bouncing it)
	abandoned              // the caller gave up before the claim
)

// Op is one caller's unit of work: a command, or a caller's pipeline that
// must stay together on one connection.
type Op struct {
	Ctx  context.Context
	Work any // the backend's: what its Pipeline writes and where it puts the replies
	Size int // bytes it writes, roughly; batches are bounded by it

	state atomic.Int32
	err   error
	done  chan struct{} // one token per finish
}

var ops = sync.Pool{New: func() any { return &Op{done: make(chan struct{}, 1)} }}

// Get returns an Op ready to push.
func Get(ctx context.Context, work any, size int) *Op {
	o := ops.Get().(*Op)
	o.Ctx, o.Work, o.Size = ctx, work, size
	o.state.Store(queued)
	return o
}

// Put recycles an Op its caller is done with.
func Put(o *Op) {
	o.Ctx, o.Work, o.err = nil, nil, nil
	ops.Put(o)
}

// Requeue readies an Op finished with ErrNotWritten for another push.
func (o *Op) Requeue() {
	o.err = nil
	o.state.Store(queued)
}

// Claim is the connection actor's: true means the op is its to write or
// bounce, and it must Finish it; false means the caller gave up, and the
// actor drops it (Put).
func (o *Op) Claim() bool { return o.state.CompareAndSwap(queued, claimed) }

// Abandon is the caller's, when its ctx ends: true means the op was not
// claimed and never will be, so the caller may return at once; false means
// it is being written, and the caller must Wait for it.
func (o *Op) Abandon() bool { return o.state.CompareAndSwap(queued, abandoned) }

// Finish hands a claimed op back to its caller with err (nil: the backend
// put the replies into Work).
func (o *Op) Finish(err error) {
	o.err = err
	o.done <- struct{}{}
}

// Done is ready once the op is finished.
func (o *Op) Done() <-chan struct{} { return o.done }

// Wait waits until the op is finished and returns its error.
func (o *Op) Wait() error {
	<-o.done
	return o.err
}

// Err is the error the op finished with; read it after Done.
func (o *Op) Err() error { return o.err }
