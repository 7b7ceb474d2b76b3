package group

import (
	"math/rand/v2"
	"sync/atomic"
)

// Picker chooses the endpoint that serves one request among candidates.
// Pick is called on the goroutine of each Acquire (and in the group's
// front actor), concurrently: it must be safe for concurrent use, cheap,
// and must return an index in [0, c.Len()). It is never called with no
// candidate.
//
// The pickers of the systems this package replaces map onto these: a
// "random" scheduler is Random, "round-robin" is RoundRobin, and "first in
// first out" (the longest-waiting request is served by the first endpoint
// with a free connection) is what PowerOfTwo approaches without a global
// queue: a request goes to the less loaded of two endpoints, and within an
// endpoint waiters are served in the order they came.
type Picker interface {
	Pick(c Candidates) int
}

// Candidates are the endpoints that may serve one request: not draining,
// of the role the request needs, and not failing fast. They are valid
// only during the Pick they are given to.
type Candidates interface {
	// Len is the number of candidates, at least 1.
	Len() int
	// Load is the endpoint's leases out plus callers waiting, and its
	// MaxConns, read from its pool's Stats (one lock, no message).
	Load(i int) (outstanding, capacity int)
	// Weight is the endpoint's weight (Endpoint.Weight, SetWeight).
	Weight(i int) int
}

// PowerOfTwo returns the default picker: it draws two candidates at
// random and takes the one with the lower (leases out + waiting) /
// MaxConns, as Envoy's LEAST_REQUEST and Finagle's P2C do. A slow endpoint
// holds its leases longer, so it looks busier and gets fewer requests;
// drawing two rather than taking the global minimum keeps callers that
// pick at the same instant from herding onto one endpoint.
func PowerOfTwo() Picker { return powerOfTwo{} }

type powerOfTwo struct{}

func (powerOfTwo) Pick(c Candidates) int {
	n := c.Len()
	if n == 1 {
		return 0
	}
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i {
		j++
	}
	oi, ci := c.Load(i)
	oj, cj := c.Load(j)
	// oi/ci <= oj/cj without division; a zero capacity counts as full.
	if ci == 0 {
		return j
	}
	if cj == 0 || oi*cj <= oj*ci {
		return i
	}
	return j
}

// RoundRobin returns a picker that takes the candidates in turn. With
// several callers the turns interleave; over many requests each
// candidate gets an equal share whatever its speed.
func RoundRobin() Picker { return &roundRobin{} }

type roundRobin struct{ next atomic.Uint64 }

func (r *roundRobin) Pick(c Candidates) int {
	return int((r.next.Add(1) - 1) % uint64(c.Len()))
}

// Random returns a picker that takes a candidate uniformly at random.
func Random() Picker { return random{} }

type random struct{}

func (random) Pick(c Candidates) int { return rand.IntN(c.Len()) }

// Weighted returns a picker that takes a candidate at random with a
// probability proportional to its weight. A weight of 0 takes nothing
// while another candidate has a weight; when all are 0 it picks uniformly.
func Weighted() Picker { return weighted{} }

type weighted struct{}

func (weighted) Pick(c Candidates) int {
	n, sum := c.Len(), 0
	for i := range n {
		sum += max(c.Weight(i), 0)
	}
	if sum == 0 {
		return rand.IntN(n)
	}
	r := rand.IntN(sum)
	for i := range n {
		w := max(c.Weight(i), 0)
		if r < w {
			return i
		}
		r -= w
	}
	return n - 1
}
