package core

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/waitq"
)

const (
	reqWaiting int32 = iota
	reqDone
	reqCancelled
)

// Request is one Acquire waiting for an answer from the broker. A caller
// goroutine parks on Done(); an actor gets a message at ReplyTo instead.
//
// Who touches what: the caller fills the request before sending it and then
// only calls Cancel and Done; whoever takes it off the line (the broker, or
// a holder handing on its connection) calls Resolve; the fields under
// "in line" are guarded by the Idle lock. One CAS on state decides between
// an answer and a cancellation.
type Request[C any] struct {
	state atomic.Int32
	done  chan struct{} // buffered(1); signalled once after Lease/Err are set

	Lease Lease[C]
	Err   error

	// ReplyTo, when set, receives the answer as a message (actor callers).
	ReplyTo *actor.PID
	// Owner is the actor whose stop reclaims the lease (actor callers).
	Owner *actor.PID
	// Timeout overrides the pool's AcquireTimeout when positive.
	Timeout time.Duration
	// Stack is the acquirer's stack, recorded when leak warnings are on.
	Stack []byte

	// in line
	Node *waitq.Node[*Request[C]] // non-nil while queued; points at node
	node waitq.Node[*Request[C]]
}

// NewRequest returns a request that a goroutine can wait on.
func NewRequest[C any]() *Request[C] {
	return &Request[C]{done: make(chan struct{}, 1)}
}

// Reuse prepares a request that was answered (never one that was
// cancelled: the broker may still hold that) for another Acquire.
func (r *Request[C]) Reuse() {
	r.state.Store(reqWaiting)
	r.Lease, r.Err, r.Stack, r.Timeout = Lease[C]{}, nil, nil, 0
	r.Node = nil
}

// Enqueue puts the request at the back of q, due at deadline. Under the
// Idle lock.
func (r *Request[C]) Enqueue(q *waitq.Queue[*Request[C]], deadline time.Time) {
	r.node = waitq.Node[*Request[C]]{Value: r, Deadline: deadline}
	r.Node = &r.node
	q.Push(r.Node)
}

// Resolve answers the request with a lease or an error; only whoever took
// it off the line (or never queued it) may. It reports false when the
// caller cancelled first; the lease (if any) was not handed over and stays
// with the resolver.
func (r *Request[C]) Resolve(l Lease[C], err error) bool {
	if !r.state.CompareAndSwap(reqWaiting, reqDone) {
		return false
	}
	r.Lease, r.Err = l, err
	if r.done != nil {
		r.done <- struct{}{}
	}
	return true
}

// Cancel withdraws the request. It reports false when the broker answered
// first: the answer is then (or soon) on Done, and a lease in it must be
// given back.
func (r *Request[C]) Cancel() bool { return r.state.CompareAndSwap(reqWaiting, reqCancelled) }

// Pending reports whether the request still waits for an answer.
func (r *Request[C]) Pending() bool { return r.state.Load() == reqWaiting }

// Done is signalled once the broker answered.
func (r *Request[C]) Done() <-chan struct{} { return r.done }
