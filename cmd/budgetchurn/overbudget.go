package main

// This file counts the server's connections for the sampler and, when a
// sample is above the budget, records what every member had decided and
// what its pool held at that moment.

import (
	"context"
	"fmt"
	"time"
)

// keepSnapshots is how many samples above the budget are recorded in full.
const keepSnapshots = 5

// overBudget is the samples above the budget recorded in full, first
// first. It is guarded by the churner's mu.
type overBudget struct {
	seen []snapshot
}

// snapshot is the members at one sample above the budget.
type snapshot struct {
	at      time.Duration // since the run began
	count   int           // the server's count
	after   string        // the last event begun, and how long before
	members []string      // one line per member that was live or held connections
}

// count is the sampler's count of the server's connections.
func (c *churner[C]) count(ctx context.Context) (int, error) {
	n, err := c.t.count(ctx)
	if err == nil && n > c.cfg.budget {
		c.snapshot(ctx, n)
	}
	return n, err
}

// snapshot records the members as they are now, while the server counted
// n connections, unless keepSnapshots are recorded already.
func (c *churner[C]) snapshot(ctx context.Context, n int) {
	at := time.Since(c.began)
	c.mu.Lock()
	full := len(c.over.seen) >= keepSnapshots
	c.mu.Unlock()
	if full {
		return
	}
	var server map[string]int // the server's count by client name
	if c.t.byMember != nil {
		server, _ = c.t.byMember(ctx)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	s := snapshot{at: at, count: n,
		after: fmt.Sprintf("%s %s began %s before", c.last.what, c.last.detail, ms(at-c.last.at))}
	for _, m := range c.members {
		st, bs := m.node.Pool.Stats(), m.node.Share.Status()
		if m.state != "live" && st.Total() == 0 && server[clientPrefix+m.name] == 0 {
			continue
		}
		line := fmt.Sprintf("%-3s %-7s %-8s  budget: limit %d share %d members %d agreed %t demand %d claim %d"+
			"  pool: open %d leased %d idle %d dialing %d waiting %d max %d restarts %d",
			m.name, m.state, m.load, bs.Limit, bs.Share, bs.Members, bs.Agreed, bs.Demand, bs.Claim,
			st.Total(), st.Leased(), st.Idle(), st.Dialing(), st.Waiting(), st.MaxConns(), st.Restarts())
		if server != nil {
			line += fmt.Sprintf("  server: %d", server[clientPrefix+m.name])
		}
		s.members = append(s.members, line)
	}
	if server != nil {
		named := 0
		for _, m := range c.members {
			named += server[clientPrefix+m.name]
		}
		if rest := sum(server) - named; rest > 0 {
			s.members = append(s.members, fmt.Sprintf("and %d connections without a member's name", rest))
		}
	}
	c.over.seen = append(c.over.seen, s)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
