package budget

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/eventstream"
	"go.opentelemetry.io/otel/metric"

	"github.com/actorpool/actorpool"
)

// Pool is what a member needs of a pool: its snapshot and its run-time
// limits. *actorpool.Pool[C] has both. Join tells pools apart by comparing
// them (a *actorpool.Pool[C] by its pointer): a pool is in one budget at a
// time, and a wrapper around a pool is a pool of its own.
type Pool interface {
	Stats() actorpool.Stats
	SetLimits(ctx context.Context, minConns, maxConns int) error
}

// Errors from Leave.
var (
	// ErrLeft: Leave was called already.
	ErrLeft = errors.New("budget: member has left")
	// ErrStopped: the cluster's actor system stopped before Leave; the
	// member set its pool's MaxConns to 0 then.
	ErrStopped = errors.New("budget: the cluster member stopped before Leave")
)

// Status is what one member last decided.
type Status struct {
	// Limit is the MaxConns the member gave its pool.
	Limit int
	// Share is the member's share of the budget in its view; Limit is
	// below it until the others agree.
	Share int
	// Members is how many members share the budget in its view.
	Members int
	// Budget is the budget in force: the smallest any member was given.
	Budget int
	// Agreed says every other member reported the same view and claims
	// no more than its share in it.
	Agreed bool
	// Demand is what the member asks for: its peak use, or the whole
	// budget while its callers wait.
	Demand int
	// Claim is what the member counts against the budget.
	Claim int
}

// Member is one cluster member's share of a budget. It ticks on its own
// goroutine until Leave, or until the cluster's actor system stops.
type Member struct {
	c    *cluster.Cluster
	pool Pool
	cfg  Config
	key  string // the gossip key, and the kind
	id   string // its cluster member's place in the budget: the key in joined

	reg    metric.Registration      // the gauges' callback; nil without MeterProvider
	topo   atomic.Pointer[[]string] // written by the event stream
	status atomic.Pointer[Status]   // written by run
	sub    *eventstream.Subscription

	unreadable map[string]bool // members whose state did not decode, logged once; owned by run

	leave   chan struct{} // closed by Leave
	leaving atomic.Bool   // set by the first Leave
	left    chan struct{} // closed by run once Left is published
	quit    chan struct{} // closed by Leave: run returns
	done    chan struct{} // closed when run returns
}

// Join makes pool one of the pools sharing cfg.Budget connections across
// the members of c that join a budget of the same cfg.Name. c must be
// started (StartMember). Join first sets the pool's limits to 0: create
// the pool with MinConns 0 and join it before it is used, since the
// connections it already has are not in the others' count yet.
//
// From then on the member sets the pool's MaxConns (MinConns stays 0):
// it shrinks to its share as soon as the share drops, and grows to it only
// once every member of the budget reports the same allocation and holds
// no more than its share in it. The shares follow demand: a member whose
// callers wait asks for the whole budget, an idle one keeps Floor.
//
// A pool is in one budget at a time: Join refuses a pool that is in a
// budget (this one or another, on any cluster member of the process) until
// that member's Leave has returned or its cluster member has stopped, and
// a second pool of this cluster member in the same budget; both errors
// wrap actorpool.ErrInvalidConfig and name the budget. A nil pool, a nil
// *actorpool.Pool[C] and a pool of a type that cannot be compared are
// refused with actorpool.ErrInvalidConfig too; a pool closed already with
// an error wrapping actorpool.ErrPoolClosed. A Join that fails, with an
// error or a panic from the pool, leaves nothing behind: the cluster
// member and the pool can join again.
func Join(c *cluster.Cluster, pool Pool, cfg Config) (*Member, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkPool(pool); err != nil {
		return nil, err
	}
	if c == nil || c.Gossip == nil || c.MemberList == nil || c.Remote == nil || c.ActorSystem.IsStopped() {
		return nil, fmt.Errorf("%w: the cluster member is not started", actorpool.ErrInvalidConfig)
	}
	kind := kindName(cfg.Name)
	if !slices.Contains(c.GetClusterKinds(), kind) {
		return nil, fmt.Errorf("%w: the cluster was not configured with budget.Kind(%q)", actorpool.ErrInvalidConfig, cfg.Name)
	}
	m := &Member{
		c: c, pool: pool, cfg: cfg, key: kind, id: c.ActorSystem.ID + "/" + kind, unreadable: map[string]bool{},
		leave: make(chan struct{}), left: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{}),
	}
	if err := joined.claim(m); err != nil {
		return nil, err
	}
	running := false
	defer func() {
		if !running { // an error or a panic below: undo what Join registered
			m.release()
		}
	}()
	m.status.Store(&Status{Budget: cfg.Budget})
	if cfg.MeterProvider != nil {
		if m.reg, err = m.observe(cfg.MeterProvider); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), setLimitTimeout)
	err = pool.SetLimits(ctx, 0, 0)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("budget: setting the pool's limits to 0: %w", err)
	}
	m.sub = c.ActorSystem.EventStream.Subscribe(func(evt any) {
		if t, ok := evt.(*cluster.ClusterTopology); ok {
			ids := sharing(t.Members, kind)
			m.topo.Store(&ids)
		}
	})
	if m.topo.Load() == nil {
		ids := sharing(c.MemberList.Members().Members(), kind)
		m.topo.CompareAndSwap(nil, &ids)
	}
	running = true
	go m.run()
	return m, nil
}

// Status returns what the member last decided.
func (m *Member) Status() Status { return *m.status.Load() }

// Leave takes the member out of the budget: its pool's MaxConns goes to 0
// (leased connections close as they come back), and once nothing is open
// the member tells the others, who then share its part. It waits only for
// those leases: nothing else sets the pool's limits, since a pool is in
// one budget at a time. Call it before
// the pool's Close and before the cluster member's Shutdown. When ctx
// ends first, Leave stops publishing and returns ctx's error: the others
// keep counting the member's last claim until it leaves the cluster.
// After the cluster's actor system stopped, the member has set its pool's
// MaxConns to 0 by itself and Leave returns ErrStopped. A second Leave
// returns ErrLeft.
func (m *Member) Leave(ctx context.Context) error {
	if !m.leaving.CompareAndSwap(false, true) {
		return ErrLeft
	}
	close(m.leave)
	var err error
	select {
	case <-m.left:
	case <-m.done:
		err = ErrStopped
	case <-ctx.Done():
		err = ctx.Err()
	}
	close(m.quit)
	<-m.done
	return err
}

// release undoes what Join registered.
func (m *Member) release() {
	if m.sub != nil {
		m.c.ActorSystem.EventStream.Unsubscribe(m.sub)
	}
	if m.reg != nil {
		_ = m.reg.Unregister()
	}
	joined.drop(m)
}

// leftRepeats is how many ticks a member that left keeps publishing so,
// in case one gossip round loses it.
const leftRepeats = 3

// run ticks the member's share every Interval until Leave is done, or
// until the cluster's actor system stops: then the member can no longer
// tell the others anything, and the others drop it once the membership
// does, so it sets its pool's MaxConns to 0 first.
func (m *Member) run() {
	defer close(m.done)
	defer m.release()
	s := newShare(m.c.ActorSystem.ID, m.cfg, time.Now())
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	leave, repeats := m.leave, 0
	for {
		select {
		case <-t.C:
		case <-leave:
			s.leave()
			leave = nil
		case <-m.quit:
			return
		}
		if m.c.ActorSystem.IsStopped() {
			m.setLimit(0)
			return
		}
		if m.tick(s).Left {
			if repeats++; repeats == leftRepeats {
				close(m.left)
			}
		}
	}
}

// tick reads the topology, the gossiped states and the pool, applies the
// limit the share decides, and publishes the member's state: after the
// pool has shrunk, before it may grow past what the others saw.
func (m *Member) tick(s *share) peerState {
	if ids := m.topo.Load(); ids != nil {
		s.setTopology(*ids)
	}
	if states, err := m.c.Gossip.GetState(m.key); err != nil {
		m.cfg.Logger.Warn("budget: reading the members' states failed", "budget", m.cfg.Name, "err", err)
	} else {
		for id, kv := range states {
			st, err := decode(kv.Value)
			if err != nil {
				if !m.unreadable[id] {
					m.unreadable[id] = true
					m.cfg.Logger.Warn("budget: a member's state is unreadable; nobody grows while it is in the view",
						"budget", m.cfg.Name, "member", id, "err", err)
				}
				continue
			}
			s.observe(id, st)
		}
	}
	st := m.pool.Stats()
	limit, pub := s.step(time.Now(), sample{
		Leased: st.Leased(), Waiting: st.Waiting(), Open: st.Total(), Max: st.MaxConns(),
	})
	if limit != st.MaxConns() && !m.setLimit(limit) {
		return pub // the claim went out without this limit; the next tick counts the pool's own
	}
	m.c.Gossip.SetState(m.key, encode(pub))
	m.status.Store(&Status{
		Limit: limit, Share: s.mine, Members: len(s.last.IDs), Budget: s.last.Budget,
		Agreed: s.agree, Demand: pub.Demand, Claim: pub.Claim,
	})
	return pub
}

// setLimit sets the pool's MaxConns (MinConns 0), bounded in time; it
// reports whether the pool took it. A closed pool has nothing open and
// counts as taken.
func (m *Member) setLimit(n int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), setLimitTimeout)
	defer cancel()
	err := m.pool.SetLimits(ctx, 0, n)
	if err != nil && !errors.Is(err, actorpool.ErrPoolClosed) {
		m.cfg.Logger.Warn("budget: setting the pool's limit failed", "budget", m.cfg.Name, "limit", n, "err", err)
		return false
	}
	return true
}

// setLimitTimeout bounds one SetLimits: the broker answers at once unless
// it is gone.
const setLimitTimeout = 5 * time.Second
