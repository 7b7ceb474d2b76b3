package ledger

import "time"

// Verdict is the broker's decision on one idle connection in a Sweep.
type Verdict int

const (
	// Keep leaves the connection where it is.
	Keep Verdict = iota
	// RetireIdle closes it: idle too long while the pool is above MinConns.
	RetireIdle
	// RetireExpired closes it: past its lifetime.
	RetireExpired
	// Ping sends it to its actor for a keepalive ping.
	Ping
	// Validate takes it off the stack: it is pinged before it is lent.
	Validate
)

// Sweep is the broker's maintenance walk, under the lock so that no caller
// takes a connection it retires or pings. It marks connections past
// RetireAt as expired (a leased one is retired when it comes back), stamps
// the idle ones that were lent since the last sweep (by their lease
// generation: nobody reads the clock on the lease path) as idle and
// checked now, then asks decide about each idle connection, longest idle
// first; aboveMin says the pool may lose one to IdleTimeout, last that it
// is the only connection alive. It returns
// the connections to retire (already out of the ledger), to ping (counted
// as being pinged), and how many replacements for expired ones are
// counted in Total already (see retire).
func (l *Ledger[C]) Sweep(now time.Time, decide func(s *Slot[C], aboveMin, last bool) Verdict) (retire, ping []*Slot[C], replace int) {
	l.lock()
	defer l.mu.Unlock()
	for _, s := range l.live {
		if !s.expired && s.PastLifetime(now) {
			s.expired = true
		}
	}
	// judge applies decide to s; it reports whether s stays idle and was
	// to be validated.
	judge := func(s *Slot[C]) (stays, validate bool) {
		if s.gen != s.SeenGen {
			s.SeenGen = s.gen
			s.IdleSince, s.CheckedAt = now, now
		}
		switch v := decide(s, l.total > l.min, len(l.live) == 1); v {
		case RetireIdle, RetireExpired:
			if v == RetireIdle {
				l.n.RetiredIdle++
			} else {
				l.n.RetiredLifetime++
			}
			if l.retire(s) {
				replace++
			}
			retire = append(retire, s)
			return false, false
		case Ping:
			l.checking++
			ping = append(ping, s)
			return false, false
		case Validate:
			return true, true
		}
		return true, false
	}
	stale := l.stale[:0]
	for _, s := range l.stale {
		if stays, _ := judge(s); stays {
			stale = append(stale, s)
		}
	}
	clear(l.stale[len(stale):])
	l.stale = stale
	kept := l.stack[:0]
	for _, s := range l.stack {
		stays, validate := judge(s)
		switch {
		case !stays:
		case validate:
			l.stale = append(l.stale, s)
		default:
			kept = append(kept, s)
		}
	}
	clear(l.stack[len(kept):])
	l.stack = kept
	return retire, ping, replace
}

// Expired reports whether s is past its lifetime. Under the lock, or from
// the broker's Sweep callback.
func (s *Slot[C]) Expired() bool { return s.expired }
