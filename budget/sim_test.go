package budget

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// simMember is one member of a simulated cluster: its share, a pool that
// opens connections up to the limit when loaded and lets them go after a
// while when the limit drops, and the states it has published.
type simMember struct {
	id      string
	s       *share
	load    int // connections its callers want
	open    int
	limit   int
	crashed bool
	topo    []string
	history []peerState
}

// sim is a cluster with the worst gossip the protocol must survive: each
// member sees any other's states late, skipping any of them, but never
// going back; and each sees the membership late.
type sim struct {
	t       *testing.T
	r       *rand.Rand
	cfg     Config
	now     time.Time
	members map[string]*simMember
	topo    []string          // the membership's truth
	seen    map[[2]string]int // [reader, writer] → index into writer's history
	maxOpen int               // the most open at once, over all steps
	next    int
}

func newSim(t *testing.T, seed uint64, budget int) *sim {
	return &sim{
		t: t, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b9)), cfg: testConfig(budget),
		now: time.Unix(1_000_000, 0), members: map[string]*simMember{}, seen: map[[2]string]int{},
	}
}

func (c *sim) join(load int) *simMember {
	c.next++
	m := &simMember{id: fmt.Sprintf("m%02d", c.next), load: load}
	m.s = newShare(m.id, c.cfg, c.now)
	c.members[m.id] = m
	c.topo = append(c.topo, m.id)
	return m
}

// drop takes a member out of the membership (a graceful leave done, or a
// crash noticed).
func (c *sim) drop(id string) {
	c.topo = slices.DeleteFunc(slices.Clone(c.topo), func(s string) bool { return s == id })
}

func (c *sim) alive() []*simMember {
	var out []*simMember
	for _, id := range slices.Sorted(maps.Keys(c.members)) {
		if m := c.members[id]; !m.crashed {
			out = append(out, m)
		}
	}
	return out
}

// deliver lets reader see a later state of writer: the latest when all,
// otherwise any between what it saw and the latest.
func (c *sim) deliver(reader, writer *simMember, all bool) {
	h := writer.history
	if len(h) == 0 {
		return
	}
	k := [2]string{reader.id, writer.id}
	from, ok := c.seen[k]
	if !ok {
		from = -1
	}
	to := len(h) - 1
	if !all && to > from {
		to = from + 1 + c.r.IntN(to-from)
	}
	if to > from {
		c.seen[k] = to
		reader.s.observe(writer.id, h[to])
	}
}

// tick runs one member: it sees the membership (late, unless all), ticks
// its share, and its pool follows the limit.
func (c *sim) tick(m *simMember, all bool) {
	if all || c.r.IntN(3) == 0 {
		m.topo = slices.Clone(c.topo)
	}
	m.s.setTopology(m.topo)
	leased := min(m.open, m.load)
	limit, pub := m.s.step(c.now, sample{Leased: leased, Waiting: max(m.load-m.open, 0), Open: m.open})
	m.limit = limit
	m.history = append(m.history, pub)
	c.poolFollows(m, all)
}

// poolFollows opens connections up to the limit at once when loaded (the
// worst case), and closes those above it only some steps later (leases
// coming back), unless all.
func (c *sim) poolFollows(m *simMember, all bool) {
	if m.open < m.limit && m.load > m.open {
		m.open = min(m.limit, m.load)
	}
	if m.open > m.limit && (all || c.r.IntN(4) == 0) {
		m.open = m.limit
	}
}

func (c *sim) check() {
	open := 0
	for _, m := range c.alive() {
		open += m.open
	}
	c.maxOpen = max(c.maxOpen, open)
	require.LessOrEqual(c.t, open, c.cfg.Budget, "connections open at %v", c.now)
}

// step advances the clock, lets some gossip through, ticks some members
// and applies churn.
func (c *sim) step(churn bool) {
	c.now = c.now.Add(time.Duration(1+c.r.IntN(15)) * time.Millisecond)
	if len(c.alive()) == 0 {
		c.join(c.r.IntN(c.cfg.Budget))
	}
	alive := c.alive()
	for range 3 * len(alive) {
		c.deliver(alive[c.r.IntN(len(alive))], alive[c.r.IntN(len(alive))], false)
	}
	for _, m := range alive {
		if c.r.IntN(2) == 0 {
			c.tick(m, false)
			c.check()
		}
	}
	if !churn {
		return
	}
	switch n := c.r.IntN(100); {
	case n < 3 && len(alive) < 6:
		c.join(c.r.IntN(2) * c.r.IntN(c.cfg.Budget+4))
	case n < 5 && len(alive) > 1:
		m := alive[c.r.IntN(len(alive))]
		m.crashed, m.open = true, 0 // the process died: its sockets are closed
	case n < 7 && len(alive) > 1:
		alive[c.r.IntN(len(alive))].s.leave()
	case n < 20:
		alive[c.r.IntN(len(alive))].load = c.r.IntN(2) * c.r.IntN(c.cfg.Budget+4)
	}
	for _, m := range c.members {
		if !slices.Contains(c.topo, m.id) {
			continue
		}
		if m.crashed && c.r.IntN(10) == 0 {
			c.drop(m.id) // the provider noticed the crash
		}
		if len(m.history) > 0 && m.history[len(m.history)-1].Left {
			c.drop(m.id) // the member left the budget, then the cluster
			m.crashed = true
		}
	}
}

// settle lets every state and the membership through until every member
// agrees and holds its share.
func (c *sim) settle() bool {
	for range 20 {
		for _, m := range c.members {
			if m.crashed || len(m.history) > 0 && m.history[len(m.history)-1].Left {
				c.drop(m.id) // the provider noticed every crash and every leave
				m.crashed = true
			}
		}
		c.now = c.now.Add(c.cfg.Window)
		alive := c.alive()
		for _, m := range alive {
			c.tick(m, true)
			c.check()
		}
		for _, r := range alive {
			for _, w := range alive {
				c.deliver(r, w, true)
			}
		}
		done := true
		for _, m := range alive {
			done = done && m.s.agree && m.limit == m.s.mine
		}
		if done {
			return true
		}
	}
	return false
}

func TestUnderAnyGossipDelayAndChurnTheMembersNeverHoldMoreThanTheBudget(t *testing.T) {
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	for seed := range uint64(20) {
		c := newSim(t, seed, 12)
		for range 3 {
			c.join(0)
		}
		for range steps {
			c.step(true)
		}
		if !c.settle() {
			for _, m := range c.alive() {
				t.Logf("%s limit %d open %d load %d mine %d agree %v leaving %v topo %v view %v own %+v", m.id, m.limit, m.open, m.load, m.s.mine, m.s.agree, m.s.leaving, m.topo, m.s.last.IDs, m.s.own)
			}
			t.Fatalf("seed %d: the members did not agree once gossip and membership settled", seed)
		}
		alive := c.alive()
		total := 0
		for _, m := range alive {
			total += m.limit
		}
		if len(alive) > 0 && slices.ContainsFunc(alive, func(m *simMember) bool { return !m.s.leaving }) {
			assert.Equal(t, c.cfg.Budget, total, "seed %d: settled members share the whole budget", seed)
		}
		t.Logf("seed %d: %d members at the end, at most %d of %d open", seed, len(alive), c.maxOpen, c.cfg.Budget)
	}
}

func TestALoadedMemberAmongIdleOnesGetsAllButTheirFloorsOnceTheyAgree(t *testing.T) {
	c := newSim(t, 7, 20)
	loaded := c.join(0)
	for range 3 {
		c.join(0)
	}
	require.True(t, c.settle())
	for _, m := range c.alive() {
		assert.Equal(t, 5, m.limit, "idle members split the budget evenly")
	}
	loaded.load = 40
	require.True(t, c.settle())
	assert.Equal(t, 17, loaded.limit)
	loaded.load = 0
	c.now = c.now.Add(c.cfg.Window)
	require.True(t, c.settle())
	assert.Equal(t, 5, loaded.limit, "the allocation moves back when the load stops")
}
