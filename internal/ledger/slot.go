package ledger

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/cmdq"
)

// Where a connection stands. Every change is made under the ledger's lock.
type slotState uint8

// The zero state is a slot just dialled, not yet added (Add).
const (
	// stIdle: on the stack, on the stale list, or being pinged.
	stIdle slotState = iota + 1
	// stLeased: held by exactly one lease, generation gen.
	stLeased
	// stEnded: the lease ended with Release or MarkBroken; the connection
	// actor resets it (then Returned) or closes it (then Lost).
	stEnded
	// stGone: revoked, reclaimed, retired or lost; never lent again.
	stGone
)

// How the last lease on a slot ended; read to explain a late Release.
type endKind uint8

const (
	endNone endKind = iota
	endReleased
	endBroken
	endRevoked
	endReclaimed
)

// Slot is one live connection as the ledger sees it. The connection actor
// creates it after a dial; the broker adds it to the ledger (Add).
//
// Who touches what: Conn, Actor, ID and the pre-built messages are set at
// creation and read-only after. The fields under "ledger" are guarded by
// the ledger's lock. The fields under "broker" belong to the broker's
// Receive (maintenance bookkeeping, read and written while it holds the
// lock in Sweep, or alone).
type Slot[C any] struct {
	Conn  C
	Actor *actor.PID // the connection actor that owns Conn
	ID    uint64     // numbers connections across the pool, for logs
	// Queue is the connection's command-mode queue; nil when the backend
	// has no command mode. Set by the connection actor before the slot is
	// added.
	Queue *cmdq.Queue

	ledger *Ledger[C]
	// ended goes to Actor when a lease ends and the connection needs a
	// reset or a close; returned goes to the broker when a connection
	// must be seen by it (closing, above MaxConns, past its lifetime).
	ended, returned any

	// ledger
	state    slotState
	end      endKind
	gen      uint64     // leases granted so far; a Lease names its generation
	owner    *actor.PID // the actor whose stop reclaims the lease; nil for goroutines
	leasedAt int64      // when the lease started (clock), when leases are watched or timed
	stack    []byte     // the acquirer's stack, when leak warnings are on
	warned   bool       // this lease was reported held past LeakWarnAfter
	expired  bool       // past MaxLifetime: the broker retires it when idle
	liveAt   int        // index in Ledger.live; -1 when not live
	cause    error      // why the last lease was marked broken
	commands bool       // the lease serves command mode: no lease timeout, no leak warning

	// broker
	IdleSince time.Time // idle since (dial, or the first sweep that saw it back)
	CheckedAt time.Time // last proof of life: dial, ping, or back from a lease
	SeenGen   uint64    // gen when IdleSince was stamped
	RetireAt  time.Time // dial time + MaxLifetime - jitter; zero: no limit
}

// PastLifetime reports whether s has reached RetireAt at now. RetireAt is
// set before the slot is shared and never changes, so any goroutine may
// ask.
func (s *Slot[C]) PastLifetime(now time.Time) bool {
	return !s.RetireAt.IsZero() && !now.Before(s.RetireAt)
}

// NewSlot prepares a slot for conn, owned by the connection actor self.
// ended is the message a holder sends to self when a lease ends and the
// connection needs its actor; returned is built once, for the slot, as the
// message that brings it to the broker.
func NewSlot[C any](l *Ledger[C], self *actor.PID, id uint64, conn C, ended any, returned func(*Slot[C]) any) *Slot[C] {
	s := &Slot[C]{Conn: conn, Actor: self, ID: id, ledger: l, ended: ended, liveAt: -1}
	s.returned = returned(s)
	return s
}

// Ledger is the ledger the slot belongs to.
func (s *Slot[C]) Ledger() *Ledger[C] { return s.ledger }

func (s *Slot[C]) String() string { return fmt.Sprintf("conn#%d", s.ID) }

// grant starts lease gen+1 for owner (nil: a goroutine). Under the lock.
func (l *Ledger[C]) grant(s *Slot[C], owner *actor.PID, stack []byte) uint64 {
	s.gen++
	s.state, s.end, s.owner, s.warned, s.cause, s.commands = stLeased, endNone, owner, false, nil, false
	if l.stamp {
		s.leasedAt, s.stack = clock(), stack
	}
	l.acquired++
	return s.gen
}

// endedErr explains why lease gen on s cannot end: it already has. Under
// the lock.
func (s *Slot[C]) endedErr(gen uint64) error {
	if s.gen == gen {
		switch s.end {
		case endRevoked:
			return fmt.Errorf("%w: held past LeaseTimeout or pool closed", ErrLeaseRevoked)
		case endReclaimed:
			return fmt.Errorf("%w: owner actor stopped", ErrLeaseRevoked)
		}
	}
	return ErrLeaseReleased
}

// epoch is the origin of clock.
var epoch = time.Now()

// clock is the ledger's monotonic clock, in nanoseconds: one read of the
// runtime's monotonic time, which is all a lease's timing needs.
func clock() int64 { return int64(time.Since(epoch)) }

// onClock is t on clock: t must carry a monotonic reading (time.Now's).
func onClock(t time.Time) int64 { return int64(t.Sub(epoch)) }
