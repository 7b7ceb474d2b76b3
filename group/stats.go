package group

import (
	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
)

// Stats is a snapshot of a group: one actorpool.Stats per endpoint, each
// read from that endpoint's ledger at one instant, and their sums. Every
// endpoint's snapshot adds up (Total == Idle + Leased + Dialing), so the
// sums do too.
type Stats struct {
	endpoints []EndpointStats
}

// EndpointStats is one endpoint's part of a Stats.
type EndpointStats struct {
	name     string
	role     backends.Role
	weight   int
	draining bool
	pool     actorpool.Stats
}

// Name is the endpoint's name.
func (e EndpointStats) Name() string { return e.name }

// Role is the endpoint's role as last read (or configured).
func (e EndpointStats) Role() backends.Role { return e.role }

// Weight is the endpoint's weight.
func (e EndpointStats) Weight() int { return e.weight }

// Draining reports whether the endpoint was removed and its pool is
// waiting for its leases before it closes.
func (e EndpointStats) Draining() bool { return e.draining }

// Pool is the endpoint's pool snapshot.
func (e EndpointStats) Pool() actorpool.Stats { return e.pool }

// Stats returns a snapshot of every endpoint, draining ones included, in
// the order they were added. It reads each pool's ledger (no message) and
// answers after Close too.
func (g *Group[C]) Stats() Stats {
	g.mu.Lock()
	ms := append(append([]*member[C](nil), *g.members.Load()...), g.draining...)
	g.mu.Unlock()
	s := Stats{endpoints: make([]EndpointStats, len(ms))}
	for i, m := range ms {
		s.endpoints[i] = EndpointStats{
			name: m.name, role: m.currentRole(), weight: int(m.weight.Load()),
			draining: m.draining.Load(), pool: m.pool.Stats(),
		}
	}
	return s
}

// Endpoints is each endpoint's snapshot.
func (s Stats) Endpoints() []EndpointStats { return s.endpoints }

// Endpoint is the snapshot of the endpoint called name, and whether there
// is one.
func (s Stats) Endpoint(name string) (EndpointStats, bool) {
	for _, e := range s.endpoints {
		if e.name == name {
			return e, true
		}
	}
	return EndpointStats{}, false
}

func (s Stats) sum(f func(actorpool.Stats) int) int {
	n := 0
	for _, e := range s.endpoints {
		n += f(e.pool)
	}
	return n
}

// Total is the connection actors of all endpoints.
func (s Stats) Total() int { return s.sum(actorpool.Stats.Total) }

// Idle is the idle connections of all endpoints.
func (s Stats) Idle() int { return s.sum(actorpool.Stats.Idle) }

// Leased is the leases out on all endpoints.
func (s Stats) Leased() int { return s.sum(actorpool.Stats.Leased) }

// Dialing is the connection actors without a connection, on all endpoints.
func (s Stats) Dialing() int { return s.sum(actorpool.Stats.Dialing) }

// Waiting is the callers waiting on all endpoints.
func (s Stats) Waiting() int { return s.sum(actorpool.Stats.Waiting) }

// Acquired is the leases granted by all endpoints since they started
// (role checks included).
func (s Stats) Acquired() uint64 {
	var n uint64
	for _, e := range s.endpoints {
		n += e.pool.Acquired()
	}
	return n
}
