package budget

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

func testConfig(budget int) Config {
	cfg, err := Config{Name: "t", Budget: budget, Interval: 10 * time.Millisecond}.withDefaults()
	if err != nil {
		panic(err)
	}
	return cfg
}

func TestSharesSplitMaxMinFairlyWithAFloorAndNeverExceedTheBudget(t *testing.T) {
	for _, c := range []struct {
		budget, floor int
		demands, want []int
	}{
		{20, 1, []int{20, 0, 0, 0}, []int{17, 1, 1, 1}},
		{20, 1, []int{0}, []int{20}},
		{20, 1, []int{0, 0, 0, 0}, []int{5, 5, 5, 5}},
		{20, 1, []int{20, 20}, []int{10, 10}},
		{10, 1, []int{10, 10, 10}, []int{4, 3, 3}},
		{20, 1, []int{6, 20, 0}, []int{7, 12, 1}},
		{20, 1, []int{6, 5, 0}, []int{9, 8, 3}},
		{12, 1, []int{4, 12, 12, 0}, []int{4, 4, 3, 1}}, // a member using 4 keeps 4 at an even split of 3.7
		{3, 1, []int{0, 0, 0, 0, 0}, []int{1, 1, 1, 0, 0}},
		{5, 2, []int{5, 5, 5}, []int{2, 2, 1}},
	} {
		v := view{Budget: c.budget, Floor: c.floor, Demands: c.demands}
		for i := range c.demands {
			v.IDs = append(v.IDs, fmt.Sprint("m", i))
		}
		got := v.shares()
		assert.Equal(t, c.want, got, "budget %d floor %d demands %v", c.budget, c.floor, c.demands)
		sum := 0
		for _, n := range got {
			sum += n
		}
		assert.LessOrEqual(t, sum, c.budget)
	}
}

func TestAMemberShrinksAtOnceButGrowsOnlyWhenEveryOtherReportsTheSameViewWithinItsShare(t *testing.T) {
	states := map[string]peerState{
		"a": {Budget: 10, Floor: 1, Demand: 10, Version: 1},
		"b": {Budget: 10, Floor: 1, Demand: 0, Version: 1},
	}
	v := newView([]string{"a", "b"}, states)
	require.Equal(t, []int{9, 1}, v.shares())

	next, share, agreed := decide(v, "a", 5, states)
	assert.Equal(t, []any{5, 9, false}, []any{next, share, agreed}, "b has not reported this view")

	states["b"] = peerState{Budget: 10, Floor: 1, Demand: 0, Version: 1, View: v.Hash, Claim: 5}
	next, _, agreed = decide(v, "a", 5, states)
	assert.Equal(t, []any{5, false}, []any{next, agreed}, "b reports the view but still claims 5 of its share of 1")

	states["b"] = peerState{Budget: 10, Floor: 1, Demand: 0, Version: 1, View: v.Hash, Claim: 1}
	next, _, agreed = decide(v, "a", 5, states)
	assert.Equal(t, []any{9, true}, []any{next, agreed})

	next, share, agreed = decide(v, "b", 5, states)
	assert.Equal(t, []any{1, 1}, []any{next, share}, "b shrinks whatever the others report")
	assert.False(t, agreed, "a has not reported the view")
}

func TestAViewChangesWithTheMembersTheirDemandAndTheirVersionAndSkipsThoseWithoutStateOrThatLeft(t *testing.T) {
	states := map[string]peerState{
		"a": {Budget: 10, Floor: 1, Demand: 3, Version: 1},
		"b": {Budget: 8, Floor: 2, Demand: 0, Version: 1},
		"c": {Budget: 10, Floor: 1, Left: true, Version: 4},
	}
	v := newView([]string{"c", "b", "a", "d"}, states)
	assert.Equal(t, []string{"a", "b", "d"}, v.IDs, "c left; d has no state yet but keeps its place")
	next, share, agreed := decide(v, "a", 1, states)
	assert.Equal(t, []any{1, 5, false}, []any{next, share, agreed}, "nobody grows before d's state arrives")
	assert.Equal(t, 8, v.Budget, "the smallest budget applies")
	assert.Equal(t, 1, v.Floor)

	b := states["b"]
	b.Version++
	states["b"] = b
	assert.NotEqual(t, v.Hash, newView([]string{"a", "b"}, states).Hash, "a new version is a new view")
	assert.NotEqual(t, newView([]string{"a", "b"}, states).Hash, newView([]string{"a"}, states).Hash)
}

func TestTheWireFormKeepsEveryField(t *testing.T) {
	st := peerState{Budget: 40, Floor: 2, Demand: 17, Version: time.Now().UnixNano(), Claim: 12, View: 1<<63 + 5, Left: true}
	got, err := decode(mustAny(t, encode(st)))
	require.NoError(t, err)
	assert.Equal(t, st, got)
	_, err = decode(nil)
	assert.ErrorIs(t, err, errBadState)
}

func TestConfigIsValidatedAndDefaulted(t *testing.T) {
	for _, c := range []Config{{Budget: 3}, {Name: "x"}, {Name: "x", Budget: 3, Floor: -1}, {Name: "x", Budget: 3, Settle: -1},
		{Name: "x", Budget: 3, Interval: time.Second, Settle: time.Millisecond}} {
		_, err := c.withDefaults()
		assert.Error(t, err, "%+v", c)
	}
	c, err := Config{Name: "x", Budget: 3}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, []any{1, 100 * time.Millisecond, time.Second, 200 * time.Millisecond}, []any{c.Floor, c.Interval, c.Window, c.Settle})
}

func TestALoneMemberGetsTheWholeBudgetAndAnIdleOneItsPeakUse(t *testing.T) {
	now := time.Now()
	s := newShare("a", testConfig(12), now)
	s.setTopology([]string{"a"})
	limit, pub := s.step(now, sample{})
	assert.Zero(t, limit, "a new member does not grow until the membership had a Window to settle")
	assert.Zero(t, pub.Claim)
	now = now.Add(s.cfg.Window)
	limit, pub = s.step(now, sample{})
	assert.Equal(t, 12, limit)
	assert.Equal(t, 12, pub.Claim)
	assert.Equal(t, 0, pub.Demand)
	_, pub = s.step(now.Add(time.Millisecond), sample{Leased: 4, Open: 5})
	assert.Equal(t, 4, pub.Demand)
	_, pub = s.step(now.Add(2*time.Millisecond), sample{Leased: 12, Waiting: 3, Open: 12})
	assert.Equal(t, 12, pub.Demand, "callers wait: it wants the whole budget")
	_, pub = s.step(now.Add(3*time.Millisecond+s.cfg.Window), sample{Leased: 1, Open: 12})
	assert.Equal(t, 1, pub.Demand, "a Window later it wants its peak use")
}

func TestALeavingMemberSaysLeftOnlyOnceNothingItHadIsOpen(t *testing.T) {
	now := time.Now()
	s := newShare("a", testConfig(5), now)
	s.setTopology([]string{"a"})
	now = now.Add(s.cfg.Window)
	s.step(now, sample{Open: 5, Leased: 5})
	s.leave()
	limit, pub := s.step(now.Add(time.Millisecond), sample{Open: 3, Leased: 3})
	assert.Equal(t, 0, limit)
	assert.False(t, pub.Left)
	_, pub = s.step(now.Add(2*time.Millisecond), sample{})
	assert.False(t, pub.Left, "a connection let go within Settle may still be closing")
	_, pub = s.step(now.Add(time.Millisecond+s.cfg.Settle+time.Millisecond), sample{})
	assert.True(t, pub.Left)
	assert.Zero(t, pub.Claim)
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	require.NoError(t, err)
	return a
}

func TestAClaimStaysAtItsHighestForSettle(t *testing.T) {
	now := time.Now()
	s := newShare("a", testConfig(5), now)
	s.setTopology([]string{"a"})
	now = now.Add(s.cfg.Window)
	_, pub := s.step(now, sample{Open: 7, Max: 7})
	assert.Equal(t, 7, pub.Claim, "a pool above the limit (setting it failed) claims what it has")
	_, pub = s.step(now.Add(time.Millisecond), sample{Open: 5, Max: 5})
	assert.Equal(t, 7, pub.Claim, "the two it let go may still be closing")
	_, pub = s.step(now.Add(s.cfg.Settle+2*time.Millisecond), sample{Open: 5, Max: 5})
	assert.Equal(t, 5, pub.Claim)
}

func TestAMemberTheMembershipDoesNotListHasNoShare(t *testing.T) {
	now := time.Now()
	s := newShare("a", testConfig(5), now)
	s.setTopology([]string{"b"})
	now = now.Add(s.cfg.Window)
	limit, _ := s.step(now, sample{})
	assert.Zero(t, limit, "not listed yet")
	s.setTopology([]string{"a"})
	limit, _ = s.step(now.Add(time.Millisecond), sample{})
	assert.Equal(t, 5, limit)
	s.setTopology(nil)
	limit, pub := s.step(now.Add(2*time.Millisecond), sample{Open: 3})
	assert.Zero(t, limit, "dropped while alive: it closes what it has")
	assert.Equal(t, 5, pub.Claim, "and counts it until it is closed")
}
