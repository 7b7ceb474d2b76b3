package actorpool

// Command mode: callers hand the pool work instead of leasing a
// connection. Do pushes the work to the queue of the connection with the
// fewest commands outstanding, which writes everything queued as one
// batch: its pump (actors/pump.go) as soon as the last batch is written,
// for a backends.Duplexer; else its actor, once the last round trip is
// over. The command dispatcher (actors/commands.go) decides how many
// connections serve.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/actors"
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/internal/cmdq"
	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// ErrNoCommandMode is returned by Do on a pool whose backend does not
// implement backends.Pipeliner.
var ErrNoCommandMode = errors.New("actorpool: the backend has no command mode (backends.Pipeliner)")

// Command mode's pace: the dispatcher looks at its queues every
// commandTick; a connection that took no work for commandIdleTicks ticks
// goes back to the pool, and growing waits at most growWait for a
// connection while others serve.
const (
	commandTick      = 100 * time.Millisecond
	commandIdleTicks = 10
	growWait         = 100 * time.Millisecond
)

// Do runs work in command mode and returns when it is done: one of the
// pool's connections wrote it in a batch with the work of other callers,
// and the backend (Pipeline, or a Duplexer's Receive) put its replies into
// work. size is roughly the bytes work writes (batches are bounded by
// Config.MaxBatchBytes); 0 when unknown.
//
// Command mode shares MaxConns with leases: it leases the connections it
// uses, as few as keep up, and gives them back when they fall idle.
//
// Commands, Batches and CommandsInFlight in Stats count calls of Do (a
// go-redis Pipelined is one), read without stopping command mode.
//
// Errors: ctx's error as soon as ctx ends, whether work is queued (it is
// then never written) or in flight (its reply is then read and dropped);
// after Do returned ctx's error the pool may still read that reply into
// work, so the caller must leave work alone (redisbackend's Commands hands
// the pool copies of the caller's commands when ctx can end, for that);
// the backend's error when the connection broke while the work was in
// flight on it (the work may have run; it is not retried); ErrPoolClosed
// after Close; while no connection can be had, the errors of Acquire
// (ErrBackendUnavailable when the server is down, ErrAcquireTimeout);
// ErrNoCommandMode when the backend has none. Work that was queued on a
// connection but not written when that connection broke goes to another
// connection, unseen by the caller.
func (p *Pool[C]) Do(ctx context.Context, work any, size int) error {
	if p.cmds == nil {
		return ErrNoCommandMode
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	o := cmdq.Get(ctx, work, size)
	var waitSince time.Time // when Do first found no queue
	for {
		v, pushed := p.cmds.Place(o)
		if !pushed {
			if v.Closed {
				cmdq.Put(o)
				return ErrPoolClosed
			}
			if waitSince.IsZero() {
				waitSince = time.Now()
			}
			if err := p.awaitQueue(ctx, v, waitSince); err != nil {
				cmdq.Put(o)
				return err
			}
			continue
		}
		select {
		case <-o.Done():
		case <-ctx.Done(): // never ready for a ctx that cannot end
			if o.Abandon() {
				return ctx.Err() // o and work are the writer's now: it drops them
			}
			<-o.Done() // answered meanwhile
		}
		err := o.Err()
		unwritten := errors.Is(err, cmdq.ErrNotWritten)
		if unwritten && ctx.Err() == nil {
			o.Requeue()
			continue
		}
		cmdq.Put(o)
		if (err == nil || unwritten) && ctx.Err() != nil {
			return ctx.Err() // it ended as the answer came
		}
		return err
	}
}

// Submit runs work in command mode for an actor, without blocking: it
// returns at once, and done is called once with work and the outcome: on
// the caller's goroutine when the pool is closed or has no command mode,
// else on one of the pool's (a connection actor's or its pump's, or the
// dispatcher's),
// so done must not block. It is Do for a caller that is
// answered by message (redisbackend's Commands.PID uses it): the work is
// never written on the caller's goroutine, and no goroutine is started
// for it.
//
// The outcome is nil once the backend put the replies into work, or the
// errors of Do, with two more: when deadline (zero: the pool's
// AcquireTimeout from now) passes before the work is written, an error
// matching ErrAcquireTimeout; when owner (the sending actor; nil: none)
// has stopped before the work is written, the work is dropped, done is not
// called, and Stats.CommandsDropped counts it. Work in flight when its
// connection breaks gets the backend's error, as with Do; a deadline does
// not cut a round trip short (the backend's own read timeout bounds it).
func (p *Pool[C]) Submit(work any, size int, owner *actor.PID, deadline time.Time, done func(work any, err error)) {
	if p.cmds == nil {
		done(work, ErrNoCommandMode)
		return
	}
	if deadline.IsZero() {
		deadline = time.Now().Add(p.settings.Load().AcquireTimeout)
	}
	o := cmdq.Get(context.Background(), work, size)
	o.Then, o.Reply, o.Deadline = p.then, done, deadline
	if owner != nil {
		o.Owner = owner
	}
	p.push(o)
}

// push hands a message's op to the queue with the least work, or, when
// none takes work, to the dispatcher, which holds it until one does.
func (p *Pool[C]) push(o *cmdq.Op) {
	switch v, pushed := p.cmds.Place(o); {
	case pushed:
	case v.Closed:
		p.submitted(o, ErrPoolClosed)
	default:
		p.root.Send(p.dispatcher, &proto.Park{Op: o})
	}
}

// submitted is the Then of every op from Submit: work that was not
// written because its connection left command mode goes to another one;
// work whose sender stopped is dropped and counted; anything else is
// answered.
func (p *Pool[C]) submitted(o *cmdq.Op, err error) {
	switch {
	case errors.Is(err, cmdq.ErrNotWritten):
		o.Requeue()
		p.push(o)
		return
	case errors.Is(err, cmdq.ErrOwnerGone):
		p.cmds.Dropped.Add(1)
		cmdq.Put(o)
		return
	case errors.Is(err, cmdq.ErrExpired):
		err = errCommandExpired
	}
	work, done := o.Work, o.Reply.(func(any, error))
	cmdq.Put(o)
	done(work, err)
}

// errCommandExpired answers a message's work whose deadline passed before
// it was written.
var errCommandExpired = fmt.Errorf("actorpool: command mode: deadline passed before the command was written: %w", ErrAcquireTimeout)

// awaitQueue asks the dispatcher for a connection and waits for its
// answer: nil when a queue may take work now (or Do should look again),
// or why none will. A timeout counts only once this caller has waited
// AcquireTimeout since it first found no queue: the dispatcher's request
// that timed out may have started before it, or waited less.
func (p *Pool[C]) awaitQueue(ctx context.Context, v *cmdq.View, since time.Time) error {
	p.cmds.Grow()
	select {
	case <-v.Changed:
	case <-ctx.Done():
		return ctx.Err()
	}
	next := p.cmds.View()
	switch {
	case next.Err == nil || next.Pick() != nil:
		return nil
	case errors.Is(next.Err, ErrAcquireTimeout) && time.Since(since) < p.settings.Load().AcquireTimeout:
		return nil
	}
	return next.Err
}

// commandAcquire is the dispatcher's request for one more connection: an
// acquire whose timeout is not a caller's (Stats.Timeouts leaves it out).
type commandAcquire struct{ timeout time.Duration }

// commandMode prepares command mode when the backend has one.
func (p *Pool[C]) commandMode(backend backends.Backend[C]) *actors.CommandMode[C] {
	pl, ok := backend.(backends.Pipeliner[C])
	if !ok {
		return nil
	}
	p.cmds = cmdq.NewSet(func() { p.root.Send(p.dispatcher, &proto.Grow{}) })
	p.then = p.submitted // one method value for every op
	sys := p.root.ActorSystem()
	p.cmds.Gone = func(owner any) bool {
		_, alive := sys.ProcessRegistry.Get(owner.(*actor.PID))
		return !alive
	}
	maxBatch := p.cfg.MaxBatch
	if bl, ok := backend.(backends.BatchLimiter); ok && bl.MaxBatch() > 0 {
		maxBatch = min(maxBatch, bl.MaxBatch())
	}
	cm := &actors.CommandMode[C]{
		Pipeline: pl.Pipeline, Set: p.cmds,
		MaxBatch: maxBatch, MaxBatchBytes: p.cfg.MaxBatchBytes,
	}
	if d, ok := backend.(backends.Duplexer[C]); ok {
		cm.Split = d.Split
	}
	return cm
}

// startCommands spawns the command dispatcher of cm (nil: none), once the
// broker runs.
func (p *Pool[C]) startCommands(cm *actors.CommandMode[C]) {
	if cm == nil {
		return
	}
	p.dispatcher = actors.SpawnDispatcher(p.root, &actors.DispatcherConfig[C]{
		Broker: p.broker, Ledger: p.ledger, Set: p.cmds,
		Acquire: func(timeout time.Duration) any { return &commandAcquire{timeout: timeout} },
		AsGranted: func(msg any) (*ledger.Slot[C], uint64, bool) {
			if g, ok := msg.(*Granted[C]); ok {
				return g.Lease.slot, g.Lease.gen, true
			}
			return nil, 0, false
		},
		AsFailed: func(msg any) (error, bool) {
			if f, ok := msg.(*AcquireFailed); ok {
				return fmt.Errorf("actorpool: command mode found no connection: %w", f.Err), true
			}
			return nil, false
		},
		Tick: commandTick, IdleTicks: commandIdleTicks, GrowWait: growWait,
		One: cm.Split != nil, // batches in flight: one connection keeps callers' order
	})
}

// closeCommands stops command mode at the start of Close: new work fails
// with ErrPoolClosed, queued work is written, and the connections go back.
func (p *Pool[C]) closeCommands() {
	if p.cmds == nil {
		return
	}
	done := make(chan struct{})
	p.root.Send(p.dispatcher, &proto.CloseCommands{Done: done})
	<-done
}

// stopCommands stops the dispatcher at the end of Close.
func (p *Pool[C]) stopCommands() {
	if p.cmds == nil {
		return
	}
	_ = p.root.StopFuture(p.dispatcher).Wait()
}

// commandStats reads command mode's counters for Stats.
func (p *Pool[C]) commandStats() commandStats {
	if p.cmds == nil {
		return commandStats{}
	}
	v := p.cmds.View()
	return commandStats{
		inFlight: v.InFlight(), batches: p.cmds.Batches.Load(), commands: p.cmds.Commands.Load(),
		conns: len(v.Queues), dropped: p.cmds.Dropped.Load(),
	}
}

type commandStats struct {
	inFlight, conns            int
	batches, commands, dropped uint64
}
