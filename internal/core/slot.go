package core

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Lease states, kept in the low bits of Slot.state; the high bits hold the
// lease generation, which grows by one with every grant.
const (
	stIdle      uint64 = iota // owned by the broker (free list) or the connection actor
	stLeased                  // held by exactly one lease
	stReleased                // ended by Release; the connection actor resets it
	stBroken                  // ended by MarkBroken; the connection actor replaces it
	stRevoked                 // ended by the broker (lease timeout or Close); replaced
	stReclaimed               // ended by the broker because the owner actor stopped; replaced
	stateBits   = 3
	stateMask   = 1<<stateBits - 1
)

// Slot carries one live connection: one connection actor incarnation, one
// dial. A new connection always gets a new Slot, so a stale lease can never
// reach it.
//
// Who touches what:
//   - Conn, Actor, ID and the preallocated messages are written by the
//     connection actor before the slot is announced, then only read.
//   - state is atomic: the broker grants (Grant) and revokes (Revoke); the
//     holder ends its lease (Lease.Release, Lease.MarkBroken). One CAS
//     decides who ends a lease.
//   - Cause is written by the holder before it notifies the connection
//     actor, and read by that actor after the notification.
//   - The fields under "broker-owned" are touched only in the broker's
//     Receive.
type Slot[C any] struct {
	Conn  C
	Actor *actor.PID
	ID    uint64

	state atomic.Uint64
	Cause error

	root       *actor.RootContext
	broker     *actor.PID
	ended      any           // sent to Actor when a lease ends; reused by every lease of this slot
	returning  *atomic.Int64 // pool-wide: leases ended by holders, not yet back at the broker
	needsReset func(C) bool  // nil: every released connection is reset

	// Returned is the message the connection actor sends to the broker after
	// a lease ended and the connection was reset (or found lost); reused.
	Returned any

	// broker-owned
	LeasedAt   time.Time
	Owner      *actor.PID
	Stack      []byte
	LeakWarned bool
	Gone       bool

	// broker-owned, for the connection's lifecycle. The broker never reads
	// the clock on the lease path: IdleSince and CheckedAt are stamped by
	// its maintenance tick, which notices (by the lease generation) that a
	// connection on the free list was lent since it last looked.
	IdleSince time.Time // on the free list, unleased, since (dial, or first tick that saw it back)
	CheckedAt time.Time // last proof of life: dial, ping, or back from a lease
	SeenGen   uint64    // lease generation when IdleSince was stamped
	RetireAt  time.Time // dial time + MaxLifetime - jitter; zero: no limit
	Stale     bool      // idle past ValidateAfterIdle: ping before lending
	Expired   bool      // past RetireAt while leased: retire when it comes back
}

// SlotConfig is what every slot of a pool shares.
type SlotConfig[C any] struct {
	Root      *actor.RootContext
	Broker    *actor.PID
	Returning *atomic.Int64 // leases ended by holders, not yet back at the broker
	// NeedsReset, when set, is asked on the releasing goroutine whether the
	// holder may have changed the session. When it says no, Release hands
	// the connection straight back to the broker, skipping the connection
	// actor and its Reset.
	NeedsReset func(C) bool
}

// NewSlot prepares a slot for conn, owned by the connection actor self.
// ended is the message a holder sends to self when its lease ends;
// returned is the one that brings the slot back to the broker.
func NewSlot[C any](cfg SlotConfig[C], self *actor.PID, id uint64, conn C, ended any, returned func(*Slot[C]) any) *Slot[C] {
	s := &Slot[C]{
		Conn: conn, Actor: self, ID: id, ended: ended,
		root: cfg.Root, broker: cfg.Broker, returning: cfg.Returning, needsReset: cfg.NeedsReset,
	}
	s.Returned = returned(s)
	return s
}

// Grant starts a new lease. Broker only; the slot must be idle (fresh, or
// back from a released lease).
func (s *Slot[C]) Grant() Lease[C] {
	gen := s.state.Load()>>stateBits + 1
	s.state.Store(gen<<stateBits | stLeased)
	return Lease[C]{slot: s, gen: gen}
}

// Revoke ends the current lease for the broker, if it is still held.
// reclaimed says the owner actor stopped (otherwise: timeout or Close).
// It reports false when the holder ended the lease first.
func (s *Slot[C]) Revoke(reclaimed bool) bool {
	cur := s.state.Load()
	if cur&stateMask != stLeased {
		return false
	}
	to := stRevoked
	if reclaimed {
		to = stReclaimed
	}
	return s.state.CompareAndSwap(cur, cur&^stateMask|to)
}

// Leased reports whether a lease currently holds the slot.
func (s *Slot[C]) Leased() bool { return s.state.Load()&stateMask == stLeased }

// Reusable reports whether the last lease ended with Release, so that after
// a reset the connection may be lent again. Connection actor only, after
// the lease-ended notification.
func (s *Slot[C]) Reusable() bool { return s.state.Load()&stateMask == stReleased }

// MarkLost records that the connection behind a released lease could not be
// reset, so the broker will not lend it again. Connection actor only, after
// the lease-ended notification.
func (s *Slot[C]) MarkLost() {
	s.state.Store(s.state.Load()&^stateMask | stBroken)
}

// Generation is the number of leases granted on this slot so far.
func (s *Slot[C]) Generation() uint64 { return s.state.Load() >> stateBits }

func (s *Slot[C]) String() string { return fmt.Sprintf("conn#%d", s.ID) }

// Lease is a holder's handle on one connection. It is a small value: copy
// it freely; every copy names the same lease, and the lease ends once.
type Lease[C any] struct {
	slot *Slot[C]
	gen  uint64
}

// Conn returns the leased connection. It may be used until the lease ends;
// after that it belongs to someone else, or is closed.
func (l Lease[C]) Conn() C {
	if l.slot == nil {
		var zero C
		return zero
	}
	return l.slot.Conn
}

// Release ends the lease and gives the connection back to the pool, which
// resets it before lending it again. A second call returns ErrLeaseReleased;
// a call after the pool revoked the lease returns ErrLeaseRevoked. Neither
// changes anything. Release never blocks.
func (l Lease[C]) Release() error { return l.end(stReleased, nil) }

// MarkBroken ends the lease and tells the pool the connection is unusable:
// it is closed and replaced, never lent again. cause is kept for logs and
// may be nil. Errors as for Release.
func (l Lease[C]) MarkBroken(cause error) error { return l.end(stBroken, cause) }

// Valid reports whether the lease is still held: not released, broken or
// revoked.
func (l Lease[C]) Valid() bool {
	return l.slot != nil && l.slot.state.Load() == l.gen<<stateBits|stLeased
}

// ID names the connection behind the lease, for logs.
func (l Lease[C]) ID() uint64 {
	if l.slot == nil {
		return 0
	}
	return l.slot.ID
}

func (l Lease[C]) end(to uint64, cause error) error {
	s := l.slot
	if s == nil {
		return ErrLeaseReleased
	}
	held := l.gen<<stateBits | stLeased
	if s.state.CompareAndSwap(held, l.gen<<stateBits|to) {
		s.returning.Add(1)
		switch {
		case to == stBroken:
			s.Cause = cause
		case s.needsReset != nil && !s.needsReset(s.Conn):
			// Nothing to undo: straight back to the broker.
			s.root.Send(s.broker, s.Returned)
			return nil
		}
		s.root.Send(s.Actor, s.ended)
		return nil
	}
	cur := s.state.Load()
	if cur>>stateBits == l.gen {
		switch cur & stateMask {
		case stRevoked:
			return fmt.Errorf("%w: held past LeaseTimeout or pool closed", ErrLeaseRevoked)
		case stReclaimed:
			return fmt.Errorf("%w: owner actor stopped", ErrLeaseRevoked)
		}
	}
	return ErrLeaseReleased
}
