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
// fast and the rest learn early that they will not be. Once the line
// empties or its oldest waiter is below the target, waiters are served
// first come, first served again. Everything here runs under the lock, and only when a
// connection comes back while callers wait.

// overload is the state of overload control.
type overload struct {
	target, interval time.Duration // target 0: off
	above            time.Time     // since when the oldest wait has stayed above target; zero: it has not
	on               bool          // overloaded: newest first, shed past 2×target
}

// arrived is when r joined the line.
func (r *Request[C]) arrived() time.Time { return r.Deadline.Add(-r.Timeout) }

// next takes the waiter a returning connection goes to out of the line:
// the oldest, or under overload the newest, after shedding those waiting
// past twice the target (answered in o). nil when nobody waits.
func (l *Ledger[C]) next(o *outbox[C]) *Request[C] {
	if l.ov.target == 0 {
		return l.line.popFront()
	}
	front := l.line.head
	if front == nil || l.line.emptied {
		// An episode ends when the line empties, however it emptied.
		l.ov.on, l.ov.above, l.line.emptied = false, time.Time{}, false
	}
	if front == nil {
		return nil
	}
	now := time.Now()
	if now.Sub(front.arrived()) < l.ov.target {
		l.ov.on, l.ov.above = false, time.Time{}
	} else {
		if l.ov.above.IsZero() {
			// The oldest waiter has been in line, above the target, since
			// it passed the target.
			l.ov.above = front.arrived().Add(l.ov.target)
		}
		if !l.ov.on && now.Sub(l.ov.above) >= l.ov.interval {
			l.ov.on = true
			l.n.Overloads++
		}
	}
	if !l.ov.on {
		return l.line.popFront()
	}
	shedAfter := 2 * l.ov.target
	for r := l.line.head; r != nil && r != l.line.tail; r = l.line.head {
		waited := now.Sub(r.arrived())
		if waited <= shedAfter {
			break
		}
		l.line.remove(r)
		l.n.Shed++
		l.answer(r, nil, 0, fmt.Errorf("%w: waited %s while overloaded (QueueTarget %s): %w",
			ErrOverloaded, waited.Round(time.Millisecond), l.ov.target, ErrAcquireTimeout), o)
	}
	return l.line.popBack()
}
