package main

// This file is the schedule of events: which kind comes next, after how
// long, to which member, and a member's new load. It draws everything from
// one seeded source, so a seed gives the same schedule every time.

import (
	"math/rand/v2"
	"time"
)

// kind is what an event does to the members.
type kind int

const (
	join   kind = iota // a new member starts and joins the budget
	leave              // a member leaves the budget, then the cluster
	crash              // a member goes silent
	demand             // a member's load changes
)

var kinds = []kind{join, leave, crash, demand}

func (k kind) String() string { return [...]string{"join", "leave", "crash", "demand"}[k] }

const (
	startMembers = 3 // members before the first event
	maxMembers   = 6 // no join beyond
	minMembers   = 1 // no leave or crash below
)

// opening is the first events' kinds, so that even a short run has one of
// each.
var opening = []kind{join, demand, leave, crash}

// schedule is owned by the goroutine that runs the events.
type schedule struct {
	rng    *rand.Rand
	budget int
	events int // events drawn so far
}

func newSchedule(seed uint64, budget int) *schedule {
	return &schedule{rng: rand.New(rand.NewPCG(seed, seed)), budget: budget}
}

// allowed says whether k can happen while members are running.
func allowed(k kind, members int) bool {
	switch k {
	case join:
		return members < maxMembers
	case leave, crash:
		return members > minMembers
	}
	return true
}

// weight is how likely each kind is, among those allowed: a join as
// likely as a leave or a crash, so that the number of members wanders
// between the bounds rather than drifting to one.
var weight = map[kind]int{join: 2, leave: 1, crash: 1, demand: 2}

// next returns the kind of the next event while members are running: the
// opening ones first, then an allowed kind drawn by weight.
func (s *schedule) next(members int) kind {
	i := s.events
	s.events++
	if i < len(opening) && allowed(opening[i], members) {
		return opening[i]
	}
	total := 0
	for _, k := range kinds {
		if allowed(k, members) {
			total += weight[k]
		}
	}
	n := s.rng.IntN(total)
	for _, k := range kinds {
		if allowed(k, members) {
			if n -= weight[k]; n < 0 {
				return k
			}
		}
	}
	panic("unreachable")
}

// gap is how long to wait before the next event: 1 to 4 s.
func (s *schedule) gap() time.Duration {
	return time.Second + time.Duration(s.rng.Int64N(int64(3*time.Second)))
}

// pick returns one of n members.
func (s *schedule) pick(n int) int { return s.rng.IntN(n) }

// load returns a member's new load: a number of workers from 0 to 3 × the
// budget, or -1 for none at all (Quiet), one time in four.
func (s *schedule) load() int {
	if s.rng.IntN(4) == 0 {
		return -1
	}
	return s.rng.IntN(3*s.budget + 1)
}
