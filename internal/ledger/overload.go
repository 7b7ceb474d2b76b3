package ledger

import (
	"fmt"
	"time"
)

// This file is overload control (Config.QueueTarget): while the oldest
// waiter's wait stays above the target for a whole interval, the pool is
// overloaded; a returning connection then goes to the newest waiter, not
// the oldest, and waiters past twice the target are failed (ErrOverloaded)
// as connections come back, so that the callers who are served are served
// fast and the rest learn early that they will not be. Once the oldest
// wait has stayed under the target (or the line empty) for an interval,
// waiters are served first come, first served again. Everything here runs under the lock, and only when a
// connection comes back while callers wait.

// overload is the state of overload control.
type overload struct {
	on bool // overloaded: newest first, shed past 2×target
	// above: since when the oldest wait has stayed above the target (to
	// turn on); below: since when it has stayed under it (to turn off).
	// Zero: it has not.
	above, below time.Time
}

// arrived is when r joined the line.
func (r *Request[C]) arrived() time.Time { return r.Deadline.Add(-r.Timeout) }

// next takes the waiter a returning connection goes to out of the line:
// the oldest, or under overload the newest, after shedding those waiting
// past twice the target (answered in o). nil when nobody waits.
func (l *Ledger[C]) next(o *outbox[C]) *Request[C] {
	if l.cfg.QueueTarget == 0 {
		return l.line.popFront()
	}
	if l.line.head == nil && !l.ov.on { // the common case: no clock read
		l.ov.above, l.line.emptied = time.Time{}, false
		return nil
	}
	now := time.Now()
	l.watch(now)
	if l.line.head == nil {
		return nil
	}
	if !l.ov.on {
		return l.line.popFront()
	}
	shedAfter := 2 * l.cfg.QueueTarget
	for r := l.line.head; r != nil && r != l.line.tail; r = l.line.head {
		waited := now.Sub(r.arrived())
		if waited <= shedAfter {
			break
		}
		l.line.remove(r)
		l.n.Shed++
		l.countTimeout(r) // ErrOverloaded matches ErrAcquireTimeout
		l.answer(r, nil, 0, fmt.Errorf("%w: waited %s while overloaded (QueueTarget %s): %w",
			ErrOverloaded, waited.Round(time.Millisecond), l.cfg.QueueTarget, ErrAcquireTimeout), o)
	}
	return l.line.popBack()
}

// watch turns overload on once the oldest wait has stayed above the target
// for an interval, and off once it has stayed under it (or the line empty)
// for an interval: a line that empties for a moment, as a burst of
// returning connections drains it, ends nothing.
func (l *Ledger[C]) watch(now time.Time) {
	ov := &l.ov
	young := l.line.head == nil || now.Sub(l.line.head.arrived()) < l.cfg.QueueTarget
	if l.line.emptied {
		l.line.emptied = false
		ov.above = time.Time{} // the oldest wait was not above the target all along
		if ov.on && ov.below.IsZero() {
			ov.below = now
		}
	}
	switch {
	case ov.on && young:
		if ov.below.IsZero() {
			ov.below = now
		}
		if now.Sub(ov.below) >= l.cfg.QueueInterval {
			ov.on, ov.below = false, time.Time{}
		}
	case ov.on:
		ov.below = time.Time{}
	case young:
		ov.above = time.Time{}
	default:
		if ov.above.IsZero() {
			// The oldest waiter has been in line, above the target, since
			// it passed the target.
			ov.above = l.line.head.arrived().Add(l.cfg.QueueTarget)
		}
		if now.Sub(ov.above) >= l.cfg.QueueInterval {
			ov.on, ov.above, ov.below = true, time.Time{}, time.Time{}
			l.n.Overloads++
		}
	}
}
