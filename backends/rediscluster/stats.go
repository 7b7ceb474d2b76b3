package rediscluster

import (
	"slices"
	"strings"

	"github.com/actorpool/actorpool"
)

// NodeStats is one node's pool's snapshot.
type NodeStats struct {
	Addr  string
	Stats actorpool.Stats
}

// Stats is a snapshot of every node's pool, by address.
type Stats struct{ nodes []NodeStats }

// Nodes are the nodes' snapshots, ordered by address.
func (s Stats) Nodes() []NodeStats { return s.nodes }

// Leased is the leases out over all nodes (command mode's included).
func (s Stats) Leased() (n int) {
	for _, ns := range s.nodes {
		n += ns.Stats.Leased()
	}
	return n
}

// Total is the connections over all nodes.
func (s Stats) Total() (n int) {
	for _, ns := range s.nodes {
		n += ns.Stats.Total()
	}
	return n
}

// Stats returns a snapshot of every node's pool.
func (c *Cluster) Stats() Stats {
	c.mu.Lock()
	var out []NodeStats
	for addr, n := range c.nodes {
		out = append(out, NodeStats{Addr: addr, Stats: n.pool.Stats()})
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b NodeStats) int { return strings.Compare(a.Addr, b.Addr) })
	return Stats{nodes: out}
}
