// Package ledger is the pool's one record of who holds what: the idle
// connections, the line of waiters, the leases out, and the counts Stats
// reports. One structure under one lock; the broker creates it and alone
// changes its policy (limits, fail fast, closed).
//
// The rules, all decided under mu:
//   - The stack and the line are never both non-empty: a connection that
//     comes back goes to the oldest waiter when there is one, and a caller
//     joins the line only when the stack is empty. Nobody barges past the
//     line, so waiters are served strictly first come, first served;
//     except, with overload control on (overload.go), while the pool is
//     overloaded: then the newest waiter is served first, and waiters past
//     twice the target are failed at once.
//   - A connection is lent (grant) only under the lock, from the stack or
//     from a returning lease, and a lease ends only under the lock, by its
//     holder (End), by the broker (revoke, reclaim) or not at all: at most
//     one lease holds a connection, and each lease ends exactly once.
//   - A goroutine waiter owns its deadline: it arms its own timer and, when
//     its ctx or timer fires first, takes itself out of the line. Whoever
//     answers it takes it out of the line first, so an answer and a
//     withdrawal never both happen. Actor waiters are timed by the broker.
//   - No actor message is sent under the lock: methods collect what must
//     be sent (an outbox) and send it after unlocking.
//   - Once closed, every change made outside the broker that can leave the
//     ledger drained (Drained: every alive connection idle in it) is
//     followed by a message to the broker, which checks Drained after each
//     one: a connection coming back is handed to the broker (put, then
//     Place), and one its actor forgets (Lost, a failed ping) nudges it
//     (forget; a nudge already on its way serves as well). Close's wait
//     never rests on an unrelated message, nor on a poll.
//   - Counts: alive connections are idle (stack, stale, being pinged) or
//     leased (held, or ended and with their actor); total adds the
//     connection actors without a connection. Stats reads them in one
//     critical section, so Total == Idle + Leased + Dialing in every
//     snapshot.
//
// Methods are grouped by who calls them: caller.go (Acquire), holder.go
// (End), conn.go (the connection actor), broker.go, growth.go and
// sweep.go (the broker; growth.go is its count of connection actors and
// the growth rule, sweep.go its maintenance tick).
package ledger

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Policy is the part of the lifecycle settings the ledger applies; the
// broker sets it (New, SetPolicy).
type Policy struct {
	MaxWaiters int // 0: unbounded
	// WatchLeases: LeaseTimeout or LeakWarnAfter is on, so a grant records
	// when the lease started (and the acquirer's stack).
	WatchLeases bool
	// QueueTarget and QueueInterval are overload control (overload.go);
	// QueueTarget 0: off, waiters are always served first come, first
	// served.
	QueueTarget, QueueInterval time.Duration
}

// Config is read-only after New, except Policy, which SetPolicy changes
// under the lock.
type Config[C any] struct {
	Policy
	// Used, when set, is told how long each lease ended by its holder
	// (Release or MarkBroken) was held; a grant then records when the
	// lease started. Called on the holder's goroutine, after the lock is
	// released.
	Used func(held time.Duration)
	// Waited, when set, is told how long each granted acquire waited, a
	// goroutine's or an actor's: 0 when an idle connection was lent at
	// once (no clock is read then), else from joining the line to the
	// grant. Called after the lock is released.
	Waited func(wait time.Duration)
	// NeedsReset, when set, tells on End whether the holder may have
	// changed the session; when it says no, the connection is lent again
	// without its actor's Reset. Called under the lock: it must be cheap.
	NeedsReset func(C) bool
	// Granted and Failed build the answers to an actor's acquire, with
	// its tag.
	Granted func(s *Slot[C], gen uint64, tag any) any
	Failed  func(err error, tag any) any
	// Nudge is the message that tells the broker it has something to
	// decide (the pool may grow, stale connections need a ping, callers
	// are failed fast, a connection went while closed). At most one is in
	// flight.
	Nudge  any
	Logger *slog.Logger
	// FIFO: lend the connection idle longest (the bottom of the stack)
	// first, instead of the most recently used.
	FIFO bool
}

// timed: the ledger's user times leases (Used or Waited).
func (c *Config[C]) timed() bool { return c.Used != nil || c.Waited != nil }

// Ledger: see the package doc. Every field below mu is guarded by it.
type Ledger[C any] struct {
	cfg  Config[C]
	reqs sync.Pool // *Request[C] of goroutine callers, answered ones only

	mu sync.Mutex
	// stamp: a grant records when the lease started (WatchLeases, Used or
	// Waited).
	stamp  bool
	root   *actor.RootContext
	broker *actor.PID
	ov     overload // overload control (overload.go)

	// policy: the broker's
	min, max int
	closed   atomic.Bool // written under mu; IsClosed reads it without
	failFast error       // non-nil while the circuit is open: Acquire fails with it
	dialErr  error       // the last dial error while no connection is alive
	nudged   bool        // a Nudge is on its way to the broker

	stack    []*Slot[C] // idle, ready to lend; most recently used last
	stale    []*Slot[C] // idle past ValidateAfterIdle: pinged before lending
	checking int        // idle connections being pinged
	handing  int        // idle connections on their way to the broker (Place)
	live     []*Slot[C] // every alive connection (Slot.liveAt indexes it)
	ended    int        // leases ended, connection with its actor (reset or close)
	total    int        // connection actors: alive, dialling or waiting to redial
	leaving  int        // connections let go (retire) that their actor has not closed yet
	line     line[C]    // waiters, oldest first

	acquired uint64
	n        Counters
}

// Counters are the cumulative counts in a snapshot.
type Counters struct {
	Timeouts, FailedFast, Rejected           uint64
	Dials, DialErrors, Restarts              uint64
	Broken, Revoked, Reclaimed, LeakWarnings uint64
	RetiredIdle, RetiredLifetime             uint64
	FailedPings, FailedValidations           uint64
	CircuitOpens                             uint64
	Overloads, Shed                          uint64
}

// Snapshot is the state at one instant.
type Snapshot struct {
	MinConns, MaxConns                    int
	Total, Idle, Leased, Dialing, Waiting int
	Acquired                              uint64
	Counters
	LastDialError error
	// CircuitOpen: acquires fail fast (ErrBackendUnavailable) until a
	// dial succeeds.
	CircuitOpen bool
}

// New returns a ledger with the given limits and no connection yet; the
// MinConns connection actors the broker starts first are counted in Total
// from the start. Bind must be called before any caller uses it.
func New[C any](cfg Config[C], minConns, maxConns int) *Ledger[C] {
	l := &Ledger[C]{cfg: cfg, min: minConns, max: maxConns, total: minConns, stack: make([]*Slot[C], 0, maxConns)}
	l.stamp = cfg.WatchLeases || cfg.timed()
	l.reqs.New = func() any { return l.newRequest() }
	return l
}

// Bind names the broker that messages from callers, holders and connection
// actors go to.
func (l *Ledger[C]) Bind(root *actor.RootContext, broker *actor.PID) {
	l.lock()
	l.root, l.broker = root, broker
	l.mu.Unlock()
}

// Stats is a snapshot taken under the lock.
func (l *Ledger[C]) Stats() Snapshot {
	l.lock()
	defer l.mu.Unlock()
	alive, idle := len(l.live), l.idle()
	s := Snapshot{
		MinConns: l.min, MaxConns: l.max,
		Total: l.total, Idle: idle, Leased: alive - idle, Dialing: l.total - alive,
		Waiting: l.line.callers(), Acquired: l.acquired, Counters: l.n,
		CircuitOpen: l.failFast != nil,
	}
	if alive == 0 {
		s.LastDialError = l.dialErr
	}
	return s
}

// Load is what a picker weighs: leases out plus callers waiting, and
// MaxConns, read under the lock without the rest of the snapshot.
func (l *Ledger[C]) Load() (outstanding, maxConns int) {
	l.lock()
	defer l.mu.Unlock()
	return len(l.live) - l.idle() + l.line.callers(), l.max
}

// idle counts idle connections: on the stack, stale, being pinged, or on
// their way to the broker.
// Under the lock.
func (l *Ledger[C]) idle() int { return len(l.stack) + len(l.stale) + l.checking + l.handing }

// coming counts connections that will be free without a new dial: actors
// dialling, connections being pinged or reset. Under the lock.
func (l *Ledger[C]) coming() int { return l.total - len(l.live) + l.checking + l.ended }

// outbox is what a method decided to send, sent after the lock is released.
type outbox[C any] struct {
	root     *actor.RootContext
	broker   *actor.PID
	toBroker *Slot[C]      // a connection the broker must place
	toActor  *Slot[C]      // a connection whose actor resets or closes it
	answered *Request[C]   // a request answered (the usual case: one)
	more     []*Request[C] // more requests answered (failed all at once)
	nudge    bool
}

// outbox starts an outbox. Under the lock.
func (l *Ledger[C]) outbox() outbox[C] { return outbox[C]{root: l.root, broker: l.broker} }

// send delivers the outbox. Never under the lock.
func (l *Ledger[C]) send(o *outbox[C]) {
	if o.toBroker != nil {
		o.root.Send(o.broker, o.toBroker.returned)
	}
	if o.toActor != nil {
		o.root.Send(o.toActor.Actor, o.toActor.ended)
	}
	if o.answered != nil {
		l.reply(o, o.answered)
	}
	for _, r := range o.more {
		l.reply(o, r)
	}
	if o.nudge {
		o.root.Send(o.broker, l.cfg.Nudge)
	}
}

// put lends s to the oldest waiter, or pushes it on the stack (bottom
// when it sat idle longest), unless the broker must see it: the pool is
// closing, above MaxConns, or s is past its lifetime. Under the lock.
func (l *Ledger[C]) put(s *Slot[C], bottom bool, o *outbox[C]) {
	if l.closed.Load() || s.expired || l.total > l.max {
		s.state = stIdle
		o.toBroker = s
		l.handing++
		return
	}
	if r := l.next(o); r != nil {
		l.answer(r, s, l.grant(s, r.Owner, r.stack), nil, o)
		return
	}
	s.state = stIdle
	if bottom {
		l.stack = append(l.stack, nil)
		copy(l.stack[1:], l.stack)
		l.stack[0] = s
		return
	}
	l.stack = append(l.stack, s)
}

// answer resolves r, already out of the line, with a lease on s or with
// err. Under the lock; the outbox wakes a goroutine waiter, or sends an
// actor its answer, once the lock is released.
func (l *Ledger[C]) answer(r *Request[C], s *Slot[C], gen uint64, err error, o *outbox[C]) {
	r.slot, r.gen, r.err = s, gen, err
	if err == nil && l.stamp {
		r.waited = time.Duration(s.leasedAt - r.queuedAt)
	}
	if o.answered == nil {
		o.answered = r
		return
	}
	o.more = append(o.more, r)
}

// reply delivers r's answer: it wakes a goroutine waiter, or sends an
// actor *Granted or *AcquireFailed. Never under the lock.
func (l *Ledger[C]) reply(o *outbox[C], r *Request[C]) {
	switch {
	case r.ReplyTo == nil:
		r.done <- struct{}{}
	case r.err == nil:
		if waited := l.cfg.Waited; waited != nil && !r.Internal {
			waited(r.waited)
		}
		o.root.Send(r.ReplyTo, l.cfg.Granted(r.slot, r.gen, r.Tag))
	default:
		o.root.Send(r.ReplyTo, l.cfg.Failed(r.err, r.Tag))
	}
}

// addLive records s as alive. Under the lock.
func (l *Ledger[C]) addLive(s *Slot[C]) {
	s.liveAt = len(l.live)
	l.live = append(l.live, s)
}

// dropLive forgets s as alive: it is gone. Under the lock.
func (l *Ledger[C]) dropLive(s *Slot[C]) {
	if s.liveAt < 0 {
		return
	}
	last := l.live[len(l.live)-1]
	l.live[s.liveAt] = last
	last.liveAt = s.liveAt
	l.live[len(l.live)-1] = nil
	l.live = l.live[:len(l.live)-1]
	s.liveAt = -1
	s.state = stGone
}

// lock takes mu for everyone. It tries lockSpins times, pausing a little
// longer after each failure (so as not to keep the lock's cache line from
// its holder), before it parks: the lock is held for a few dozen
// nanoseconds, while sync.Mutex parks a goroutine at once whenever others
// are runnable (as when many callers wait), and a parked goroutine costs a
// wake-up far longer than the wait.
func (l *Ledger[C]) lock() {
	for i := range lockSpins {
		if l.mu.TryLock() {
			return
		}
		for range 8 << min(i, 3) {
			pause()
		}
	}
	l.mu.Lock()
}

// pause is a call the compiler keeps: a few nanoseconds of waiting.
//
//go:noinline
func pause() {}

// lockSpins is how many times lock tries before it parks: a few
// microseconds at most.
const lockSpins = 100
