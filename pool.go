package actorpool

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/actors"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/internal/backoff"
	"github.com/actorpool/actorpool/internal/core"
	"github.com/actorpool/actorpool/internal/mailbox"
	"github.com/actorpool/actorpool/messages"
	"github.com/actorpool/actorpool/supervisor"
)

// Lease is a holder's handle on one pooled connection: Conn to use it,
// Release to give it back, MarkBroken to have it replaced. It is a small
// value; copies name the same lease, which ends exactly once.
type Lease[C any] = core.Lease[C]

// Pool leases connections of type C. Its methods are safe for concurrent
// use. Create it with New, end it with Close.
type Pool[C any] struct {
	root    *actor.RootContext
	broker  *actor.PID
	backend backends.Backend[C]
	cfg     Config

	idle    *core.Idle[C] // connections a caller takes without the broker
	reqs    sync.Pool     // *core.Request[C], answered ones only
	closed  atomic.Bool   // set when Close starts
	stopped chan struct{} // closed when every actor has stopped
	final   atomic.Pointer[messages.Stats]
	cancel  context.CancelFunc // ends dials in flight
	mailbox *mailbox.Pinned    // the broker's; its goroutine ends in Close
}

// brokerThroughput is how many messages the broker handles before it
// yields its processor.
const brokerThroughput = 300

// New starts a pool on sys: a broker, its supervisor, and MinConns
// connection actors. It returns at once; the first connections are dialled
// in the background. Invalid configuration, including a backend option that
// its Validate rejects, is an error wrapping ErrInvalidConfig.
func New[C any](sys *actor.ActorSystem, backend backends.Backend[C], cfg Config) (*Pool[C], error) {
	if sys == nil {
		return nil, fmt.Errorf("%w: actor system is nil", ErrInvalidConfig)
	}
	if backend == nil {
		return nil, fmt.Errorf("%w: backend is nil", ErrInvalidConfig)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if v, ok := backend.(backends.Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool[C]{
		root:    sys.Root,
		backend: backend,
		cfg:     cfg,
		stopped: make(chan struct{}),
		cancel:  cancel,
	}
	p.reqs.New = func() any { return core.NewRequest[C]() }

	ids, returning := new(atomic.Uint64), new(atomic.Int64)
	p.mailbox = mailbox.NewPinned(brokerThroughput)
	p.idle = core.NewIdle[C](core.IdleConfig{
		Post:     p.mailbox.PostUserMessage,
		StampMsg: &messages.StampSoon{}, WatchMsg: &messages.WatchLeases{},
		NeedStamp:   cfg.IdleTimeout > 0 || cfg.KeepaliveInterval > 0 || cfg.ValidateAfterIdle > 0,
		WatchLeases: cfg.LeaseTimeout > 0 || cfg.LeakWarnAfter > 0,
	}, cfg.MaxConns)
	var needsReset func(C) bool
	if t, ok := backend.(backends.ResetTracker[C]); ok {
		needsReset = t.NeedsReset
	}
	supervisorProps := func(broker *actor.PID) *actor.Props {
		conn := &actors.ConnectionConfig[C]{
			Backend: backend, Broker: broker, Ctx: ctx,
			OpTimeout: cfg.DialTimeout, Logger: cfg.Logger, IDs: ids,
			Slots: core.SlotConfig[C]{Root: sys.Root, Broker: broker, Returning: returning, NeedsReset: needsReset, Idle: p.idle},
		}
		return actor.PropsFromProducer(supervisor.New[C](supervisor.Config{
			Broker:     broker,
			Connection: actor.PropsFromProducer(actors.NewConnectionProducer(conn)),
			Backoff:    backoff.Policy{Min: cfg.BackoffMin, Max: cfg.BackoffMax},
			Logger:     cfg.Logger,
		}))
	}
	brokerCfg := &actors.BrokerConfig{
		MinConns: cfg.MinConns, MaxConns: cfg.MaxConns,
		AcquireTimeout: cfg.AcquireTimeout, LeaseTimeout: cfg.LeaseTimeout,
		LeakWarnAfter: cfg.LeakWarnAfter, MaxWaiters: cfg.MaxWaiters,
		IdleTimeout: cfg.IdleTimeout, MaxLifetime: cfg.MaxLifetime,
		KeepaliveInterval: cfg.KeepaliveInterval, ValidateAfterIdle: cfg.ValidateAfterIdle,
		Returning: returning, Supervisor: supervisorProps, Logger: cfg.Logger,
	}
	brokerCfg.Post = p.mailbox.PostUserMessage
	p.broker = sys.Root.SpawnPrefix(actor.PropsFromProducer(actors.NewBrokerProducer(brokerCfg, p.idle),
		actor.WithMailbox(func() actor.Mailbox { return p.mailbox })), "actorpool")
	return p, nil
}

// Acquire leases a connection. It waits, in the order it reached the line
// of waiters, until one is free, ctx ends (the ctx error comes back as
// itself), or AcquireTimeout passes (ErrAcquireTimeout). While no
// connection is alive and dials fail it fails at once with
// ErrBackendUnavailable, wrapping the dial error.
//
// The fast path: when no caller is waiting and a connection is idle, the
// caller takes it on its own goroutine, without a message to the broker.
// When callers are waiting already, it joins the back of their line itself,
// and a holder hands it a connection on release, again without a message.
// Otherwise (the first to wait, the pool growing, closing or failing fast)
// it asks the broker. Either way it waits for the answer.
func (p *Pool[C]) Acquire(ctx context.Context) (Lease[C], error) {
	if p.closed.Load() {
		return Lease[C]{}, ErrPoolClosed
	}
	if err := ctx.Err(); err != nil {
		return Lease[C]{}, err
	}
	var stack []byte
	if p.cfg.LeakWarnAfter > 0 {
		stack = debug.Stack()
	}
	l, ok, closed := p.idle.Take(stack)
	if ok {
		return l, nil
	}
	if closed {
		return Lease[C]{}, ErrPoolClosed
	}
	req := p.reqs.Get().(*core.Request[C])
	req.Stack = stack
	if p.idle.Join(req, p.cfg.AcquireTimeout, p.cfg.MaxWaiters) {
		// A request in line is always answered: Close empties the line
		// before the broker stops, so there is no need to watch p.stopped
		// (a channel every waiter would contend on).
		return p.await(ctx, req, nil)
	}
	p.root.Send(p.broker, req)
	return p.await(ctx, req, p.stopped)
}

// await waits for the answer to req, for ctx to end, or for stopped to
// close.
func (p *Pool[C]) await(ctx context.Context, req *core.Request[C], stopped <-chan struct{}) (Lease[C], error) {
	done := ctx.Done()
	switch {
	case done == nil && stopped == nil:
		<-req.Done()
		return p.answer(req)
	case done == nil:
		select {
		case <-req.Done():
			return p.answer(req)
		case <-stopped:
			return p.abandon(req, ErrPoolClosed, false)
		}
	}
	select {
	case <-req.Done():
		return p.answer(req)
	case <-done:
		return p.abandon(req, ctx.Err(), true)
	case <-stopped:
		return p.abandon(req, ErrPoolClosed, false)
	}
}

// answer takes the broker's answer out of req and recycles req.
func (p *Pool[C]) answer(req *core.Request[C]) (Lease[C], error) {
	l, err := req.Lease, req.Err
	req.Reuse()
	p.reqs.Put(req)
	return l, err
}

// abandon withdraws req after its caller gave up. A grant that raced with
// the cancellation goes back to the pool; it is never lost.
func (p *Pool[C]) abandon(req *core.Request[C], cause error, tellBroker bool) (Lease[C], error) {
	if req.Cancel() {
		// A holder may be about to answer req, or the broker may not have
		// seen it yet: never recycle it.
		if !p.idle.Dequeue(req) && tellBroker {
			p.root.Send(p.broker, &messages.CancelAcquire[C]{Request: req})
		}
		return Lease[C]{}, cause
	}
	<-req.Done()
	if l, err := p.answer(req); err == nil {
		_ = l.Release()
	}
	return Lease[C]{}, cause
}

// With acquires a connection, runs fn on it and gives it back. When fn's
// error is fatal for the connection (the backend's IsFatal), or fn panics,
// the connection is marked broken and replaced. It returns fn's error, or
// the lease's own error (ErrLeaseRevoked) when fn succeeded on a lease the
// pool took back meanwhile.
func (p *Pool[C]) With(ctx context.Context, fn func(conn C) error) (err error) {
	l, err := p.Acquire(ctx)
	if err != nil {
		return err
	}
	ended := false
	defer func() {
		if !ended {
			r := recover()
			_ = l.MarkBroken(fmt.Errorf("actorpool: panic in With: %v", r))
			panic(r)
		}
	}()
	err = fn(l.Conn())
	ended = true
	var endErr error
	if err != nil && p.backend.IsFatal(err) {
		endErr = l.MarkBroken(err)
	} else {
		endErr = l.Release()
	}
	if err == nil && endErr != nil {
		return endErr
	}
	return err
}

// Stats returns a snapshot answered by the broker. After Close it returns
// the last snapshot taken before the actors stopped.
func (p *Pool[C]) Stats() Stats {
	if f := p.final.Load(); f != nil {
		return Stats{*f}
	}
	res, err := p.root.RequestFuture(p.broker, &messages.GetStats{}, 5*time.Second).Result()
	if s, ok := res.(*messages.Stats); ok && err == nil {
		return Stats{*s}
	}
	if f := p.final.Load(); f != nil {
		return Stats{*f}
	}
	return Stats{}
}

// SetLimits changes MinConns and MaxConns; the broker has applied them when
// it returns. A higher minimum is dialled at once. A lower maximum retires
// idle connections at once (longest idle first), stops connection actors
// still waiting to dial, and retires leased connections as they come back:
// until then Stats may show more than maxConns. Limits that New would
// reject (negative, maxConns below 1 or below minConns) return an error
// wrapping ErrInvalidConfig; after Close, ErrPoolClosed.
func (p *Pool[C]) SetLimits(minConns, maxConns int) error {
	switch {
	case minConns < 0:
		return fmt.Errorf("%w: MinConns is %d, must not be negative", ErrInvalidConfig, minConns)
	case maxConns < 1:
		return fmt.Errorf("%w: MaxConns is %d, must be at least 1", ErrInvalidConfig, maxConns)
	case minConns > maxConns:
		return fmt.Errorf("%w: MinConns (%d) is above MaxConns (%d)", ErrInvalidConfig, minConns, maxConns)
	}
	if p.closed.Load() {
		return ErrPoolClosed
	}
	msg := &messages.SetLimits{Min: minConns, Max: maxConns, Done: make(chan error, 1)}
	p.root.Send(p.broker, msg)
	select {
	case err := <-msg.Done:
		return err
	case <-p.stopped:
		return ErrPoolClosed
	}
}

// Broker is the PID actors send *messages.Acquire to.
func (p *Pool[C]) Broker() *actor.PID { return p.broker }

// Close stops new acquires (they fail with ErrPoolClosed, as do waiters),
// waits until every lease is given back or ctx ends, then revokes the
// leases still out, closes every connection and stops the pool's actors.
// It returns an error wrapping ctx's when it had to revoke leases. A second
// Close returns ErrPoolClosed.
func (p *Pool[C]) Close(ctx context.Context) error {
	if !p.closed.CompareAndSwap(false, true) {
		<-p.stopped
		return ErrPoolClosed
	}
	done := make(chan struct{})
	p.root.Send(p.broker, &messages.Close{Done: done})
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		force := &messages.ForceClose{Done: make(chan struct{})}
		p.root.Send(p.broker, force)
		<-force.Done
		err = fmt.Errorf("actorpool: close revoked %d leases: %w", force.Revoked, ctx.Err())
	}
	if res, rerr := p.root.RequestFuture(p.broker, &messages.GetStats{}, 5*time.Second).Result(); rerr == nil {
		if s, ok := res.(*messages.Stats); ok {
			p.final.Store(s)
		}
	}
	p.cancel()
	if werr := p.root.StopFuture(p.broker).Wait(); werr != nil {
		err = errors.Join(err, fmt.Errorf("actorpool: stopping actors: %w", werr))
	}
	p.mailbox.Shutdown()
	close(p.stopped)
	return err
}
