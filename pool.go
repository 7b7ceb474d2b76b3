package actorpool

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/actorpool/actorpool/actors"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/internal/cmdq"
	"github.com/actorpool/actorpool/internal/isnil"
	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
	"github.com/actorpool/actorpool/supervisor"
)

// Pool leases connections of type C. Its methods are safe for concurrent
// use. Create it with New, end it with Close.
type Pool[C any] struct {
	root    *actor.RootContext
	broker  *actor.PID
	ledger  *ledger.Ledger[C]
	backend backends.Backend[C]
	cfg     Config // as New filled it; the lifecycle settings in force are in life

	tel *telemetry // nil: no metrics and no spans

	// settings: the lifecycle settings in force (0: off), written by the
	// broker alone as it applies SetLifecycle.
	settings *proto.Settings
	setMu    sync.Mutex // serialises SetLifecycle

	stopped     chan struct{} // closed when Close is done
	cancel      context.CancelFunc
	deadLetters *eventstream.Subscription // gives back grants nobody received

	// Command mode (commands.go); nil when the backend has none.
	cmds       *cmdq.Set
	dispatcher *actor.PID
	then       func(*cmdq.Op, error) // submitted, the Then of Submit's ops

	ownSys *actor.ActorSystem // the system Open started, shut down by Close; nil after New
}

// New starts a pool on sys: a broker, its supervisor, and MinConns
// connection actors. It returns at once; the first connections are dialled
// in the background. Invalid configuration, including a backend option that
// its Validate rejects, is an error wrapping ErrInvalidConfig.
func New[C any](sys *actor.ActorSystem, backend backends.Backend[C], cfg Config) (*Pool[C], error) {
	if sys == nil {
		return nil, fmt.Errorf("%w: actor system is nil", ErrInvalidConfig)
	}
	if isnil.Is(backend) {
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
	if cfg.Name == "" {
		cfg.Name = poolName(backend)
	}
	tel, err := newTelemetry(cfg)
	if err != nil {
		return nil, fmt.Errorf("actorpool: metrics: %w", err)
	}
	p := &Pool[C]{root: sys.Root, backend: backend, cfg: cfg, tel: tel, stopped: make(chan struct{})}
	p.settings = proto.NewSettings(lifecycleOf(cfg))
	dialer := backend
	if tel != nil && tel.metrics != nil {
		dialer = timedBackend[C]{Backend: backend, metrics: tel.metrics}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	ids := new(atomic.Uint64)
	commands := p.commandMode(backend)
	bc := &actors.BrokerConfig[C]{
		MinConns: cfg.MinConns, MaxConns: cfg.MaxConns,
		Settings: p.settings,
		Logger:   cfg.Logger, FIFO: cfg.IdleOrder == FIFO,
		Granted: func(s *ledger.Slot[C], gen uint64, tag any) any {
			return &Granted[C]{Lease: Lease[C]{slot: s, gen: gen}, Tag: tag}
		},
		Failed: func(err error, tag any) any { return &AcquireFailed{Err: err, Tag: tag} },
		AsAcquire: func(msg any) (actors.Acquire, bool) {
			switch m := msg.(type) {
			case *Acquire:
				return actors.Acquire{Timeout: m.Timeout, Owner: m.Owner, Tag: m.Tag}, true
			case *commandAcquire:
				return actors.Acquire{Timeout: m.timeout, Internal: true}, true
			}
			return actors.Acquire{}, false
		},
		Supervisor: func(broker *actor.PID, l *ledger.Ledger[C]) *actor.Props {
			conn := &actors.ConnectionConfig[C]{
				Backend: dialer, Broker: broker, Ledger: l, Ctx: ctx,
				Settings: p.settings, Logger: cfg.Logger, IDs: ids,
				Commands: commands,
			}
			return actor.PropsFromProducer(supervisor.New(supervisor.Config{
				Broker:     broker,
				Connection: actor.PropsFromProducer(actors.NewConnectionProducer(conn)),
				Logger:     cfg.Logger,
			}))
		},
	}
	if t, ok := backend.(backends.ResetTracker[C]); ok {
		bc.NeedsReset = t.NeedsReset
	}
	if tel != nil && tel.metrics != nil {
		bc.LeaseUsed, bc.LeaseWaited = tel.metrics.held, tel.metrics.waited
	}
	p.broker, p.ledger = actors.Spawn(sys.Root, bc)
	p.startCommands(commands)
	p.deadLetters = sys.EventStream.Subscribe(p.returnUndelivered)
	if tel != nil && tel.metrics != nil {
		if err := tel.metrics.observe(p.Stats); err != nil {
			_ = p.Close(context.Background())
			return nil, fmt.Errorf("actorpool: metrics: %w", err)
		}
	}
	return p, nil
}

// ActorSystem is the actor system the pool runs on: the one given to New,
// or Open's own.
func (p *Pool[C]) ActorSystem() *actor.ActorSystem { return p.root.ActorSystem() }

// returnUndelivered gives back a lease whose grant became a dead letter (an
// actor that stopped, a future that timed out): nobody holds it.
func (p *Pool[C]) returnUndelivered(evt any) {
	dl, ok := evt.(*actor.DeadLetterEvent)
	if !ok {
		return
	}
	if g, ok := dl.Message.(*Granted[C]); ok && g.Lease.slot != nil && g.Lease.slot.Ledger() == p.ledger {
		_ = g.Lease.Release()
	}
}

// Acquire leases a connection. It waits, in the order it reached the line
// of waiters, until one is free, ctx ends (the ctx error comes back as
// itself), or AcquireTimeout passes (ErrAcquireTimeout). While no
// connection is alive and dials fail it fails at once with
// ErrBackendUnavailable, wrapping the dial error. After Close it fails
// with ErrPoolClosed.
//
// When no caller is waiting and a connection is idle, the caller takes it
// on its own goroutine, without a message and without allocating. When it
// has to wait, it joins the line itself and arms its own deadline; a holder
// or a connection actor hands it a connection, and the broker hears of it
// only when the pool should grow.
func (p *Pool[C]) Acquire(ctx context.Context) (Lease[C], error) {
	if p.tel != nil && p.tel.tracer != nil {
		return p.acquireTraced(ctx)
	}
	return p.acquire(ctx)
}

// acquire is Acquire without telemetry.
func (p *Pool[C]) acquire(ctx context.Context) (Lease[C], error) {
	if err := ctx.Err(); err != nil {
		return Lease[C]{}, err
	}
	life := p.settings.Load()
	var stack []byte
	if life.LeakWarnAfter > 0 {
		stack = debug.Stack()
	}
	s, gen, err := p.ledger.Acquire(ctx, life.AcquireTimeout, stack)
	if err != nil {
		return Lease[C]{}, err
	}
	return Lease[C]{slot: s, gen: gen}, nil
}

// With acquires a connection, runs fn on it and gives it back. When fn's
// error is fatal for the connection (the backend's IsFatal), or fn panics,
// the connection is marked broken and replaced. It returns fn's error, or
// the lease's own error (ErrLeaseRevoked) when fn succeeded on a lease the
// pool took back meanwhile.
func (p *Pool[C]) With(ctx context.Context, fn func(conn C) error) error {
	l, err := p.Acquire(ctx)
	if err != nil {
		return err
	}
	return l.Run(fn, p.backend.IsFatal)
}

// Stats returns a snapshot read from the pool's ledger under its lock: no
// message, cheap enough for every metrics scrape. It answers after Close
// too.
func (p *Pool[C]) Stats() Stats { return Stats{p.ledger.Stats(), p.commandStats()} }

// Load is the pool's load as a picker weighs it (package group): leases
// out plus callers waiting, which is Stats' Leased() + Waiting(), and
// MaxConns, read without taking the rest of the snapshot.
func (p *Pool[C]) Load() (outstanding, maxConns int) { return p.ledger.Load() }

// SetLimits changes MinConns and MaxConns; the broker has applied them when
// it returns. A higher minimum is dialled at once. A lower maximum retires
// idle connections at once (longest idle first), stops connection actors
// still waiting to redial, and retires leased connections as they come
// back: until then Stats may show more than maxConns. Command mode gives
// back its connections above maxConns at once, once each wrote the
// commands queued on it. A maxConns of 0
// pauses the pool: every connection goes as above, none is dialled, and
// callers wait in line (until AcquireTimeout) for a higher limit. Negative
// limits, or minConns above maxConns, return an error wrapping
// ErrInvalidConfig and change nothing; after Close, ErrPoolClosed; when
// ctx ends first, ctx's error (the limits may still be applied).
func (p *Pool[C]) SetLimits(ctx context.Context, minConns, maxConns int) error {
	switch {
	case minConns < 0:
		return fmt.Errorf("%w: MinConns is %d, must not be negative", ErrInvalidConfig, minConns)
	case maxConns < 0:
		return fmt.Errorf("%w: MaxConns is %d, must not be negative", ErrInvalidConfig, maxConns)
	case minConns > maxConns:
		return fmt.Errorf("%w: MinConns (%d) is above MaxConns (%d)", ErrInvalidConfig, minConns, maxConns)
	}
	if p.ledger.IsClosed() {
		return ErrPoolClosed
	}
	msg := &proto.SetLimits{Min: minConns, Max: maxConns, Done: make(chan error, 1)}
	p.root.Send(p.broker, msg)
	select {
	case err := <-msg.Done:
		if err == nil && p.cmds != nil {
			p.root.Send(p.dispatcher, &proto.LimitsChanged{})
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Broker is the PID actors send *messages.Acquire to. It answers with
// ErrPoolClosed after Close.
func (p *Pool[C]) Broker() *actor.PID { return p.broker }

// Close stops new acquires (they fail with ErrPoolClosed, as do waiters),
// waits until every lease is given back or ctx ends, then revokes the
// leases still out, closes every connection and stops the connection
// actors and their supervisor. It returns an error wrapping ctx's when it
// had to revoke leases. A second Close returns ErrPoolClosed once the
// first is done.
func (p *Pool[C]) Close(ctx context.Context) error {
	if !p.ledger.Close() {
		<-p.stopped
		return ErrPoolClosed
	}
	defer close(p.stopped)
	p.closeCommands()
	done := make(chan struct{})
	p.root.Send(p.broker, &proto.Close{Done: done})
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		force := &proto.ForceClose{Done: make(chan int, 1)}
		p.root.Send(p.broker, force)
		err = fmt.Errorf("actorpool: close revoked %d leases: %w", <-force.Done, ctx.Err())
	}
	p.cancel() // dials in flight give up
	shut := &proto.Shutdown{Done: make(chan struct{})}
	p.root.Send(p.broker, shut)
	<-shut.Done
	p.stopCommands()
	p.root.ActorSystem().EventStream.Unsubscribe(p.deadLetters)
	if p.tel != nil && p.tel.metrics != nil {
		p.tel.metrics.stop()
	}
	if p.ownSys != nil {
		p.ownSys.Shutdown()
	}
	return err
}
