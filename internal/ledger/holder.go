package ledger

import "time"

// This file is the holder's side: ending a lease, on the holder's
// goroutine.

// End ends lease gen on s. broken says the holder found the connection
// unusable (cause is kept for logs): its actor closes it and the broker has
// it replaced. Otherwise the connection goes to its actor for a reset, or,
// when the backend says nothing needs undoing, straight to the oldest
// waiter or the stack. A lease that already ended returns ErrLeaseReleased,
// or ErrLeaseRevoked when the pool took it back; nothing changes then.
func (l *Ledger[C]) End(s *Slot[C], gen uint64, broken bool, cause error) error {
	if s == nil {
		return ErrLeaseReleased
	}
	l.lock()
	if s.gen != gen || s.state != stLeased {
		err := s.endedErr(gen)
		l.mu.Unlock()
		return err
	}
	o := l.outbox()
	warned, since, commands := s.warned, s.leasedAt, s.commands
	s.owner, s.stack = nil, nil
	switch {
	case broken:
		s.state, s.end, s.cause = stEnded, endBroken, cause
		l.n.Broken++
		l.ended++
		o.toActor = s
	case l.cfg.NeedsReset == nil || l.cfg.NeedsReset(s.Conn):
		s.state, s.end = stEnded, endReleased
		l.ended++
		o.toActor = s
	default:
		s.end = endReleased
		l.put(s, false, &o)
	}
	l.mu.Unlock()
	l.send(&o)
	if used := l.cfg.Used; used != nil && !commands {
		used(time.Duration(clock() - since)) // a command-mode lease is no holder's use
	}
	if warned {
		l.cfg.Logger.Info("actorpool: connection reported as leaked was returned", "conn", s.ID,
			"held", time.Duration(clock()-since).Round(time.Millisecond))
	}
	return nil
}

// Valid reports whether lease gen on s is still held.
func (l *Ledger[C]) Valid(s *Slot[C], gen uint64) bool {
	l.lock()
	defer l.mu.Unlock()
	return s.gen == gen && s.state == stLeased
}
