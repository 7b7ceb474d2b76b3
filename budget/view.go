package budget

// This file is the rule every member applies, pure and deterministic: from
// the states the members gossip, the view (who shares the budget and what
// each wants), each member's share of it, and whether a member may grow to
// its share yet. Nothing here talks to the cluster or the pool.

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"slices"
)

// peerState is what one member publishes for one budget.
type peerState struct {
	// Budget and Floor are the member's configuration.
	Budget, Floor int
	// Demand is how many connections the member wants: the most it had
	// leased over the last Window, or its Budget while callers waited.
	Demand int
	// Version grows whenever Demand or Left changes, or the member saw
	// the membership change; it never goes back, so that no view repeats.
	Version int64
	// Claim is how many connections the member may have open: the largest
	// of its limit, its pool's MaxConns and its open connections over the
	// last Settle.
	Claim int
	// View is the hash of the view the member last computed.
	View uint64
	// Left says the member left the budget and holds no connection.
	Left bool
}

// view is who shares the budget as one member sees it: the members of
// the cluster's topology that take part in the budget, minus those that
// left. A member whose state has not arrived yet is in the view too, with
// no demand and a mark of its own in the hash: its share is kept, and
// nobody grows until its state arrives.
type view struct {
	Budget, Floor int
	IDs           []string // sorted
	Demands       []int    // by IDs
	Hash          uint64
}

// newView computes the view from the topology and the states seen (own
// included). Budget and Floor are the smallest any known member has.
func newView(topology []string, states map[string]peerState) view {
	var v view
	first := true
	for _, id := range topology {
		st, ok := states[id]
		if ok && st.Left {
			continue
		}
		v.IDs = append(v.IDs, id)
		if !ok {
			continue
		}
		if first || st.Budget < v.Budget {
			v.Budget = st.Budget
		}
		if first || st.Floor < v.Floor {
			v.Floor = st.Floor
		}
		first = false
	}
	slices.Sort(v.IDs)
	h := fnv.New64a()
	var buf [8]byte
	put := func(n int64) {
		binary.LittleEndian.PutUint64(buf[:], uint64(n))
		h.Write(buf[:])
	}
	put(int64(v.Budget))
	put(int64(v.Floor))
	v.Demands = make([]int, len(v.IDs))
	for i, id := range v.IDs {
		h.Write([]byte(id))
		st, ok := states[id]
		if !ok {
			put(-1) // unknown: no state has this hash
			continue
		}
		v.Demands[i] = st.Demand
		put(int64(st.Demand))
		put(st.Version)
	}
	v.Hash = h.Sum64()
	return v
}

// shares divides the budget max-min fairly (by IDs). A member wants one
// more connection than its demand (room for a burst without waiting),
// and at least the floor. Taking members from the smallest want up, each
// gets what it wants if that is within an even split of what is left,
// rounded up, else that split: so a member wanting 4 when the even split
// is 3.7 gets its 4, and does not wait for the one it misses. What nobody
// wants is spread evenly, so a lone member gets the whole budget.
// Remainders go to the first members by ID. The shares never add up to
// more than Budget.
func (v view) shares() []int {
	n := len(v.IDs)
	out := make([]int, n)
	if n == 0 {
		return out
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	want := func(i int) int {
		w := v.Demands[i]
		if w > 0 {
			w++
		}
		return min(max(w, v.Floor), v.Budget)
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(want(a), want(b)) })
	left := v.Budget
	for k, i := range order {
		m := n - k
		out[i] = min(want(i), (left+m-1)/m)
		left -= out[i]
	}
	for i := range out {
		out[i] += left / n
		if i < left%n {
			out[i]++
		}
	}
	return out
}

// decide returns the limit a member with the given one should have now,
// its share in v, and whether every other member of v agrees. A member
// shrinks to its share at once; it grows to it only when every other
// member of v reports the same view and claims no more than its own share
// there, so that the claims of all can never add up to more than the
// budget.
func decide(v view, self string, limit int, states map[string]peerState) (next, share int, agreed bool) {
	shares := v.shares()
	i, ok := slices.BinarySearch(v.IDs, self)
	if !ok {
		return 0, 0, false
	}
	share = shares[i]
	agreed = true
	for j, id := range v.IDs {
		if j == i {
			continue
		}
		if st, ok := states[id]; !ok || st.View != v.Hash || st.Claim > shares[j] {
			agreed = false
			break
		}
	}
	if share <= limit || agreed {
		return share, share, agreed
	}
	return limit, share, agreed
}
