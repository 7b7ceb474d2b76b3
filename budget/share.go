package budget

// This file is one member's side of a budget between two ticks: what it
// measured of its pool, the topology and states it last saw, and what it
// publishes. It is pure, so that tests can play many members against each
// other with any gossip delay; Member drives it from the live cluster.

import (
	"slices"
	"time"
)

// sample is what a member reads of its pool at a tick.
type sample struct {
	Leased, Waiting, Open int
	// Max is the pool's MaxConns: the member's own last limit, unless
	// setting it failed.
	Max int
}

// share is owned by the one goroutine that ticks it.
type share struct {
	id    string
	cfg   Config
	start time.Time // a member grows only a Window after it started

	own   peerState
	limit int                  // the pool's MaxConns, as last set
	topo  []string             // the cluster's members, sorted
	seen  map[string]peerState // the latest state of each member, own included
	last  view                 // the view of the last tick
	mine  int                  // own share in last
	agree bool                 // every member reported last, within its share
	// leaving: the limit is 0 from now on; Left is published once the
	// claim reached 0.
	leaving bool

	// demand: the last time callers waited, and the peak leased per tick
	// over the last Window.
	hungryAt time.Time
	peaks    []timed
	// claims over the last Settle, newest last.
	claims []timed
}

type timed struct {
	at time.Time
	n  int
}

func newShare(id string, cfg Config, now time.Time) *share {
	s := &share{id: id, cfg: cfg, start: now, seen: map[string]peerState{}}
	s.own = peerState{Budget: cfg.Budget, Floor: cfg.Floor, Version: now.UnixNano()}
	s.seen[id] = s.own
	return s
}

// setTopology takes the members of the cluster that share the budget. A
// change bumps the own version, so that a view seen before the change can
// never be mistaken for one after it. A member not in the topology (not
// yet, or no longer: the membership dropped it) has no share: its limit
// is 0.
func (s *share) setTopology(ids []string) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	if slices.Equal(ids, s.topo) {
		return
	}
	s.topo = ids
	s.own.Version++
}

// observe takes another member's latest gossiped state.
func (s *share) observe(id string, st peerState) {
	if id == s.id {
		return
	}
	if old, ok := s.seen[id]; ok && old.Version > st.Version {
		return
	}
	s.seen[id] = st
}

// step measures the pool, recomputes the view and returns the limit to
// set and the state to publish.
func (s *share) step(now time.Time, m sample) (limit int, publish peerState) {
	demand := 0
	if !s.leaving {
		demand = s.demand(now, m)
	}
	if demand != s.own.Demand {
		s.own.Demand = demand
		s.own.Version++
	}
	s.seen[s.id] = s.own
	s.last = newView(s.topo, s.seen)
	next, mine, agree := decide(s.last, s.id, s.limit, s.seen)
	s.mine, s.agree = mine, agree
	switch {
	case s.leaving:
		s.limit = 0
	case next <= s.limit || !now.Before(s.start.Add(s.cfg.Window)):
		s.limit = next
	}
	s.own.View = s.last.Hash
	s.own.Claim = s.claim(now, max(s.limit, m.Max, m.Open))
	if s.leaving && s.own.Claim == 0 && !s.own.Left {
		s.own.Left = true
		s.own.Version++
	}
	s.seen[s.id] = s.own
	return s.limit, s.own
}

// demand is Budget when callers waited within the last Window, else the
// most connections leased at a tick within it.
func (s *share) demand(now time.Time, m sample) int {
	if m.Waiting > 0 {
		s.hungryAt = now
	}
	s.peaks = keep(append(s.peaks, timed{now, m.Leased}), now.Add(-s.cfg.Window))
	if !s.hungryAt.IsZero() && now.Sub(s.hungryAt) < s.cfg.Window {
		return s.cfg.Budget
	}
	peak := 0
	for _, p := range s.peaks {
		peak = max(peak, p.n)
	}
	return min(peak, s.cfg.Budget)
}

// claim is the largest of n and the claims within the last Settle: a
// connection the pool let go after its limit dropped may still be closing
// on the server. A connection the pool replaces counts against its
// MaxConns until it is closed, and its replacement is dialled only then.
func (s *share) claim(now time.Time, n int) int {
	s.claims = keep(append(s.claims, timed{now, n}), now.Add(-s.cfg.Settle))
	c := 0
	for _, t := range s.claims {
		c = max(c, t.n)
	}
	return c
}

// leave sets the member's limit to 0 from the next step on; the state it
// publishes says Left once its claim is 0, and not before: until then the
// others count what it may still have open.
func (s *share) leave() { s.leaving = true }

// keep drops the entries older than since (the newest always stays).
func keep(ts []timed, since time.Time) []timed {
	i := 0
	for i < len(ts)-1 && ts[i].at.Before(since) {
		i++
	}
	return append(ts[:0], ts[i:]...)
}
