package ledger

// This file is the broker's count of connection actors: how many exist
// (Total), how many connections it let go are still closing, the growth
// rule (want) and its room under MaxConns. Only the broker changes these
// counts; callers read the rule's verdict when they join the line
// (wantsBroker).

// Counts is what the broker decides growth from.
type Counts struct {
	Min, Max, Total, Alive, Waiting int
}

// Counts reads the counts growth is decided from.
func (l *Ledger[C]) Counts() Counts {
	l.lock()
	defer l.mu.Unlock()
	return l.counts()
}

func (l *Ledger[C]) counts() Counts {
	return Counts{
		Min: l.min, Max: l.max, Total: l.total, Alive: len(l.live),
		Waiting: l.line.callers(),
	}
}

// room is how many connection actors the pool may add: MaxConns less the
// actors counted in Total and the connections let go whose actor has not
// closed them yet, so that the server never sees more than MaxConns.
// Under the lock.
func (l *Ledger[C]) room() int { return l.max - l.total - l.leaving }

// want is the growth rule, the one place it is written: up to MinConns
// always, and one connection actor per waiter not covered by a connection
// on its way, within room. Callers nudge the broker when it is positive
// (wantsBroker); the broker reserves it (Grow). Under the lock.
func (l *Ledger[C]) want() int {
	n := max(l.min-l.total, l.line.n-l.coming(), 0)
	return max(min(n, l.room()), 0)
}

// Grow counts in Total the connection actors the growth rule (want) asks
// for now, and returns how many: the broker spawns them.
func (l *Ledger[C]) Grow() int {
	l.lock()
	defer l.mu.Unlock()
	n := l.want()
	l.total += n
	return n
}

// Closed tells the ledger that the actor of a connection it let go
// (retire) stopped: its connection is closed.
func (l *Ledger[C]) Closed() {
	l.lock()
	l.leaving--
	l.mu.Unlock()
}

// ReserveOne counts one connection actor in Total when there is room for
// it, and returns 1, else 0: the circuit's probe, which the growth rule
// does not ask for.
func (l *Ledger[C]) ReserveOne() int {
	l.lock()
	defer l.mu.Unlock()
	if l.room() <= 0 {
		return 0
	}
	l.total++
	return 1
}

// Unreserve takes a connection actor without a connection out of Total:
// the broker stopped it.
func (l *Ledger[C]) Unreserve() {
	l.lock()
	l.total--
	l.mu.Unlock()
}
