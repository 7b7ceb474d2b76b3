package cmdq

import (
	"sync"
	"sync/atomic"
)

// Queue is the work waiting for one connection in command mode.
//
// One round trip at a time uses the connection (busy). When the
// connection is idle and nothing waits, a caller's Push writes its op at
// once (Write), with no hand-over: on the caller's goroutine when the op's
// ctx cannot end, else on a goroutine of the op's own, so that its caller
// can give up (Op.Abandon) while the reply is on its way. Otherwise the
// op waits here, and the connection actor is sent one message (poke) when
// work is waiting and no such message is on its way; the actor Takes
// everything that queued, writes it as one batch and finishes every op.
// So while a round trip is in flight, new work queues up and becomes the
// next batch: no timer decides when to write.
//
// A duplex queue (NewDuplexQueue) serves a connection that is written and
// read on two goroutines (the writer and the reader of actors' pump): Push
// never writes, poke wakes the writer, which Takes a batch while earlier
// batches are still in flight, and the reader reports each batch Written
// once its replies are in.
type Queue struct {
	poke func() // sends the connection actor its drain message (duplex: wakes the writer, starting it if need be)
	// Write writes a batch on the connection; an error means the
	// connection broke. Set by the connection actor before the queue is
	// first opened; a duplex queue has none.
	Write func(work []any) error
	// Expires reports whether the connection is past its lifetime; set
	// with Write.
	Expires func() bool

	mu     sync.Mutex
	ops    []*Op
	busy   bool  // a round trip is in flight (never, on a duplex queue)
	poked  bool  // a drain message is on its way to the actor (duplex: the writer is woken)
	ending bool  // closed: the lease ends once the queue is empty and nothing is in flight
	flying int   // batches taken and not yet Written
	duplex bool  // written and read on two goroutines; no direct writes
	broke  error // a caller's direct write broke the connection
	gen    uint64
	one    [1]any // the work of a direct write

	// open: the queue takes work, from Open until Close or Fail. Written
	// under the lock; pickers read it without.
	open atomic.Bool
	// pending counts ops pushed and not yet finished; pickers and Stats
	// read it. An op leaves it before its caller hears of it.
	pending atomic.Int32
	// deep counts batches that left work behind (a bound was reached);
	// taken counts ops written. The dispatcher reads and resets both.
	deep, taken atomic.Uint32
	// set counts what was written, for Stats.
	set *Set
}

// NewQueue returns a closed queue whose actor is reached by poke; set
// counts what it writes.
func NewQueue(poke func(), set *Set) *Queue {
	return &Queue{poke: poke, set: set}
}

// NewDuplexQueue returns a closed duplex queue whose writer is woken by
// poke; set counts what it writes.
func NewDuplexQueue(poke func(), set *Set) *Queue {
	return &Queue{poke: poke, set: set, duplex: true}
}

// Open starts command mode on the queue's connection under lease gen.
func (q *Queue) Open(gen uint64) {
	q.mu.Lock()
	q.ending, q.broke, q.gen = false, nil, gen
	q.open.Store(true)
	q.mu.Unlock()
}

// Gen is the lease the queue serves.
func (q *Queue) Gen() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.gen
}

// Live reports whether the queue takes work, without the lock.
func (q *Queue) Live() bool { return q.open.Load() }

// Pending is the number of ops pushed and not yet finished.
func (q *Queue) Pending() int { return int(q.pending.Load()) }

// Push hands o to the queue; false means it takes no more work (push
// elsewhere). When the connection is idle and nothing waits, o is written
// at once: on the caller's goroutine when o's ctx cannot end (o is
// finished when Push returns), else on a goroutine of its own. A
// message's op (Then) always waits for the connection actor: Push never
// blocks on it.
func (q *Queue) Push(o *Op) bool {
	q.mu.Lock()
	if !q.open.Load() {
		q.mu.Unlock()
		return false
	}
	q.pending.Add(1)
	if o.Then == nil && !q.duplex && !q.busy && !q.poked && len(q.ops) == 0 {
		q.busy = true
		q.mu.Unlock()
		if o.Ctx.Done() == nil {
			q.direct(o)
		} else {
			o.q = q
			go o.writeDirect()
		}
		return true
	}
	q.ops = append(q.ops, o)
	poke := !q.busy && !q.poked
	q.poked = q.poked || poke
	q.mu.Unlock()
	if poke {
		q.poke()
	}
	return true
}

// direct writes o alone, unless its caller abandoned it first, then hands
// what queued meanwhile to the actor. A broken connection is left for the
// actor to handle (Broken).
func (q *Queue) direct(o *Op) {
	var err error
	if o.Claim() {
		q.one[0] = o.Work
		err = q.Write(q.one[:])
		q.one[0] = nil
		q.Wrote(1)
	}
	q.pending.Add(-1)
	q.mu.Lock()
	q.busy = false
	if err != nil {
		q.broke = err
	}
	poke := !q.poked && (len(q.ops) > 0 || q.ending || err != nil)
	q.poked = q.poked || poke
	q.mu.Unlock()
	if poke {
		q.poke()
	}
	o.Finish(err)
}

// Take moves into batch the oldest ops, up to maxOps and maxBytes (at
// least one op), and marks the connection busy until Written (a duplex
// queue: in flight, with other batches). It takes nothing while a caller
// writes directly (that caller pokes the actor when done). more says work
// is left behind. The actor (a duplex queue: its writer) is the only
// caller.
func (q *Queue) Take(batch []*Op, maxOps, maxBytes int) (_ []*Op, more bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.poked = false
	if q.busy || len(q.ops) == 0 {
		return batch, false
	}
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
	q.busy = !q.duplex
	q.flying++
	if rest > 0 {
		q.deep.Add(1)
	}
	return batch, rest > 0
}

// Wrote counts a batch of n ops written, before their callers hear of it.
func (q *Queue) Wrote(n int) {
	q.set.Batches.Add(1)
	q.set.Commands.Add(uint64(n))
	q.taken.Add(uint32(n))
}

// Written records that the actor is done with a batch of n ops taken from
// the queue (written, or dropped unwritten): they leave the pending count
// and the connection is free again. The actor calls it before it
// finishes the ops, so that a caller that has its answer no longer counts.
// It reports whether work waits, in which case the actor drains again; a
// duplex queue's reader pokes the writer instead when the queue is closed
// and this was its last batch in flight, for the writer to end it.
func (q *Queue) Written(n int) (again bool) {
	q.pending.Add(int32(-n))
	q.mu.Lock()
	q.busy = false
	q.flying--
	if q.duplex {
		again = !q.poked && q.ending && q.flying == 0 && len(q.ops) == 0
	} else {
		again = !q.poked && len(q.ops) > 0
	}
	q.poked = q.poked || again
	q.mu.Unlock()
	if again && q.duplex {
		q.poke()
		return false
	}
	return again
}

// Broken returns the error of a caller's direct write that broke the
// connection, once.
func (q *Queue) Broken() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.broke
	q.broke = nil
	return err
}

// Close stops taking work: the actor (duplex: the writer) writes what is
// queued and then the lease ends (Ending reports true once the queue is
// empty and nothing is in flight). The dispatcher calls it.
func (q *Queue) Close() {
	q.mu.Lock()
	if !q.open.Load() {
		q.mu.Unlock()
		return
	}
	q.ending = true
	q.open.Store(false)
	poke := !q.poked && !q.busy
	q.poked = q.poked || poke
	q.mu.Unlock()
	if poke {
		q.poke()
	}
}

// Idle reports whether the queue is closed with nothing to end: no
// session is open or ending, nothing waits and nothing is in flight.
func (q *Queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.open.Load() && !q.ending && !q.busy && q.flying == 0 && len(q.ops) == 0
}

// Ending reports, once, that the queue was closed and is now empty and
// idle: the actor ends the lease then.
func (q *Queue) Ending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.ending || q.busy || q.flying > 0 || len(q.ops) > 0 {
		return false
	}
	q.ending = false
	return true
}

// Fail stops taking work and returns what is queued, no longer counted as
// pending here, for the actor to bounce (its connection broke, or its
// actor is going away).
func (q *Queue) Fail() []*Op {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ending = false
	q.open.Store(false)
	ops := q.ops
	q.ops = nil
	q.pending.Add(int32(-len(ops)))
	return ops
}

// Sample returns and resets the ops written and the deep batches since
// the last call; the dispatcher calls it on each tick.
func (q *Queue) Sample() (taken, deep uint32) {
	return q.taken.Swap(0), q.deep.Swap(0)
}
