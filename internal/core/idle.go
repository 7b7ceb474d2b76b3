package core

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorpool/actorpool/internal/waitq"
)

// Idle holds the connections that are ready to lend and the line of
// callers waiting for one. A caller takes a connection, or joins a line
// that is already there, and a holder gives one back (to the stack, or
// straight to the oldest waiter), without a message to the broker: the
// fast path. Everything else (the first in line, timeouts, the circuit,
// growing, pings, retirement, actors' leases) stays with the broker.
//
// The rules that keep the line strict FIFO and lose no wake-up, all decided
// under mu:
//   - The stack and the line are never both non-empty: a connection that
//     comes back goes to the oldest waiter when there is one, and a waiter
//     joins the line only when the stack is empty (TakeOrEnqueue).
//   - A caller takes from the stack only while nobody is in line and the
//     pool is not closed, so nobody barges past the line.
//   - A caller joins the line itself (Join) only behind others, while the
//     broker has nothing to decide (not closing, growing, shrinking or
//     failing fast), and only when the lock is free: it never waits for
//     mu, because callers parking on a contended lock cost more than the
//     message. Otherwise its request goes to the broker's mailbox and joins
//     the line there, so callers whose calls overlap may join in either
//     order; once in line, they are served strictly in order.
//   - A holder gives a connection back itself only while the pool is not
//     closed, the broker does not want returns (above MaxConns), the
//     connection is not past its lifetime, and the oldest waiter is not an
//     actor (whose owner the broker tracks). Otherwise the lease ends
//     through the broker (a message), which hands the connection on or
//     retires it.
//   - Only the broker takes a connection out for maintenance (Lock/Unlock
//     around Slots), so it never pings or retires a leased connection, and a
//     connection being pinged or retired is not on the stack to be lent.
//     Connections due for a check before lending are moved off the stack.
//
// Who touches what: slots, waiters and the Node of a queued Request are
// guarded by mu. flags is written under mu: flagWaiting by whoever fills or
// empties the line, the others by the broker (Publish). Callers and
// holders read it without mu first (a stale read only sends them the slow
// way, never past a waiter). Acquired, StampSoon and Watching are atomic.
type Idle[C any] struct {
	mu      sync.Mutex
	slots   []*Slot[C]               // LIFO: most recently used last
	waiters waitq.Queue[*Request[C]] // FIFO, with a deadline heap
	flags   atomic.Uint32            // flag* bits; written under mu

	// Acquired counts leases granted on the fast path and handed on by
	// holders; the broker adds its own grants.
	Acquired atomic.Uint64
	// StampSoon is set while a maintenance tick is due within the idle-age
	// resolution. A holder that puts a connection back while it is unset
	// sets it and asks the broker (StampMsg) to arm the tick, which then
	// stamps the connection's idle age.
	StampSoon atomic.Bool
	// Watching is set while the broker's lease timer is armed. A caller that
	// takes a lease while it is unset sets it and asks the broker (WatchMsg)
	// to arm it, so that lease timeouts and leak warnings see the lease.
	Watching atomic.Bool

	cfg IdleConfig
}

const (
	flagWaiting   uint32 = 1 << iota // waiters are queued
	flagClosed                       // Close started
	flagDivert                       // the broker wants returns (above MaxConns)
	flagQueueHere                    // callers queue at the broker (see Published)

	// takeBlocked: a caller does not take from the stack.
	takeBlocked = flagWaiting | flagClosed | flagDivert
)

// Published is what the broker tells callers and holders about the pool.
type Published struct {
	Closed bool // Close started: no fast path at all
	Divert bool // above MaxConns: every lease ends at the broker, which retires
	// QueueHere: callers join the line at the broker, never by themselves:
	// the pool may grow (the broker dials for them), or no connection is
	// alive after a failed dial (the broker fails them fast).
	QueueHere bool
}

// IdleConfig is read-only after NewIdle.
type IdleConfig struct {
	// Post puts a message in the broker's mailbox.
	Post func(msg any)
	// StampMsg and WatchMsg are the (pre-allocated) messages posted to arm
	// the maintenance tick and the lease timer.
	StampMsg, WatchMsg any
	// NeedStamp: idle ages are tracked (IdleTimeout, KeepaliveInterval or
	// ValidateAfterIdle is on).
	NeedStamp bool
	// WatchLeases: LeaseTimeout or LeakWarnAfter is on; a lease records when
	// it started (and, for leak warnings, its acquirer's stack).
	WatchLeases bool
}

// NewIdle returns an empty stack for a pool of up to capacity connections.
func NewIdle[C any](cfg IdleConfig, capacity int) *Idle[C] {
	return &Idle[C]{cfg: cfg, slots: make([]*Slot[C], 0, capacity)}
}

// Take is the caller's fast path: it lends the most recently used
// connection when no waiter is queued. ok is false when there is none, or
// when the caller must queue; closed reports that Close started. stack is
// the acquirer's stack when leak warnings are on.
//
// The lease starts under the lock, as in put: the broker revokes leases
// under it when Close gives up waiting (ForceClose), so a connection is
// either lent before (and revoked) or not at all.
func (s *Idle[C]) Take(stack []byte) (l Lease[C], ok, closed bool) {
	if f := s.flags.Load(); f&takeBlocked != 0 {
		return l, false, f&flagClosed != 0
	}
	s.mu.Lock()
	if f := s.flags.Load(); f&takeBlocked != 0 || len(s.slots) == 0 {
		s.mu.Unlock()
		return l, false, f&flagClosed != 0
	}
	l = s.grant(s.pop(), stack)
	s.mu.Unlock()
	s.Acquired.Add(1)
	s.watch()
	return l, true, false
}

// Join puts a caller goroutine's req at the back of the line, due timeout
// from now, when others are in line already and the broker has nothing to
// decide. It reports false when the broker must see req: nobody in line
// (a connection may be free, stale ones may need a ping), the pool
// closing, growing or shrinking, the circuit open, maxWaiters (when
// positive) in line already, or req due before the earliest deadline in
// line (an actor's longer timeout). While anyone is in line the broker's
// waiter timer is armed no later than the earliest deadline, and re-armed
// for the next one each time it fires, so it reaches req's deadline
// without a message.
func (s *Idle[C]) Join(req *Request[C], timeout time.Duration, maxWaiters int) bool {
	if s.flags.Load() != flagWaiting {
		return false
	}
	if !s.mu.TryLock() {
		return false // contended: the broker queues it
	}
	defer s.mu.Unlock()
	if s.flags.Load() != flagWaiting || maxWaiters > 0 && s.waiters.Len() >= maxWaiters {
		return false
	}
	// Read the clock under the lock, so that deadlines sharing a timeout
	// come in arrival order (which the line indexes for free).
	deadline := time.Now().Add(timeout)
	if first := s.waiters.Earliest(); first != nil && deadline.Before(first.Deadline) {
		return false // the timer may be armed for later: the broker re-arms it
	}
	req.Enqueue(&s.waiters, deadline)
	return true
}

// grant starts a lease on slot for a caller goroutine. Under mu.
func (s *Idle[C]) grant(slot *Slot[C], stack []byte) Lease[C] {
	if s.cfg.WatchLeases {
		slot.setLeaseInfo(Now(), stack)
	}
	slot.brokered = false
	return slot.Grant()
}

// watch asks the broker to arm its lease timer, when leases are watched
// and it is not armed.
func (s *Idle[C]) watch() {
	if s.cfg.WatchLeases && !s.Watching.Load() && s.Watching.CompareAndSwap(false, true) {
		s.cfg.Post(s.cfg.WatchMsg)
	}
}

// put is a holder's fast path for a clean release: it hands slot to the
// oldest waiter, or pushes it when nobody waits. It reports false, having
// done nothing, when the broker must see the connection.
func (s *Idle[C]) put(slot *Slot[C]) bool {
	for {
		if s.flags.Load()&(flagClosed|flagDivert) != 0 || slot.expired.Load() {
			return false
		}
		s.mu.Lock()
		if s.flags.Load()&(flagClosed|flagDivert) != 0 || slot.expired.Load() {
			s.mu.Unlock()
			return false
		}
		req, actorsTurn := s.oldest()
		if actorsTurn {
			// The broker records an actor's lease.
			s.mu.Unlock()
			return false
		}
		if req == nil {
			s.slots = append(s.slots, slot)
			s.mu.Unlock()
			if s.cfg.NeedStamp && !s.StampSoon.Load() && s.StampSoon.CompareAndSwap(false, true) {
				s.cfg.Post(s.cfg.StampMsg)
			}
			return true
		}
		l := s.grant(slot, req.Stack)
		s.Acquired.Add(1)
		s.mu.Unlock()
		s.watch()
		if req.Resolve(l, nil) {
			return true
		}
		// The caller gave up after all, and nobody saw l: take it back and
		// try the next waiter. If the broker revoked it meanwhile (Close
		// gave up waiting), the connection is the broker's now.
		s.Acquired.Add(^uint64(0))
		if !slot.unlend(l.gen) {
			return true
		}
	}
}

// oldest takes the oldest waiter that still waits off the line, dropping
// those that gave up. actorsTurn reports that it is an actor's request,
// which stays in line for the broker. Under mu.
func (s *Idle[C]) oldest() (req *Request[C], actorsTurn bool) {
	for n := s.waiters.Front(); n != nil; n = s.waiters.Front() {
		if n.Value.ReplyTo != nil && n.Value.Pending() {
			return nil, true
		}
		s.dequeue(n)
		if n.Value.Pending() {
			return n.Value, false
		}
	}
	return nil, false
}

// dequeue takes n off the line. Under mu.
func (s *Idle[C]) dequeue(n *waitq.Node[*Request[C]]) {
	s.waiters.Remove(n)
	n.Value.Node = nil
	if s.waiters.Len() == 0 {
		s.flags.Store(s.flags.Load() &^ flagWaiting)
	}
}

func (s *Idle[C]) pop() *Slot[C] {
	n := len(s.slots) - 1
	slot := s.slots[n]
	s.slots[n] = nil
	s.slots = s.slots[:n]
	return slot
}

// The rest is the broker's.

// TakeOrEnqueue pops the most recently used connection when nobody is in
// line; otherwise req joins the back of the line, due timeout from now,
// unless maxWaiters (when positive) are in line already. queued is the
// length of the line after req joined it, 0 when it did not: the line was
// full (and slot is nil). Broker only.
func (s *Idle[C]) TakeOrEnqueue(req *Request[C], timeout time.Duration, maxWaiters int) (slot *Slot[C], deadline time.Time, queued int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiters.Len() == 0 && len(s.slots) > 0 {
		return s.pop(), time.Time{}, 0
	}
	if maxWaiters > 0 && s.waiters.Len() >= maxWaiters {
		return nil, time.Time{}, 0
	}
	deadline = time.Now().Add(timeout)
	req.Enqueue(&s.waiters, deadline)
	s.flags.Store(s.flags.Load() | flagWaiting)
	return nil, deadline, s.waiters.Len()
}

// Offer hands slot to the oldest waiter still waiting, whom it takes off the
// line and returns; the broker grants it the lease. When nobody waits, it
// pushes slot on top of the stack (most recently used) or at the bottom,
// and returns nil. Broker only; it pushes even while closed, so that Close
// counts the connection idle.
func (s *Idle[C]) Offer(slot *Slot[C], bottom bool) *Request[C] {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := s.waiters.Front(); n != nil; n = s.waiters.Front() {
		s.dequeue(n)
		if n.Value.Pending() {
			return n.Value
		}
	}
	if bottom {
		s.slots = append(s.slots, nil)
		copy(s.slots[1:], s.slots)
		s.slots[0] = slot
	} else {
		s.slots = append(s.slots, slot)
	}
	return nil
}

// Dequeue takes req off the line. It reports false when req was not in
// line (answered, or not queued yet).
func (s *Idle[C]) Dequeue(req *Request[C]) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Node == nil {
		return false
	}
	s.dequeue(req.Node)
	return true
}

// DequeueFront takes the oldest waiter off the line; nil when nobody waits.
// Broker only.
func (s *Idle[C]) DequeueFront() *Request[C] {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.waiters.Front()
	if n == nil {
		return nil
	}
	s.dequeue(n)
	return n.Value
}

// DequeueExpired takes off the line the waiter whose deadline came first,
// if it is not after now; nil otherwise. Broker only.
func (s *Idle[C]) DequeueExpired(now time.Time) *Request[C] {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.waiters.Earliest()
	if n == nil || n.Deadline.After(now) {
		return nil
	}
	s.dequeue(n)
	return n.Value
}

// DequeueIf takes off the line every waiter for which drop is true, and
// cancels it. Broker only.
func (s *Idle[C]) DequeueIf(drop func(*Request[C]) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := s.waiters.Front(); n != nil; {
		next := n.Next()
		if drop(n.Value) {
			s.dequeue(n)
			n.Value.Cancel()
		}
		n = next
	}
}

// Earliest is the first deadline in line; ok is false when nobody waits.
func (s *Idle[C]) Earliest() (deadline time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.waiters.Earliest(); n != nil {
		return n.Deadline, true
	}
	return time.Time{}, false
}

// Waiting is the length of the line.
func (s *Idle[C]) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiters.Len()
}

// Publish sets the flags callers and holders go by, besides flagWaiting,
// which follows the line. Broker only.
func (s *Idle[C]) Publish(p Published) {
	s.mu.Lock()
	f := s.flags.Load() & flagWaiting
	if p.Closed {
		f |= flagClosed
	}
	if p.Divert {
		f |= flagDivert
	}
	if p.QueueHere {
		f |= flagQueueHere
	}
	s.flags.Store(f)
	s.mu.Unlock()
}

// Len is the number of connections on the stack.
func (s *Idle[C]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.slots)
}

// Lock stops callers and holders from taking or pushing, so that the broker
// can walk Slots. Broker only.
func (s *Idle[C]) Lock() { s.mu.Lock() }

// Unlock ends Lock.
func (s *Idle[C]) Unlock() { s.mu.Unlock() }

// Slots is the stack, longest idle first; the broker may filter it in
// place, between Lock and Unlock, with SetSlots.
func (s *Idle[C]) Slots() []*Slot[C] { return s.slots }

// SetSlots replaces the stack with a prefix of Slots. Between Lock and
// Unlock only.
func (s *Idle[C]) SetSlots(kept []*Slot[C]) {
	clear(s.slots[len(kept):])
	s.slots = kept
}

// epoch is the base of Now: a monotonic reading that fits an atomic int64.
var epoch = time.Now()

// Now is the monotonic time since the process started, in nanoseconds.
func Now() int64 { return int64(time.Since(epoch)) }
