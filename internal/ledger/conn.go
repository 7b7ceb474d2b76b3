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
// supervisor; while the ledger is closed, Lost nudges the broker as well
// (see forget).
// Lost is a no-op for a connection already gone.
func (l *Ledger[C]) Lost(s *Slot[C], failedReset bool) {
	l.lock()
	if s.state == stEnded {
		l.ended--
		if failedReset {
			l.n.Broken++
		}
	}
	o := l.outbox()
	l.forget(s, &o)
	l.mu.Unlock()
	l.send(&o)
}

// Pinged takes back an idle connection the broker sent to its actor for a
// ping. Alive, it goes back to use at the bottom of the stack (it sat idle
// longest), or to a waiter (see put); dead, it is forgotten (see forget),
// and the actor crashes.
func (l *Ledger[C]) Pinged(s *Slot[C], validation bool, err error) {
	l.lock()
	if s.state != stIdle {
		l.mu.Unlock()
		return
	}
	l.checking--
	o := l.outbox()
	if err != nil {
		if validation {
			l.n.FailedValidations++
		} else {
			l.n.FailedPings++
		}
		l.forget(s, &o)
	} else {
		s.CheckedAt = time.Now()
		if s.PastLifetime(s.CheckedAt) {
			s.expired = true
		}
		l.put(s, true, &o)
	}
	l.mu.Unlock()
	l.send(&o)
}

// forget drops s, a connection its actor closes, and nudges the broker
// when the ledger is closed and s was alive: Close may be waiting for s
// alone (see the rules in ledger.go). Under the lock.
func (l *Ledger[C]) forget(s *Slot[C], o *outbox[C]) {
	if l.closed.Load() && s.liveAt >= 0 && !l.nudged {
		l.nudged, o.nudge = true, true
	}
	l.dropLive(s)
}
