package cmdq

import (
	"sync/atomic"
)

// View is one published state of a Set: the queues taking work, and why
// the last attempt to get a connection failed (nil when it did not). A
// View never changes; Changed is closed when the next one is published.
type View struct {
	Queues  []*Queue
	Err     error
	Closed  bool
	Changed chan struct{}
}

// Set is the queues in command mode. The dispatcher publishes; callers
// read the current View without a lock and pick a queue from it.
type Set struct {
	view atomic.Pointer[View]
	// asked is set by the first caller or actor that asks the dispatcher
	// for another connection, and cleared by the dispatcher when it has
	// answered, so that a burst sends one message.
	asked atomic.Bool

	// ask sends the dispatcher a Grow; set before the set is used.
	ask func()

	// Gone reports whether a message's sender has stopped; set before the
	// set is used.
	Gone func(owner any) bool

	// Counters for Stats, written by connection actors and the pool.
	Batches  atomic.Uint64
	Commands atomic.Uint64
	Dropped  atomic.Uint64 // messages' ops dropped: their sender stopped
}

// NewSet returns an empty set whose Grow calls ask.
func NewSet(ask func()) *Set {
	s := &Set{ask: ask}
	s.view.Store(&View{Changed: make(chan struct{})})
	return s
}

// View is the current state.
func (s *Set) View() *View { return s.view.Load() }

// Publish replaces the view (dispatcher only).
func (s *Set) Publish(queues []*Queue, err error, closed bool) {
	old := s.view.Load()
	s.view.Store(&View{Queues: queues, Err: err, Closed: closed, Changed: make(chan struct{})})
	close(old.Changed)
}

// Grow asks the dispatcher for another connection, unless a request is
// already on its way.
func (s *Set) Grow() {
	if !s.asked.Load() && s.asked.CompareAndSwap(false, true) {
		s.ask()
	}
}

// Answered lets the next Ask through (dispatcher only).
func (s *Set) Answered() { s.asked.Store(false) }

// Place pushes o to the live queue with the fewest ops pending, looking
// again while a queue stops taking work under it. When it returns false,
// v (the view it last read) is Closed or has no queue taking work, and the
// caller answers o or holds it until one does.
func (s *Set) Place(o *Op) (v *View, pushed bool) {
	for {
		v = s.View()
		if v.Closed {
			return v, false
		}
		q := v.Pick()
		if q == nil {
			return v, false
		}
		if q.Push(o) {
			return v, true
		}
	}
}

// Pick returns the live queue with the fewest ops pending, or nil.
func (v *View) Pick() *Queue {
	var best *Queue
	least := int32(-1)
	for _, q := range v.Queues {
		if !q.Live() {
			continue
		}
		if n := q.pending.Load(); least < 0 || n < least {
			best, least = q, n
		}
	}
	return best
}

// InFlight is the number of ops pushed and not finished, over the view's
// queues.
func (v *View) InFlight() int {
	n := 0
	for _, q := range v.Queues {
		n += q.Pending()
	}
	return n
}
