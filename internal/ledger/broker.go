package ledger

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// This file is the broker's side: the policy (limits, the circuit's
// verdict, closed), actors' requests, connections joining and leaving,
// and the walks for maintenance and lease timeouts. Only the broker's
// Receive calls these.

// Admit serves an actor's acquire: a lease from the stack when nobody
// waits, else a request in line (queued, due timeout from now), else the
// error that answers it. The broker sends the answer; nothing is
// allocated and no clock is read unless the actor has to wait.
func (l *Ledger[C]) Admit(replyTo, owner *actor.PID, timeout time.Duration, internal bool, tag any) (s *Slot[C], gen uint64, queued *Request[C], err error) {
	l.lock()
	if s, gen, ok := l.takeIdle(owner, nil); ok {
		l.mu.Unlock()
		if waited := l.cfg.Waited; waited != nil && !internal {
			waited(0)
		}
		return s, gen, nil, nil
	}
	defer l.mu.Unlock()
	if err = l.admit(nil); err != nil {
		return nil, 0, nil, err
	}
	now := time.Now()
	queued = &Request[C]{ReplyTo: replyTo, Owner: owner, Tag: tag, Timeout: timeout, Deadline: now.Add(timeout), Internal: internal, queuedAt: onClock(now)}
	l.line.pushBack(queued)
	return nil, 0, queued, nil
}

// Expire takes an actor's request out of the line when its deadline
// passed and returns the error that answers it; nil when it was answered
// already.
func (l *Ledger[C]) Expire(r *Request[C]) error {
	l.lock()
	defer l.mu.Unlock()
	if !r.queued {
		return nil
	}
	l.timeOut(r)
	return r.err
}

// Queued returns the requests of rs still in line, in place.
func (l *Ledger[C]) Queued(rs []*Request[C]) []*Request[C] {
	l.lock()
	defer l.mu.Unlock()
	kept := rs[:0]
	for _, r := range rs {
		if r.queued {
			kept = append(kept, r)
		}
	}
	clear(rs[len(kept):])
	return kept
}

// Nudged clears the nudge flag and, when callers wait, hands back the
// stale connections for a ping before lending (they count as being
// pinged from now on).
func (l *Ledger[C]) Nudged() (ping []*Slot[C]) {
	l.lock()
	defer l.mu.Unlock()
	l.nudged = false
	if l.line.n == 0 || len(l.stale) == 0 {
		return nil
	}
	ping = append(ping, l.stale...)
	l.checking += len(l.stale)
	clear(l.stale)
	l.stale = l.stale[:0]
	return ping
}

// Add takes a newly dialled connection into the ledger and places it, in
// one step (see place).
func (l *Ledger[C]) Add(s *Slot[C]) (retire, replace bool) {
	l.lock()
	l.addLive(s)
	s.state = stIdle
	o := l.outbox()
	retire, replace = l.place(s, &o)
	l.mu.Unlock()
	l.send(&o)
	return retire, replace
}

// Place puts an idle connection that a holder or a connection actor sent
// to the broker (see put) to use, as place does.
func (l *Ledger[C]) Place(s *Slot[C]) (retire, replace bool) {
	l.lock()
	if s.state != stIdle {
		l.mu.Unlock()
		return false, false
	}
	l.handing--
	o := l.outbox()
	retire, replace = l.place(s, &o)
	l.mu.Unlock()
	l.send(&o)
	return retire, replace
}

// place puts an idle connection the broker holds to use: to the oldest
// waiter, or on the stack. While closing it goes on the stack, where Close
// finds it. It reports retire, having taken the connection out of the
// ledger, when it must go instead: past its lifetime, or above MaxConns;
// replace says a replacement is counted in Total already (see retire).
// Under the lock.
func (l *Ledger[C]) place(s *Slot[C], o *outbox[C]) (retire, replace bool) {
	switch {
	case l.closed.Load():
		l.stack = append(l.stack, s)
	case s.expired:
		l.n.RetiredLifetime++
		return true, l.retire(s)
	case l.total > l.max:
		l.retire(s)
		return true, false
	default:
		l.put(s, false, o)
	}
	return false, false
}

// retire takes an idle connection, off the stack, out of the ledger: its
// actor closes it and stops. When that would leave the pool below
// MinConns, its place in Total is kept for a replacement, which the caller
// spawns (replace), so that Total never dips below MinConns. Under the
// lock.
func (l *Ledger[C]) retire(s *Slot[C]) (replace bool) {
	l.dropLive(s)
	l.leaving++
	if l.total <= l.min {
		return true
	}
	l.total--
	return false
}

// SetLimits applies new limits. Above the new maximum, idle connections go
// at once, stale ones then the longest idle first; they are returned for
// the broker to stop. Leased ones go when they come back (Place).
func (l *Ledger[C]) SetLimits(minConns, maxConns int) (retired []*Slot[C]) {
	l.lock()
	defer l.mu.Unlock()
	l.min, l.max = minConns, maxConns
	for l.total > l.max && len(l.stale) > 0 {
		s := l.stale[0]
		l.stale = append(l.stale[:0], l.stale[1:]...)
		l.retire(s)
		retired = append(retired, s)
	}
	n := 0
	for ; l.total > l.max && n < len(l.stack); n++ {
		l.retire(l.stack[n])
		retired = append(retired, l.stack[n])
	}
	l.stack = append(l.stack[:0], l.stack[n:]...)
	clear(l.stack[len(l.stack):cap(l.stack)])
	return retired
}

// SetCircuit records the circuit's verdict: while failFast is non-nil
// every acquire fails at once with it, and so does every waiter in line
// now (counted as failed fast). dialErr is the last dial error, for Stats.
func (l *Ledger[C]) SetCircuit(failFast, dialErr error) {
	l.lock()
	l.failFast, l.dialErr = failFast, dialErr
	o := l.outbox()
	if failFast != nil {
		for r := l.line.popFront(); r != nil; r = l.line.popFront() {
			l.n.FailedFast++
			l.answer(r, nil, 0, failFast, &o)
		}
	}
	l.mu.Unlock()
	l.send(&o)
}

// Close shuts the ledger: every waiter and every later acquire fails with
// ErrPoolClosed, and connections coming back go to the broker. It reports
// whether this call closed it (false: it was closed already). The pool's
// Close calls it first; the ledger's flag is the one record that the pool
// is closed, which the broker and the command dispatcher read too.
func (l *Ledger[C]) Close() (first bool) {
	l.lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return false
	}
	l.closed.Store(true)
	o := l.outbox()
	for r := l.line.popFront(); r != nil; r = l.line.popFront() {
		l.answer(r, nil, 0, ErrPoolClosed, &o)
	}
	l.mu.Unlock()
	l.send(&o)
	return true
}

// IsClosed reports whether Close was called; it takes no lock.
func (l *Ledger[C]) IsClosed() bool { return l.closed.Load() }

// Drained reports that no lease is out and no connection is being reset or
// pinged: every alive connection is idle and in the ledger.
func (l *Ledger[C]) Drained() bool {
	l.lock()
	defer l.mu.Unlock()
	return len(l.live) == len(l.stack)+len(l.stale)
}

// Count lets the broker add to the counters it owns (dials, restarts, the
// circuit).
func (l *Ledger[C]) Count(f func(*Counters)) {
	l.lock()
	f(&l.n)
	l.mu.Unlock()
}

// revoke ends the lease on s for the pool and forgets the connection; its
// actor closes it. The caller counts it. Under the lock.
func (l *Ledger[C]) revoke(s *Slot[C], how endKind) {
	s.end, s.owner, s.stack = how, nil, nil
	l.dropLive(s)
}

// RevokeAll revokes every lease out (Close gave up waiting) and returns
// how many.
func (l *Ledger[C]) RevokeAll() (n int) {
	l.lock()
	defer l.mu.Unlock()
	for i := len(l.live) - 1; i >= 0; i-- {
		if s := l.live[i]; s.state == stLeased {
			l.revoke(s, endRevoked)
			n++
		}
	}
	l.n.Revoked += uint64(n)
	return n
}

// DropOwner reclaims the leases of an actor that stopped, and takes its
// requests out of the line. It returns the reclaimed connections, whose
// actors close them.
func (l *Ledger[C]) DropOwner(owner *actor.PID) (reclaimed []*Slot[C]) {
	l.lock()
	defer l.mu.Unlock()
	for i := len(l.live) - 1; i >= 0; i-- {
		if s := l.live[i]; s.state == stLeased && s.owner != nil && s.owner.Equal(owner) {
			l.revoke(s, endReclaimed)
			reclaimed = append(reclaimed, s)
		}
	}
	l.n.Reclaimed += uint64(len(reclaimed))
	for r := l.line.head; r != nil; {
		next := r.next
		if r.Owner != nil && r.Owner.Equal(owner) {
			l.line.remove(r)
		}
		r = next
	}
	return reclaimed
}

// Held is a lease out, as ScanLeases reports it.
type Held struct {
	ID    uint64
	Actor *actor.PID
	Held  time.Duration
	Stack []byte
}

// ScanLeases revokes the leases held longer than timeout (when positive)
// and marks, once, those held longer than warnAfter (when positive). It
// returns both, for the broker to log and to tell the revoked leases'
// actors after the lock is released.
func (l *Ledger[C]) ScanLeases(now time.Time, timeout, warnAfter time.Duration) (revoked, warned []Held) {
	l.lock()
	defer l.mu.Unlock()
	for i := len(l.live) - 1; i >= 0; i-- {
		s := l.live[i]
		if s.state != stLeased || s.commands {
			continue
		}
		h := Held{ID: s.ID, Actor: s.Actor, Held: time.Duration(onClock(now) - s.leasedAt), Stack: s.stack}
		switch {
		case timeout > 0 && h.Held >= timeout:
			l.revoke(s, endRevoked)
			l.n.Revoked++
			revoked = append(revoked, h)
		case warnAfter > 0 && h.Held >= warnAfter && !s.warned:
			s.warned = true
			l.n.LeakWarnings++
			warned = append(warned, h)
		}
	}
	return revoked, warned
}

// ServeCommands marks lease gen on s as command mode's: the pool's lease
// checks (LeaseTimeout, LeakWarnAfter) leave it alone, since command mode
// gives the connection back by itself. It reports whether the lease is
// still held.
func (l *Ledger[C]) ServeCommands(s *Slot[C], gen uint64) bool {
	l.lock()
	defer l.mu.Unlock()
	if s.gen != gen || s.state != stLeased {
		return false
	}
	s.commands = true
	return true
}

// Stopped records that every connection actor has stopped and closed its
// connection: nothing is alive or idle any more, and Stats says so.
func (l *Ledger[C]) Stopped() {
	l.lock()
	defer l.mu.Unlock()
	for len(l.live) > 0 {
		l.dropLive(l.live[len(l.live)-1])
	}
	clear(l.stack)
	l.stack = l.stack[:0]
	clear(l.stale)
	l.stale = l.stale[:0]
	l.total, l.checking, l.handing, l.ended, l.leaving = 0, 0, 0, 0, 0
}

// SetPolicy puts p in force. MaxWaiters applies to callers joining the
// line from now on; a grant records when its lease started once
// WatchLeases is on (the leases out are timed from now); a new
// QueueTarget applies to the line at once, and turning it off ends an
// overload.
func (l *Ledger[C]) SetPolicy(p Policy, now time.Time) {
	l.lock()
	defer l.mu.Unlock()
	stamp := p.WatchLeases || l.cfg.timed()
	if stamp && !l.stamp {
		for _, s := range l.live {
			if s.state == stLeased {
				s.leasedAt, s.warned = onClock(now), false
			}
		}
	}
	l.stamp = stamp
	if p.QueueTarget != l.cfg.QueueTarget {
		l.ov = overload{} // a new target starts afresh; 0 ends an overload
	}
	l.cfg.Policy = p
}
