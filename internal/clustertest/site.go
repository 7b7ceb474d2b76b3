package clustertest

// This file is a budget shared by members of one Cluster, each with a pool
// on an actor system of its own (as each would be in its own process), and
// load on those pools: what the budget's tests, bench and churn run drive.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/budget"
	"github.com/actorpool/actorpool/internal/pooltest"
)

// Site is the members sharing one budget.
type Site[C any] struct {
	Cluster *Cluster
	Budget  budget.Config
	// Backend returns a member's backend; Use is one unit of work on a
	// lease.
	Backend func() backends.Backend[C]
	Use     func(context.Context, C) error

	mu    sync.Mutex
	nodes []*Node[C]
}

// NewSite returns a site over a new Cluster whose members carry the
// budget's kind.
func NewSite[C any](cfg budget.Config, backend func() backends.Backend[C], use func(context.Context, C) error) *Site[C] {
	return &Site[C]{
		Cluster: New(Options{Kinds: []*cluster.Kind{budget.Kind(cfg.Name)}}),
		Budget:  cfg, Backend: backend, Use: use,
	}
}

// Node is one member, its pool and its share of the budget.
type Node[C any] struct {
	s      *Site[C]
	Member *Member
	Pool   *actorpool.Pool[C]
	Share  *budget.Member

	load   context.CancelFunc
	wg     sync.WaitGroup
	joined atomic.Bool
}

// Start starts n members at once and joins a pool of each to the budget.
func (s *Site[C]) Start(n int) ([]*Node[C], error) {
	ms, err := s.Cluster.StartN(n)
	if err != nil {
		return nil, err
	}
	out := make([]*Node[C], 0, n)
	for i, m := range ms {
		n, err := s.join(m)
		if err != nil {
			for _, n := range out {
				_ = n.Leave()
			}
			for _, m := range ms[i:] {
				m.Leave()
			}
			return nil, fmt.Errorf("clustertest: member %d: %w", i, err)
		}
		out = append(out, n)
	}
	s.mu.Lock()
	s.nodes = append(s.nodes, out...)
	s.mu.Unlock()
	return out, nil
}

// join gives member m a pool joined to the budget.
func (s *Site[C]) join(m *Member) (*Node[C], error) {
	p, err := actorpool.New(pooltest.NewSystem(), s.Backend(), actorpool.Config{MaxConns: 1, AcquireTimeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	share, err := budget.Join(m.Cluster, p, s.Budget)
	if err != nil {
		_ = p.Close(context.Background())
		return nil, err
	}
	n := &Node[C]{s: s, Member: m, Pool: p, Share: share}
	n.joined.Store(true)
	return n, nil
}

// Live returns the nodes still in the budget.
func (s *Site[C]) Live() []*Node[C] {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Node[C]
	for _, n := range s.nodes {
		if n.joined.Load() {
			out = append(out, n)
		}
	}
	return out
}

// Settled reports whether every live node agrees with the others and has
// the limit its share gives.
func (s *Site[C]) Settled() bool {
	live := s.Live()
	for _, n := range live {
		st := n.Share.Status()
		if !st.Agreed || st.Limit != st.Share || st.Members != len(live) {
			return false
		}
	}
	return true
}

// Close leaves every node at once (Leave does nothing for a node that
// crashed or left).
func (s *Site[C]) Close() error {
	s.mu.Lock()
	nodes := s.nodes
	s.mu.Unlock()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { errs[i] = n.Leave() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Busy starts workers that each lease a connection, use it, hold it for
// hold (the caller's work) and give it back, until Quiet.
func (n *Node[C]) Busy(workers int, hold time.Duration) {
	n.Quiet()
	ctx, cancel := context.WithCancel(context.Background())
	n.load = cancel
	for range workers {
		n.wg.Go(func() {
			for ctx.Err() == nil {
				l, err := n.Pool.Acquire(ctx)
				if err != nil {
					if errors.Is(err, actorpool.ErrPoolClosed) {
						return
					}
					continue
				}
				if err = n.s.Use(ctx, l.Conn()); err == nil {
					select {
					case <-time.After(hold):
					case <-ctx.Done():
					}
				}
				_ = l.Release()
			}
		})
	}
}

// Quiet stops the workers Busy started and waits for them.
func (n *Node[C]) Quiet() {
	if n.load != nil {
		n.load()
		n.wg.Wait()
		n.load = nil
	}
}

// LeaveBudget takes the node's pool out of the budget and closes it.
func (n *Node[C]) LeaveBudget(ctx context.Context) error {
	if !n.joined.CompareAndSwap(true, false) {
		return nil
	}
	n.Quiet()
	return errors.Join(n.Share.Leave(ctx), n.Pool.Close(ctx))
}

// Leave takes the node out gracefully: the budget and its pool, then the
// cluster (about 2 s).
func (n *Node[C]) Leave() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := n.LeaveBudget(ctx)
	n.Member.Leave()
	return err
}

// Crash stops the node without a word, as a killed process: its member
// goes silent and its connections close (the kernel closes a dead
// process's sockets).
func (n *Node[C]) Crash() {
	if !n.joined.CompareAndSwap(true, false) {
		return
	}
	n.Member.Crash()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = n.Pool.Close(ctx)
	n.Quiet()
}
