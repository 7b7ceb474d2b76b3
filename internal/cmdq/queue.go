package cmdq

import (
	"sync"
	"sync/atomic"
)

// Queue is the work waiting for one connection in command mode. Callers
// Push; the connection actor is sent one message (poke) when the queue
// gains work while no such message is on its way, Takes a batch, writes it
// and finishes every op in it. While a round trip is in flight, new work
// queues up here and becomes the next batch: no timer decides when to write.
type Queue struct {
	poke func() // sends the connection actor its drain message

	mu     sync.Mutex
	ops    []*Op
	open   bool // takes work: from Open until Close or Fail
	poked  bool // a drain message is on its way, or the actor is draining
	gen    uint64
	ending bool // closed: the actor ends the lease once the queue is empty

	// live mirrors open for pickers, who read it without the lock.
	live atomic.Bool
	// pending counts ops pushed and not yet finished; pickers read it.
	pending atomic.Int32
	// deep counts batches that left work behind (a bound was reached);
	// the dispatcher reads and resets it.
	deep atomic.Uint32
	// taken counts ops taken since the dispatcher last looked.
	taken atomic.Uint32
	// Expires reports whether the connection is past its lifetime; set
	// once, before the queue is first opened.
	Expires func() bool
}

// NewQueue returns a closed queue whose actor is reached by poke.
func NewQueue(poke func()) *Queue { return &Queue{poke: poke} }

// Open starts command mode on the queue's connection under lease gen.
func (q *Queue) Open(gen uint64) {
	q.mu.Lock()
	q.open, q.ending, q.gen = true, false, gen
	q.live.Store(true)
	q.mu.Unlock()
}

// Gen is the lease the queue serves.
func (q *Queue) Gen() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.gen
}

// Pending is the number of ops pushed and not yet finished.
func (q *Queue) Pending() int { return int(q.pending.Load()) }

// Push queues o; false means the queue takes no more work (push elsewhere).
func (q *Queue) Push(o *Op) bool {
	q.mu.Lock()
	if !q.open {
		q.mu.Unlock()
		return false
	}
	q.ops = append(q.ops, o)
	q.pending.Add(1)
	poke := !q.poked
	q.poked = true
	q.mu.Unlock()
	if poke {
		q.poke()
	}
	return true
}

// Take moves into batch the oldest ops, up to maxOps and maxBytes (at
// least one op), and returns it with more: whether work is left behind, in
// which case the actor must drain again after this batch. The actor is the
// only caller.
func (q *Queue) Take(batch []*Op, maxOps, maxBytes int) (_ []*Op, more bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, bytes := 0, 0
	for n < len(q.ops) && n < maxOps {
		bytes += q.ops[n].Size
		if n > 0 && bytes > maxBytes {
			break
		}
		n++
	}
	batch = append(batch, q.ops[:n]...)
	rest := copy(q.ops, q.ops[n:])
	clear(q.ops[rest:])
	q.ops = q.ops[:rest]
	more = rest > 0
	if more {
		q.deep.Add(1)
	} else {
		q.poked = false
	}
	q.taken.Add(uint32(n))
	return batch, more
}

// Done records that the actor finished n ops taken from the queue.
func (q *Queue) Done(n int) { q.pending.Add(int32(-n)) }

// Close stops taking work: the actor writes what is queued and then ends
// the lease (Ending reports true once the queue is empty). The dispatcher
// calls it.
func (q *Queue) Close() {
	q.mu.Lock()
	if !q.open {
		q.mu.Unlock()
		return
	}
	q.open, q.ending = false, true
	q.live.Store(false)
	poke := !q.poked
	q.poked = true
	q.mu.Unlock()
	if poke {
		q.poke()
	}
}

// Ending reports, once, that the queue was closed and is now empty: the
// actor ends the lease then. It resets poked, so that a later Open starts
// afresh.
func (q *Queue) Ending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.ending || len(q.ops) > 0 {
		return false
	}
	q.ending, q.poked = false, false
	return true
}

// Fail stops taking work and returns what is queued, for the actor to
// bounce (its connection broke or its actor is going away). It reports
// whether the queue was serving a lease.
func (q *Queue) Fail() (ops []*Op, serving bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	serving = q.open || q.ending
	q.open, q.ending, q.poked = false, false, false
	q.live.Store(false)
	ops, q.ops = q.ops, nil
	return ops, serving
}

// Live reports whether the queue takes work, without the lock.
func (q *Queue) Live() bool { return q.live.Load() }

// Sample returns and resets the ops taken and the deep batches since the
// last call; the dispatcher calls it on each tick.
func (q *Queue) Sample() (taken, deep uint32) {
	return q.taken.Swap(0), q.deep.Swap(0)
}
