package budget

// This file is the record of the members that have joined a budget in
// this process, and the check of a pool before Join records it. The record
// answers two questions: which member holds a cluster member's place in a
// budget (one gossip state per cluster member and budget), and which
// budget a pool is in (a pool follows one budget's limits). Its writers
// are claim and drop, under its lock; a member is claimed by Join and
// dropped once, by Join when it fails or by the member's run when it
// returns.

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/internal/isnil"
)

// registry is the record of the live members.
type registry struct {
	mu      sync.Mutex
	members map[string]*Member // by Member.id: the cluster member's ID and the budget's kind
	pools   map[Pool]*Member   // by the pool itself: a *actorpool.Pool[C] by its pointer
}

var joined = registry{members: map[string]*Member{}, pools: map[Pool]*Member{}}

// claim records m, unless its pool is in a budget already or its cluster
// member has a pool in m's budget already. m.pool has passed checkPool.
func (r *registry) claim(m *Member) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in, ok := r.pools[m.pool]; ok {
		return fmt.Errorf("%w: the pool is in budget %q already (cluster member %s); Leave that budget first",
			actorpool.ErrInvalidConfig, in.cfg.Name, in.c.ActorSystem.ID)
	}
	if _, ok := r.members[m.id]; ok {
		return fmt.Errorf("%w: this cluster member has a pool in budget %q already", actorpool.ErrInvalidConfig, m.cfg.Name)
	}
	r.members[m.id], r.pools[m.pool] = m, m
	return nil
}

// drop removes m's records; it leaves alone those another member holds.
func (r *registry) drop(m *Member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members[m.id] == m {
		delete(r.members, m.id)
	}
	if r.pools[m.pool] == m {
		delete(r.pools, m.pool)
	}
}

// checkPool refuses a pool that is nil, a nil pointer (or other nil
// value) of a type that implements Pool, or a value that cannot be
// compared: the registry tells pools apart by comparing them.
func checkPool(pool Pool) error {
	if pool == nil {
		return fmt.Errorf("%w: no pool to join", actorpool.ErrInvalidConfig)
	}
	if isnil.Is(pool) {
		return fmt.Errorf("%w: the pool is a nil %T", actorpool.ErrInvalidConfig, pool)
	}
	if !reflect.ValueOf(pool).Comparable() {
		return fmt.Errorf("%w: a pool of type %T cannot be compared with another; join a pointer to it", actorpool.ErrInvalidConfig, pool)
	}
	return nil
}
