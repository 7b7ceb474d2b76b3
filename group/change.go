package group

import (
	"context"
	"fmt"
	"slices"

	"github.com/actorpool/actorpool"
)

// Add starts a pool for ep and lets it take requests at once (a backend
// that reads roles takes them once its role is read). An invalid endpoint,
// or a name the group already has, is an error wrapping
// actorpool.ErrInvalidConfig and changes nothing; after Close,
// actorpool.ErrPoolClosed.
func (g *Group[C]) Add(ep Endpoint[C]) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return actorpool.ErrPoolClosed
	}
	m, err := newMember(g, ep, g.has)
	if err != nil {
		return err
	}
	ms := append(slices.Clone(*g.members.Load()), m)
	g.members.Store(&ms)
	g.checker.soon()
	return nil
}

// has reports whether an endpoint, taking requests or draining, is called
// name. Under mu.
func (g *Group[C]) has(name string) bool {
	return named(*g.members.Load(), name) != nil || named(g.draining, name) != nil
}

// Remove drains the endpoint called name: it takes no new request at once,
// its leases out end normally, and then its pool closes, all before Remove
// returns. When ctx ends first the leases still out are revoked, as by
// actorpool.Pool.Close, and the error wraps ctx's. An unknown name is
// ErrUnknownEndpoint; after Close, actorpool.ErrPoolClosed.
func (g *Group[C]) Remove(ctx context.Context, name string) error {
	g.mu.Lock()
	if g.closed.Load() {
		g.mu.Unlock()
		return actorpool.ErrPoolClosed
	}
	cur := *g.members.Load()
	i := slices.IndexFunc(cur, func(m *member[C]) bool { return m.name == name })
	if i < 0 {
		g.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownEndpoint, name)
	}
	m := cur[i]
	m.draining.Store(true)
	ms := slices.Delete(slices.Clone(cur), i, i+1)
	g.members.Store(&ms)
	g.draining = append(g.draining, m)
	g.mu.Unlock()

	err := m.pool.Close(ctx)

	g.mu.Lock()
	g.draining = slices.DeleteFunc(g.draining, func(x *member[C]) bool { return x == m })
	g.mu.Unlock()
	if err != nil {
		return fmt.Errorf("actorpool: group: remove %q: %w", name, err)
	}
	return nil
}

// SetWeight changes the weight of the endpoint called name, used by the
// Weighted picker from the next request on. A negative weight is an error
// wrapping actorpool.ErrInvalidConfig and changes nothing; an unknown name
// is ErrUnknownEndpoint.
func (g *Group[C]) SetWeight(name string, weight int) error {
	if weight < 0 {
		return fmt.Errorf("%w: weight of %q is %d, must not be negative", actorpool.ErrInvalidConfig, name, weight)
	}
	m := named(*g.members.Load(), name)
	if m == nil {
		return fmt.Errorf("%w: %q", ErrUnknownEndpoint, name)
	}
	m.weight.Store(int64(weight))
	return nil
}
