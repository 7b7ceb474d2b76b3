package group_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
	"github.com/actorpool/actorpool/group"
)

// fixed is a Candidates with given loads, capacities and weights.
type fixed struct {
	load, capacity, weight []int
}

func (f fixed) Len() int              { return len(f.load) }
func (f fixed) Load(i int) (int, int) { return f.load[i], f.capacity[i] }
func (f fixed) Weight(i int) int      { return f.weight[i] }
func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}
func picks(p group.Picker, c group.Candidates, n int) []int {
	got := make([]int, c.Len())
	for range n {
		got[p.Pick(c)]++
	}
	return got
}

func TestPowerOfTwoTakesTheLessLoadedOfTwo(t *testing.T) {
	p := group.PowerOfTwo()
	// Of two, always the one with less outstanding per capacity.
	assert.Equal(t, []int{0, 1000}, picks(p, fixed{[]int{5, 1}, []int{10, 10}, ones(2)}, 1000))
	assert.Equal(t, []int{1000, 0}, picks(p, fixed{[]int{4, 3}, []int{20, 10}, ones(2)}, 1000), "4/20 is below 3/10")
	assert.Equal(t, []int{0, 1000}, picks(p, fixed{[]int{0, 0}, []int{0, 10}, ones(2)}, 1000), "no capacity is full")
	// Of three, the busiest is never taken, the idlest whenever drawn (2/3).
	got := picks(p, fixed{[]int{9, 0, 5}, []int{10, 10, 10}, ones(3)}, 3000)
	assert.Zero(t, got[0])
	assert.Equal(t, 3000, got[1]+got[2])
	assert.InDelta(t, 2000, got[1], 200)
	assert.Equal(t, []int{10}, picks(p, fixed{[]int{3}, []int{1}, ones(1)}, 10))
}

func TestRoundRobinTakesEachInTurn(t *testing.T) {
	p := group.RoundRobin()
	c := fixed{make([]int, 3), ones(3), ones(3)}
	var seq []int
	for range 7 {
		seq = append(seq, p.Pick(c))
	}
	assert.Equal(t, []int{0, 1, 2, 0, 1, 2, 0}, seq)
}

func TestRandomTakesEveryCandidate(t *testing.T) {
	got := picks(group.Random(), fixed{make([]int, 3), ones(3), ones(3)}, 3000)
	for i, n := range got {
		assert.InDelta(t, 1000, n, 200, "candidate %d", i)
	}
}

func TestWeightedFollowsTheWeights(t *testing.T) {
	p := group.Weighted()
	got := picks(p, fixed{make([]int, 2), ones(2), []int{1, 3}}, 4000)
	assert.InDelta(t, 3000, got[1], 250)
	assert.Equal(t, []int{0, 100}, picks(p, fixed{make([]int, 2), ones(2), []int{0, 2}}, 100))
	got = picks(p, fixed{make([]int, 2), ones(2), []int{0, 0}}, 100)
	assert.Equal(t, 100, got[0]+got[1], "all weights 0: uniform")
}

// A slow endpoint holds its leases longer; here the test holds one of
// endpoint a's leases, as slow work would, while one caller makes 300
// requests. Round-robin still sends a exactly a third of them; power of
// two choices sees a's lease out (1/4 against 0/4) and sends it none.
func TestPowerOfTwoMovesLoadOffABusyEndpoint(t *testing.T) {
	const requests = 300
	toA := func(p group.Picker) uint64 {
		var eps []group.Endpoint[*membackend.Conn]
		var bs []*membackend.Backend
		for i := range 3 {
			ep, b := mem(string(rune('a'+i)), false)
			ep.Pool = &actorpool.Config{MaxConns: 4}
			eps, bs = append(eps, ep), append(bs, b)
		}
		g := openGroup(t, group.Config{Picker: p}, eps...)
		ctx := ctxT(t)

		// Lease until a lease comes from a, and hold it.
		var held actorpool.Lease[*membackend.Conn]
		for tries := 0; ; tries++ {
			require.Less(t, tries, 100, "no lease came from a")
			l, err := g.Acquire(ctx)
			require.NoError(t, err)
			if from(t, l.Conn(), bs...) == 0 {
				held = l
				break
			}
			require.NoError(t, l.Release())
		}
		before, _ := g.Stats().Endpoint("a")
		for range requests {
			require.NoError(t, g.With(ctx, func(*membackend.Conn) error { return nil }))
		}
		after, _ := g.Stats().Endpoint("a")
		require.NoError(t, held.Release())
		require.NoError(t, g.Close(ctx)) // before the next group's leak check
		return after.Pool().Acquired() - before.Pool().Acquired()
	}
	assert.Equal(t, uint64(requests/3), toA(group.RoundRobin()), "round-robin")
	assert.Zero(t, toA(group.PowerOfTwo()), "power of two sent requests to the busier endpoint")
}
