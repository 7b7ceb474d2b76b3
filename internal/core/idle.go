package core

import (
	"sync"
	"sync/atomic"
	"time"
)

// Idle holds the connections that are ready to lend, where a caller can
// take one, and a holder give one back, without a message to the broker:
// the fast path. Everything else (waiting in line, timeouts, the circuit,
// growing, pings, retirement) stays with the broker.
//
// The rules that keep the broker the authority, all decided under mu:
//   - A caller takes a connection only while no waiter is queued and the
//     pool is not closed, so nobody barges past the FIFO.
//   - A holder puts one back only while no waiter is queued, the pool is not
//     closed and the broker does not want returns (above MaxConns), and the
//     connection is not past its lifetime. Otherwise the lease ends through
//     the broker (a message), which hands the connection to the oldest
//     waiter or retires it.
//   - The broker publishes "waiting" in the same critical section in which
//     it found the stack empty (TakeOrWait), so a holder either pushed
//     before (and the broker takes that connection) or sees the flag after
//     (and sends its connection to the broker): no lost wake-up.
//   - Only the broker takes a connection out for maintenance (Lock/Unlock
//     around Slots), so it never pings or retires a leased connection, and a
//     connection being pinged or retired is not on the stack to be lent.
//     Connections due for a check before lending are moved off the stack.
//
// Who touches what: slots is guarded by mu. flags is written by the broker
// under mu and read by callers and holders under mu to decide; they also
// read it without mu first, so that while waiters are queued they go to the
// broker without touching the lock (a stale read only sends them the slow
// way, never past a waiter). Acquired, StampSoon and Watching are atomic.
type Idle[C any] struct {
	mu    sync.Mutex
	slots []*Slot[C]    // LIFO: most recently used last
	flags atomic.Uint32 // flagWaiting | flagClosed | flagDivert; written under mu

	// Acquired counts leases granted on the fast path; the broker adds its
	// own grants.
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
	flagWaiting uint32 = 1 << iota // the broker has waiters queued
	flagClosed                     // Close started
	flagDivert                     // the broker wants returns (above MaxConns)
)

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

// Take is the caller's fast path: it pops the most recently used connection
// when no waiter is queued. It returns nil when there is none, or when the
// caller must queue; closed reports that Close started.
func (s *Idle[C]) Take() (slot *Slot[C], closed bool) {
	if f := s.flags.Load(); f != 0 {
		return nil, f&flagClosed != 0
	}
	s.mu.Lock()
	if f := s.flags.Load(); f&(flagClosed|flagWaiting) != 0 || len(s.slots) == 0 {
		s.mu.Unlock()
		return nil, f&flagClosed != 0
	}
	slot = s.pop()
	s.mu.Unlock()
	return slot, false
}

// Lend starts a lease on a slot taken with Take. stack is the acquirer's
// stack when leak warnings are on.
func (s *Idle[C]) Lend(slot *Slot[C], stack []byte) Lease[C] {
	if s.cfg.WatchLeases {
		slot.setLeaseInfo(Now(), stack)
	}
	slot.brokered = false
	l := slot.Grant()
	s.Acquired.Add(1)
	if s.cfg.WatchLeases && !s.Watching.Load() && s.Watching.CompareAndSwap(false, true) {
		s.cfg.Post(s.cfg.WatchMsg)
	}
	return l
}

// put is a holder's fast path for a clean release: it pushes slot unless the
// broker must see it. It reports whether it did.
func (s *Idle[C]) put(slot *Slot[C]) bool {
	if s.flags.Load() != 0 || slot.expired.Load() {
		return false
	}
	s.mu.Lock()
	if s.flags.Load() != 0 || slot.expired.Load() {
		s.mu.Unlock()
		return false
	}
	s.slots = append(s.slots, slot)
	s.mu.Unlock()
	if s.cfg.NeedStamp && !s.StampSoon.Load() && s.StampSoon.CompareAndSwap(false, true) {
		s.cfg.Post(s.cfg.StampMsg)
	}
	return true
}

func (s *Idle[C]) pop() *Slot[C] {
	n := len(s.slots) - 1
	slot := s.slots[n]
	s.slots[n] = nil
	s.slots = s.slots[:n]
	return slot
}

// The rest is the broker's.

// TakeOrWait pops the most recently used connection; when there is none it
// publishes that a waiter is queued, in the same critical section. Broker
// only, when its queue is empty.
func (s *Idle[C]) TakeOrWait() *Slot[C] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.slots) == 0 {
		s.flags.Store(s.flags.Load() | flagWaiting)
		return nil
	}
	return s.pop()
}

// Publish sets the flags callers and holders go by. Broker only.
func (s *Idle[C]) Publish(waiting, closed, divert bool) {
	var f uint32
	if waiting {
		f |= flagWaiting
	}
	if closed {
		f |= flagClosed
	}
	if divert {
		f |= flagDivert
	}
	s.mu.Lock()
	s.flags.Store(f)
	s.mu.Unlock()
}

// Push puts a connection on top (most recently used) or at the bottom.
// Broker only; it pushes even while closed, so that Close counts it idle.
func (s *Idle[C]) Push(slot *Slot[C], bottom bool) {
	s.mu.Lock()
	if bottom {
		s.slots = append(s.slots, nil)
		copy(s.slots[1:], s.slots)
		s.slots[0] = slot
	} else {
		s.slots = append(s.slots, slot)
	}
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
