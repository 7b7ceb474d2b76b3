package group

import (
	"fmt"
	"sync/atomic"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/internal/isnil"
)

// Endpoint describes one server of a group.
type Endpoint[C any] struct {
	// Name names the endpoint in Stats, errors, Remove and SetWeight, and
	// its pool in metrics; unique within the group. It must not contain a
	// password.
	// default: the backend's Name (backends.Namer)
	Name string
	// Backend dials the endpoint's connections. Required.
	Backend backends.Backend[C]
	// Replica marks the endpoint read-only: it serves AcquireRead only.
	// Used when the backend cannot read roles from the server (it is no
	// backends.RoleReader) or when Config.RolesFromConfig is set.
	// default: false (a primary: reads and writes)
	Replica bool
	// Weight is the endpoint's share for the Weighted picker; 0 takes no
	// requests from it while another endpoint has a weight.
	// default: 1 (0 means the default; set a weight of 0 with SetWeight)
	Weight int
	// Pool configures the endpoint's pool.
	// default: nil (Config.Pool)
	Pool *actorpool.Config
}

// member is one endpoint in a group. name, pool, backend and roles are
// immutable; the atomics are read by every Acquire without a lock.
type member[C any] struct {
	name    string
	pool    *actorpool.Pool[C]
	backend backends.Backend[C]
	roles   backends.RoleReader[C] // nil: the role is the configured one

	// role is a backends.Role: written by the role checker (or once at
	// Add for a configured role).
	role atomic.Int32
	// weight is written by SetWeight.
	weight atomic.Int64
	// down is set when an Acquire on the pool failed fast; it is cleared
	// by the first reader that finds the pool's circuit closed again. It
	// only saves healthy endpoints a Stats call on every Acquire: the
	// circuit itself is the pool's.
	down atomic.Bool
	// draining is set when Remove took the endpoint out of the group.
	draining atomic.Bool
	// checkErr is the error of the last role check (checkFailure), nil
	// after a check that read the role. Written by the role checker.
	checkErr atomic.Pointer[error]
}

// newMember starts the endpoint's pool on g's actor system.
func newMember[C any](g *Group[C], ep Endpoint[C], taken func(name string) bool) (*member[C], error) {
	if isnil.Is(ep.Backend) {
		return nil, fmt.Errorf("%w: endpoint %q has no backend", actorpool.ErrInvalidConfig, ep.Name)
	}
	name := ep.Name
	if name == "" {
		if n, ok := ep.Backend.(backends.Namer); ok {
			name = n.Name()
		}
	}
	if name == "" {
		return nil, fmt.Errorf("%w: endpoint has no Name and its backend none", actorpool.ErrInvalidConfig)
	}
	if taken(name) {
		return nil, fmt.Errorf("%w: the group has an endpoint named %q", actorpool.ErrInvalidConfig, name)
	}
	if ep.Weight < 0 {
		return nil, fmt.Errorf("%w: endpoint %q: Weight is %d, must not be negative", actorpool.ErrInvalidConfig, name, ep.Weight)
	}
	cfg := g.cfg.Pool
	switch {
	case ep.Pool != nil:
		cfg = *ep.Pool
	case cfg.Name != "":
		cfg.Name += "/" + name // one name per pool in metrics
	}
	if cfg.Name == "" {
		cfg.Name = name
	}
	p, err := actorpool.New(g.sys, ep.Backend, cfg)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", name, err)
	}
	m := &member[C]{name: name, pool: p, backend: ep.Backend}
	if rr, ok := ep.Backend.(backends.RoleReader[C]); ok && !g.cfg.RolesFromConfig {
		m.roles = rr
		m.role.Store(int32(backends.RoleUnknown))
	} else if ep.Replica {
		m.role.Store(int32(backends.RoleReplica))
	} else {
		m.role.Store(int32(backends.RolePrimary))
	}
	w := ep.Weight
	if w == 0 {
		w = 1
	}
	m.weight.Store(int64(w))
	return m, nil
}

func (m *member[C]) currentRole() backends.Role { return backends.Role(m.role.Load()) }

// checkError is the error of the last role check, or nil.
func (m *member[C]) checkError() error {
	if p := m.checkErr.Load(); p != nil {
		return *p
	}
	return nil
}

// setCheckError keeps err (nil: the check read the role).
func (m *member[C]) setCheckError(err error) {
	if err == nil {
		m.checkErr.Store(nil)
		return
	}
	err = checkFailure(err)
	m.checkErr.Store(&err)
}

// failingFast reports whether the endpoint's pool fails acquires at once,
// reading its Stats only when an earlier Acquire saw it fail.
func (m *member[C]) failingFast() bool {
	if !m.down.Load() {
		return false
	}
	if m.pool.Stats().CircuitOpen() {
		return true
	}
	m.down.Store(false)
	return false
}

// candidates is the Candidates a Picker sees.
// Group.pick reuses them (Group.cands), so that a pick allocates nothing.
type candidates[C any] struct{ ms []*member[C] }

func (c *candidates[C]) Len() int { return len(c.ms) }

func (c *candidates[C]) Load(i int) (int, int) { return c.ms[i].pool.Load() }

func (c *candidates[C]) Weight(i int) int { return int(c.ms[i].weight.Load()) }
