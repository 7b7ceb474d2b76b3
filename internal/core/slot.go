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
	stIdle      uint64 = iota // idle (on the idle stack, or with the broker) or with the connection actor
	stLeased                  // held by exactly one lease
	stReleased                // ended by Release; the connection actor resets it
	stBroken                  // ended by MarkBroken; the connection actor replaces it
	stRevoked                 // ended by the broker (lease timeout or Close); replaced
	stReclaimed               // ended by the broker because the owner actor stopped; replaced
	stWarned                  // held by exactly one lease, reported as leaked: it ends through the broker
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
//   - state is atomic: the broker, or a caller or holder on the fast path
//     (Idle.Take, Idle.put), grants (Grant); the broker revokes (Revoke,
//     RevokeFrom) and marks a lease as leaked (WarnFrom); the holder ends
//     its lease (Lease.Release, Lease.MarkBroken). One CAS decides who ends
//     a lease.
//   - brokered, and leasedAt and stack (atomic, since the broker reads them
//     while a caller may start the next lease), are written by whoever
//     grants, before Grant; the holder reads brokered after its CAS.
//   - expired is atomic: the broker sets it, under the Idle lock; a holder
//     reads it under that lock before it puts the slot back.
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
	idle       *Idle[C]      // where a clean release goes without a message

	brokered bool                   // the lease must end through the broker (an actor's lease)
	expired  atomic.Bool            // past its lifetime: must end through the broker, to be retired
	leasedAt atomic.Int64           // Now() at grant, when leases are watched
	stack    atomic.Pointer[[]byte] // the acquirer's stack, when leak warnings are on

	// Returned is the message the connection actor sends to the broker after
	// a lease ended and the connection was reset (or found lost); reused.
	Returned any

	// broker-owned
	Owner     *actor.PID
	WarnedGen uint64 // lease generation last reported as leaked

	// broker-owned, for the connection's lifecycle. Nobody reads the clock
	// on the lease path: IdleSince and CheckedAt are stamped by the broker's
	// maintenance tick, which notices (by the lease generation) that a
	// connection on the idle stack was lent since it last looked.
	IdleSince time.Time // idle, unleased, since (dial, or first tick that saw it back)
	CheckedAt time.Time // last proof of life: dial, ping, or back from a lease
	SeenGen   uint64    // lease generation when IdleSince was stamped
	RetireAt  time.Time // dial time + MaxLifetime - jitter; zero: no limit
	Stale     bool      // idle past ValidateAfterIdle: off the stack, ping before lending
}

// SlotConfig is what every slot of a pool shares.
type SlotConfig[C any] struct {
	Root      *actor.RootContext
	Broker    *actor.PID
	Returning *atomic.Int64 // leases ended by holders, not yet back at the broker
	// NeedsReset, when set, is asked on the releasing goroutine whether the
	// holder may have changed the session. When it says no, Release puts
	// the connection straight back on Idle (or, when the broker must see
	// it, sends it to the broker), skipping the connection actor and its
	// Reset.
	NeedsReset func(C) bool
	// Idle is the pool's stack of connections ready to lend.
	Idle *Idle[C]
}

// NewSlot prepares a slot for conn, owned by the connection actor self.
// ended is the message a holder sends to self when its lease ends;
// returned is the one that brings the slot back to the broker.
func NewSlot[C any](cfg SlotConfig[C], self *actor.PID, id uint64, conn C, ended any, returned func(*Slot[C]) any) *Slot[C] {
	s := &Slot[C]{
		Conn: conn, Actor: self, ID: id, ended: ended,
		root: cfg.Root, broker: cfg.Broker, returning: cfg.Returning, needsReset: cfg.NeedsReset,
		idle: cfg.Idle,
	}
	s.Returned = returned(s)
	return s
}

// Prepare records, before Grant, how the next lease is watched: brokered
// says it must end through the broker (an actor's lease, whose owner the
// broker tracks); now and stack are recorded when watch is set. Broker
// only; the fast path does the same in Idle.grant.
func (s *Slot[C]) Prepare(brokered, watch bool, now int64, stack []byte) {
	s.brokered = brokered
	if watch {
		s.setLeaseInfo(now, stack)
	}
}

func (s *Slot[C]) setLeaseInfo(now int64, stack []byte) {
	s.leasedAt.Store(now)
	if stack == nil {
		s.stack.Store(nil)
	} else {
		s.stack.Store(&stack)
	}
}

// LeaseInfo reads the current lease: its state word (for RevokeFrom and
// WarnFrom), when it started and the acquirer's stack. ok is false when no
// lease holds the slot, or when it changed hands while being read.
func (s *Slot[C]) LeaseInfo() (cur uint64, leasedAt int64, stack []byte, ok bool) {
	cur = s.state.Load()
	if st := cur & stateMask; st != stLeased && st != stWarned {
		return 0, 0, nil, false
	}
	leasedAt = s.leasedAt.Load()
	if p := s.stack.Load(); p != nil {
		stack = *p
	}
	// The fields are written before Grant: if the state is unchanged, they
	// belong to this lease.
	if s.state.Load() != cur {
		return 0, 0, nil, false
	}
	return cur, leasedAt, stack, true
}

// Held is how long the last lease was held (or is held) at now, when
// leases are watched. Broker only, after the lease came back through it.
func (s *Slot[C]) Held(now int64) time.Duration { return time.Duration(now - s.leasedAt.Load()) }

// RevokeFrom ends the lease read by LeaseInfo as cur, for the broker, if it
// is still held. It reports false when the holder ended it first.
func (s *Slot[C]) RevokeFrom(cur uint64, reclaimed bool) bool {
	to := stRevoked
	if reclaimed {
		to = stReclaimed
	}
	return s.state.CompareAndSwap(cur, cur&^stateMask|to)
}

// WarnFrom marks the lease read by LeaseInfo as cur as reported leaked, so
// that it ends through the broker. It reports false when it already was, or
// when the lease ended.
func (s *Slot[C]) WarnFrom(cur uint64) bool {
	if cur&stateMask != stLeased || !s.state.CompareAndSwap(cur, cur&^stateMask|stWarned) {
		return false
	}
	s.WarnedGen = cur >> stateBits
	return true
}

// Warned reports whether the lease that ended last had been reported
// leaked (broker, after the lease came back).
func (s *Slot[C]) Warned() bool { return s.WarnedGen != 0 && s.WarnedGen == s.Generation() }

// SetExpired marks the connection past its lifetime: a holder will not put
// it back on Idle, the broker retires it. Broker only, under the Idle lock.
func (s *Slot[C]) SetExpired() { s.expired.Store(true) }

// Expired reports whether SetExpired was called.
func (s *Slot[C]) Expired() bool { return s.expired.Load() }

// Grant starts a new lease. The granter must own the slot: the broker
// (fresh, back from a lease, or taken off Idle), or a caller that took it
// with Idle.Take.
func (s *Slot[C]) Grant() Lease[C] {
	gen := s.state.Load()>>stateBits + 1
	s.state.Store(gen<<stateBits | stLeased)
	return Lease[C]{slot: s, gen: gen}
}

// unlend ends lease gen, which nobody saw, as if released. It reports
// false when the broker revoked it first.
func (s *Slot[C]) unlend(gen uint64) bool {
	return s.state.CompareAndSwap(gen<<stateBits|stLeased, gen<<stateBits|stReleased)
}

// Revoke ends the current lease for the broker, if it is still held.
// reclaimed says the owner actor stopped (otherwise: timeout or Close).
// It reports false when the holder ended the lease first.
func (s *Slot[C]) Revoke(reclaimed bool) bool {
	cur := s.state.Load()
	if st := cur & stateMask; st != stLeased && st != stWarned {
		return false
	}
	return s.RevokeFrom(cur, reclaimed)
}

// Leased reports whether a lease currently holds the slot.
func (s *Slot[C]) Leased() bool {
	st := s.state.Load() & stateMask
	return st == stLeased || st == stWarned
}

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
	if l.slot == nil {
		return false
	}
	cur := l.slot.state.Load()
	return cur == l.gen<<stateBits|stLeased || cur == l.gen<<stateBits|stWarned
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
	ended := l.gen<<stateBits | to
	warned := false
	if !s.state.CompareAndSwap(l.gen<<stateBits|stLeased, ended) {
		if !s.state.CompareAndSwap(l.gen<<stateBits|stWarned, ended) {
			return l.endedBy(s.state.Load())
		}
		warned = true
	}
	switch {
	case to == stBroken:
		s.Cause = cause
	case s.needsReset != nil && !s.needsReset(s.Conn):
		// Nothing to undo: back on the idle stack, unless the broker must
		// see it (an actor's lease, one reported leaked, waiters queued,
		// the pool closing or shrinking, the connection past its
		// lifetime).
		if !warned && !s.brokered && s.idle != nil && s.idle.put(s) {
			return nil
		}
		s.returning.Add(1)
		s.root.Send(s.broker, s.Returned)
		return nil
	}
	s.returning.Add(1)
	s.root.Send(s.Actor, s.ended)
	return nil
}

// endedBy explains why a lease could not be ended: cur is the slot's state.
func (l Lease[C]) endedBy(cur uint64) error {
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
