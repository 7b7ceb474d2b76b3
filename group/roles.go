package group

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends"
)

// roleChecker is the goroutine that reads endpoints' roles from their
// servers: every RoleCheckInterval, and at once when soon is called. Each
// round checks every endpoint whose backend is a RoleReader, all at once,
// and refreshes every endpoint's down flag from its pool's circuit.
type roleChecker[C any] struct {
	g    *Group[C]
	wake chan struct{} // soon's signal; holds at most one
	done chan struct{} // closed by stop
	exit chan struct{} // closed when the goroutine ends

	// mu guards next: the channel closed when the next round to start
	// has ended. A round takes it at its start and leaves a new one.
	mu   sync.Mutex
	next chan struct{}
}

func startRoleChecker[C any](g *Group[C]) *roleChecker[C] {
	c := &roleChecker[C]{
		g: g, wake: make(chan struct{}, 1), done: make(chan struct{}),
		exit: make(chan struct{}), next: make(chan struct{}),
	}
	go c.run()
	c.soon()
	return c
}

// soon asks for a round at once. It never blocks.
func (c *roleChecker[C]) soon() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// await asks for a round and waits until a round that started after the
// call has ended, ctx ends (its error) or the group closes
// (ErrPoolClosed).
func (c *roleChecker[C]) await(ctx context.Context) error {
	c.mu.Lock()
	next := c.next
	c.mu.Unlock()
	c.soon()
	select {
	case <-next:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return actorpool.ErrPoolClosed
	}
}

// stop ends the goroutine and waits for it.
func (c *roleChecker[C]) stop() {
	close(c.done)
	<-c.exit
}

func (c *roleChecker[C]) run() {
	defer close(c.exit)
	t := time.NewTicker(c.g.cfg.RoleCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		case <-c.wake:
		}
		c.mu.Lock()
		ended := c.next
		c.next = make(chan struct{})
		c.mu.Unlock()
		c.round()
		close(ended)
	}
}

// round checks every endpoint that takes requests.
func (c *roleChecker[C]) round() {
	var wg sync.WaitGroup
	for _, m := range *c.g.members.Load() {
		m.down.Store(m.pool.Stats().CircuitOpen())
		if m.roles != nil {
			wg.Go(func() { c.check(m) })
		}
	}
	wg.Wait()
}

// check reads m's role on a connection leased from its pool, and keeps the
// check's error for the group's errors. When the check fails the last role
// read stays: an endpoint that cannot be reached is left out because its
// pool fails fast, not because of its role.
func (c *roleChecker[C]) check(m *member[C]) {
	ctx, cancel := context.WithTimeout(context.Background(), c.g.cfg.RoleCheckTimeout)
	defer cancel()
	l, err := m.pool.Acquire(ctx)
	m.setCheckError(err)
	if err != nil {
		if errors.Is(err, actorpool.ErrBackendUnavailable) {
			m.down.Store(true)
		}
		c.g.cfg.Logger.Debug("actorpool: group: role check: no connection", slog.String("endpoint", m.name), slog.Any("error", err))
		return
	}
	var r backends.Role
	err = l.Run(func(conn C) (err error) {
		r, err = m.roles.Role(ctx, conn)
		return err
	}, m.backend.IsFatal)
	m.setCheckError(err)
	if err != nil {
		c.g.cfg.Logger.Warn("actorpool: group: role check failed", slog.String("endpoint", m.name), slog.Any("error", err))
		return
	}
	if old := backends.Role(m.role.Swap(int32(r))); old != r {
		c.g.cfg.Logger.Info("actorpool: group: endpoint role", slog.String("endpoint", m.name),
			slog.String("was", old.String()), slog.String("now", r.String()))
	}
}

// CheckRoles reads every endpoint's role from its server now, and returns
// when that round has ended, ctx ends (its error) or the group closes
// (actorpool.ErrPoolClosed). Roles are also read every RoleCheckInterval
// and after failures; call it when you learn of a failover first (a
// Sentinel's +switch-master).
func (g *Group[C]) CheckRoles(ctx context.Context) error {
	if g.closed.Load() {
		return actorpool.ErrPoolClosed
	}
	return g.checker.await(ctx)
}
