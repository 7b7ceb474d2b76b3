package ledger

import "time"

// This file is the connection actor's side: what it tells the ledger about
// its one connection after a reset, a close or a ping.

// Resettable reports whether the lease that ended on s was released (so a
// reset may make the connection reusable), rather than marked broken; cause
// is the holder's reason when broken.
func (l *Ledger[C]) Resettable(s *Slot[C]) (ok bool, cause error) {
	l.lock()
	defer l.mu.Unlock()
	return s.state == stEnded && s.end == endReleased, s.cause
}

// Returned puts a connection back to use after its actor reset it: to the
// oldest waiter, or on the stack (or to the broker, when it must see it).
func (l *Ledger[C]) Returned(s *Slot[C]) {
	l.lock()
	if s.state != stEnded {
		l.mu.Unlock()
		return
	}
	l.ended--
	o := l.outbox()
	l.put(s, false, &o)
	l.mu.Unlock()
	l.send(&o)
}

// Lost forgets a connection its actor closed because it is unusable (the
// lease marked it broken, or its reset failed; failedReset counts it
// broken). The actor then crashes, and the broker hears of it from the
// supervisor. Lost is a no-op for a connection already gone.
func (l *Ledger[C]) Lost(s *Slot[C], failedReset bool) {
	l.lock()
	defer l.mu.Unlock()
	if s.state == stEnded {
		l.ended--
		if failedReset {
			l.n.Broken++
		}
	}
	l.dropLive(s)
}

// Pinged takes back an idle connection the broker sent to its actor for a
// ping. Alive, it goes back to use at the bottom of the stack (it sat idle
// longest), or to a waiter; dead, it is forgotten, and the actor crashes.
func (l *Ledger[C]) Pinged(s *Slot[C], validation bool, err error) {
	l.lock()
	if s.state != stIdle {
		l.mu.Unlock()
		return
	}
	l.checking--
	if err != nil {
		if validation {
			l.n.FailedValidations++
		} else {
			l.n.FailedPings++
		}
		l.dropLive(s)
		l.mu.Unlock()
		return
	}
	s.CheckedAt = time.Now()
	if s.PastLifetime(s.CheckedAt) {
		s.expired = true
	}
	o := l.outbox()
	l.put(s, true, &o)
	l.mu.Unlock()
	l.send(&o)
}
