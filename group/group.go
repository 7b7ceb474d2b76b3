package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
)

// Config tunes a group. The zero value is valid.
type Config struct {
	// Picker chooses the endpoint of each request.
	// default: PowerOfTwo()
	Picker Picker
	// Pool configures each endpoint's pool, unless the endpoint has its
	// own (Endpoint.Pool). Each pool's Name (in metrics and spans) is
	// Pool.Name + "/" + the endpoint's name, or the endpoint's name when
	// Pool.Name is empty.
	// default: the zero actorpool.Config (its own defaults)
	Pool actorpool.Config
	// StrictReads keeps reads on replicas: when no replica can serve,
	// AcquireRead fails instead of leasing from a primary.
	// default: false (reads fall back to a primary)
	StrictReads bool
	// RolesFromConfig takes every role from Endpoint.Replica, even when
	// the backend can read roles from the server.
	// default: false
	RolesFromConfig bool
	// RoleCheckInterval is how often the roles are read from the servers;
	// they are also read at once after an Acquire failed fast, a fatal
	// error, or a write refused as read-only.
	// default: 1s
	RoleCheckInterval time.Duration
	// RoleCheckTimeout bounds one endpoint's role check (its lease and
	// its query).
	// default: 1s
	RoleCheckTimeout time.Duration
	// Logger receives the group's own lines (role changes, failed role
	// checks). Each pool logs to Pool.Logger.
	// default: a logger that discards everything
	Logger *slog.Logger
}

// Group leases connections of type C from several endpoints. Its methods
// are safe for concurrent use. Create it with New, end it with Close.
type Group[C any] struct {
	sys *actor.ActorSystem
	cfg Config

	// members is the endpoints that take new requests, in the order they
	// were added. Replaced (never changed in place) under mu; read by
	// every Acquire without a lock.
	members atomic.Pointer[[]*member[C]]
	// mu serialises Add, Remove, Close and their changes to members and
	// draining.
	mu       sync.Mutex
	draining []*member[C] // removed, their pool not yet closed
	closed   atomic.Bool

	checker *roleChecker[C]
	front   *actor.PID
	// cands holds *candidates for pick to reuse.
	cands sync.Pool
}

// New starts a group on sys with a pool for each endpoint. It returns at
// once; connections are dialled and roles read in the background. Invalid
// configuration (a negative duration, two endpoints of one name, a pool
// Config that actorpool.New rejects) is an error wrapping
// actorpool.ErrInvalidConfig, and nothing is left running.
func New[C any](sys *actor.ActorSystem, cfg Config, endpoints ...Endpoint[C]) (*Group[C], error) {
	if sys == nil {
		return nil, fmt.Errorf("%w: actor system is nil", actorpool.ErrInvalidConfig)
	}
	if cfg.RoleCheckInterval < 0 || cfg.RoleCheckTimeout < 0 {
		return nil, fmt.Errorf("%w: RoleCheckInterval and RoleCheckTimeout must not be negative", actorpool.ErrInvalidConfig)
	}
	if cfg.Picker == nil {
		cfg.Picker = PowerOfTwo()
	}
	if cfg.RoleCheckInterval == 0 {
		cfg.RoleCheckInterval = time.Second
	}
	if cfg.RoleCheckTimeout == 0 {
		cfg.RoleCheckTimeout = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Group[C]{sys: sys, cfg: cfg}
	g.cands.New = func() any { return new(candidates[C]) }
	ms := make([]*member[C], 0, len(endpoints))
	for _, ep := range endpoints {
		m, err := newMember(g, ep, func(name string) bool { return named(ms, name) != nil })
		if err != nil {
			for _, m := range ms {
				_ = m.pool.Close(context.Background())
			}
			return nil, err
		}
		ms = append(ms, m)
	}
	g.members.Store(&ms)
	g.checker = startRoleChecker(g)
	g.front = spawnFront(g)
	return g, nil
}

// named returns the member of ms called name, or nil.
func named[C any](ms []*member[C], name string) *member[C] {
	for _, m := range ms {
		if m.name == name {
			return m
		}
	}
	return nil
}

// Acquire leases a connection from a primary, the endpoint the picker
// chooses among those not failing fast. When that endpoint fails fast
// (ErrBackendUnavailable), the next is tried. When none can serve, the
// error matches actorpool.ErrBackendUnavailable and joins each endpoint's
// own, named: the error of the Acquire tried on it, its last dial error
// when it fails fast or its role is not known (so that errors.Is finds a
// refused dial's syscall.ECONNREFUSED), or its role when it is not a
// primary. When no primary is known yet, it waits for one round of role
// checks first. Waiting on the chosen endpoint is as for
// actorpool.Pool.Acquire (its AcquireTimeout, ctx's error as itself).
// After Close it fails with actorpool.ErrPoolClosed.
func (g *Group[C]) Acquire(ctx context.Context) (actorpool.Lease[C], error) {
	l, _, err := g.acquire(ctx, false)
	return l, err
}

// AcquireRead is Acquire for a read: it leases from a replica, or from a
// primary when no replica can serve (unless Config.StrictReads).
func (g *Group[C]) AcquireRead(ctx context.Context) (actorpool.Lease[C], error) {
	l, _, err := g.acquire(ctx, true)
	return l, err
}

// acquire leases from the picked endpoint, skipping those that fail fast.
func (g *Group[C]) acquire(ctx context.Context, read bool) (actorpool.Lease[C], *member[C], error) {
	var tried []*member[C]
	var errs []error
	waited := false
	for {
		if g.closed.Load() {
			return actorpool.Lease[C]{}, nil, actorpool.ErrPoolClosed
		}
		if err := ctx.Err(); err != nil {
			return actorpool.Lease[C]{}, nil, err
		}
		m, pending := g.pick(read, tried)
		if m == nil {
			if pending && !waited {
				waited = true
				if err := g.checker.await(ctx); err != nil {
					return actorpool.Lease[C]{}, nil, err
				}
				continue
			}
			return actorpool.Lease[C]{}, nil, g.unavailable(read, tried, errs)
		}
		l, err := m.pool.Acquire(ctx)
		if err == nil {
			return l, m, nil
		}
		if !errors.Is(err, actorpool.ErrBackendUnavailable) && !errors.Is(err, actorpool.ErrPoolClosed) {
			return actorpool.Lease[C]{}, m, err
		}
		if errors.Is(err, actorpool.ErrBackendUnavailable) {
			m.down.Store(true)
			g.checker.soon()
		}
		tried = append(tried, m)
		errs = append(errs, fmt.Errorf("%s: %w", m.name, err))
	}
}

// pick returns the endpoint the picker chooses among those eligible, or
// nil when none is; pending is eligible's.
func (g *Group[C]) pick(read bool, skip []*member[C]) (m *member[C], pending bool) {
	c := g.cands.Get().(*candidates[C])
	c.ms, pending = g.eligible(c.ms[:0], read, skip)
	if len(c.ms) > 0 {
		m = c.ms[g.cfg.Picker.Pick(c)]
	}
	clear(c.ms)
	g.cands.Put(c)
	return m, pending
}

// eligible appends to cands the endpoints that may serve a request now,
// leaving out those in skip and those failing fast; pending reports that
// an endpoint's role is not known yet (or, for a write, that no primary is
// known while roles are read from servers).
func (g *Group[C]) eligible(cands []*member[C], read bool, skip []*member[C]) (_ []*member[C], pending bool) {
	ms := *g.members.Load()
	want := backends.RolePrimary
	if read {
		want = backends.RoleReplica
	}
	readsRoles := false
	for pass := 0; pass < 2; pass++ {
		for _, m := range ms {
			if m.roles != nil {
				readsRoles = true
			}
			r := m.currentRole()
			if r == backends.RoleUnknown {
				pending = true
				continue
			}
			if r != want || contains(skip, m) {
				continue
			}
			if m.failingFast() {
				continue
			}
			cands = append(cands, m)
		}
		if len(cands) > 0 || !read || g.cfg.StrictReads || want == backends.RolePrimary {
			break
		}
		want = backends.RolePrimary // reads fall back to a primary
	}
	if len(cands) == 0 && !read && readsRoles {
		pending = true
	}
	return cands, pending
}

func contains[C any](ms []*member[C], m *member[C]) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// With acquires a connection from a primary (as Acquire), runs fn on it
// and gives it back. A fatal error (the endpoint backend's IsFatal) or a
// panic marks the connection broken; a fatal error or a write refused as
// read-only also has the roles read again at once. It returns fn's error,
// or the lease's own when fn succeeded on a lease the pool revoked.
func (g *Group[C]) With(ctx context.Context, fn func(conn C) error) error {
	return g.with(ctx, false, fn)
}

// WithRead is With for a read: the connection comes from AcquireRead.
func (g *Group[C]) WithRead(ctx context.Context, fn func(conn C) error) error {
	return g.with(ctx, true, fn)
}

func (g *Group[C]) with(ctx context.Context, read bool, fn func(conn C) error) error {
	l, m, err := g.acquire(ctx, read)
	if err != nil {
		return err
	}
	err = l.Run(fn, m.backend.IsFatal)
	if err != nil && (m.backend.IsFatal(err) || m.roles != nil && m.roles.IsReadOnly(err)) {
		g.checker.soon() // the endpoint may have changed role
	}
	return err
}

// Close stops new acquires (they fail with actorpool.ErrPoolClosed, as do
// requests to the front actor), stops the role checker, and closes every endpoint's pool,
// draining ones included, at once, each as actorpool.Pool.Close does with
// ctx. It returns the pools' errors joined. A second Close returns
// actorpool.ErrPoolClosed.
func (g *Group[C]) Close(ctx context.Context) error {
	g.mu.Lock()
	if g.closed.Swap(true) {
		g.mu.Unlock()
		return actorpool.ErrPoolClosed
	}
	ms := append(append([]*member[C](nil), *g.members.Load()...), g.draining...)
	g.mu.Unlock()
	g.checker.stop()
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			if err := m.pool.Close(ctx); err != nil && !errors.Is(err, actorpool.ErrPoolClosed) {
				errs[i] = fmt.Errorf("%s: %w", m.name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Primary returns the pool a write would lease from now: the picker's
// choice among the endpoints read as primaries, waiting once for a round
// of role checks when none is known yet. It is for clients that hand work
// to a pool themselves (a command-mode client); errors are Acquire's.
func (g *Group[C]) Primary(ctx context.Context) (*actorpool.Pool[C], error) {
	waited := false
	for {
		if g.closed.Load() {
			return nil, actorpool.ErrPoolClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, pending := g.pick(false, nil)
		if m != nil {
			return m.pool, nil
		}
		if !pending || waited {
			return nil, g.unavailable(false, nil, nil)
		}
		waited = true
		if err := g.checker.await(ctx); err != nil {
			return nil, err
		}
	}
}

// PoolOf returns the pool of the endpoint called name, if the group has
// it: for clients that choose the endpoint themselves.
func (g *Group[C]) PoolOf(name string) (*actorpool.Pool[C], bool) {
	if m := named(*g.members.Load(), name); m != nil {
		return m.pool, true
	}
	return nil, false
}
