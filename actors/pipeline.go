package actors

// The connection actor's side of command mode: it writes the work queued
// for its connection as one batch, answers each caller, and gives the
// connection back when the dispatcher closes the queue.

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/internal/cmdq"
	"github.com/actorpool/actorpool/internal/proto"
)

// CommandMode is shared, read-only, by the connection actors of a pool
// whose backend runs batches (backends.Pipeliner).
type CommandMode[C any] struct {
	// Pipeline writes work as one batch on conn and reads every reply into
	// it; an error means conn is no longer usable.
	Pipeline func(ctx context.Context, conn C, work []any) error
	// Split is the backend's when it is a backends.Duplexer: the
	// connection is then written and read by a pump, and Pipeline is not
	// used.
	Split func(conn C) (backends.Duplex, error)
	Set   *cmdq.Set
	// A batch holds at most MaxBatch ops and, past its first op,
	// MaxBatchBytes bytes.
	MaxBatch, MaxBatchBytes int
}

// drain is sent by everything that wants a batch written.
var drain = &proto.Drain{}

// newQueue gives a new connection its command queue: pokes reach this
// actor, and writes go through the backend's Pipeline on conn; or, for a
// Duplexer, pokes wake the connection's pump, which writes and reads.
func (a *connection[C]) newQueue(ctx actor.Context, conn C) *cmdq.Queue {
	cm := a.cfg.Commands
	if cm == nil {
		return nil
	}
	root, self := ctx.ActorSystem().Root, ctx.Self()
	if cm.Split != nil {
		p := newPump(a.cfg.Ctx, cm.Set, cm.MaxBatch, cm.MaxBatchBytes)
		p.split = func() (backends.Duplex, error) { return cm.Split(conn) }
		p.ended = func(gen uint64, err error) { root.Send(self, &proto.CommandsEnded{From: p, Gen: gen, Err: err}) }
		p.q = cmdq.NewDuplexQueue(p.poke, cm.Set)
		a.pump = p
		return p.q
	}
	q := cmdq.NewQueue(func() { root.Send(self, drain) }, cm.Set)
	q.Write = func(work []any) error {
		return guard(func() error { return cm.Pipeline(a.cfg.Ctx, conn, work) })
	}
	return q
}

// handleDrain writes the next batch. When work is left behind it drains
// again after the messages already waiting (a Revoke is never held up for
// long) and, if the batch was full, asks for another connection; when the
// dispatcher closed the queue and it is empty, it gives the connection
// back.
func (a *connection[C]) handleDrain(ctx actor.Context) {
	if a.slot == nil || a.slot.Queue == nil {
		return
	}
	cm, q := a.cfg.Commands, a.slot.Queue
	if err := q.Broken(); err != nil {
		a.broken(q, err)
		return
	}
	batch, full := q.Take(a.batch[:0], cm.MaxBatch, cm.MaxBatchBytes)
	if len(batch) == 0 {
		a.endIfClosed(q)
		return
	}
	again, err := a.write(q, batch)
	clear(batch)
	a.batch = batch[:0]
	if err != nil {
		a.broken(q, err)
		return
	}
	if full {
		cm.Set.Grow()
	}
	if again {
		ctx.Send(ctx.Self(), drain)
		return
	}
	a.endIfClosed(q)
}

// commandsEnded handles the pump's word that command mode ended on the
// connection: the lease ends, broken when the connection broke.
func (a *connection[C]) commandsEnded(msg *proto.CommandsEnded) {
	if a.slot == nil || a.slot.Queue == nil || a.pump == nil || msg.From != a.pump {
		return
	}
	if msg.Err == nil {
		_ = a.cfg.Ledger.End(a.slot, msg.Gen, false, nil)
		return
	}
	a.pump.stop()
	a.broken(a.slot.Queue, msg.Err)
}

// endIfClosed gives the connection back once the dispatcher closed its
// queue and the queue is empty.
func (a *connection[C]) endIfClosed(q *cmdq.Queue) {
	if q.Ending() {
		_ = a.cfg.Ledger.End(a.slot, q.Gen(), false, nil)
	}
}

// write writes the ops of batch that are still wanted, records the batch
// as done (q.Written, which says whether work waits), and then finishes
// each op (finish).
func (a *connection[C]) write(q *cmdq.Queue, batch []*cmdq.Op) (again bool, err error) {
	b := &a.buf
	b.claim(batch, a.cfg.Commands.Set.Gone)
	if len(b.work) > 0 {
		err = q.Write(b.work)
		q.Wrote(len(b.work))
	}
	again = q.Written(len(batch))
	if p := b.finish(err); p != nil && err == nil {
		err = p
	}
	return again, err
}

// batchBuf holds a batch's ops between their claim and their answer,
// reused batch after batch.
type batchBuf struct {
	claimed []*cmdq.Op
	skipped []error // why each claimed op is not written; nil: it is
	work    []any   // the work of the ops written, in order
}

// claim takes the ops of batch that are still wanted. An op its caller
// abandoned is dropped: it is never written. An op that is no longer
// wanted (cmdq.Op.Unwanted: its ctx ended, or a message's deadline passed
// or its sender stopped) is claimed but left out of work, to be finished
// with that error.
func (b *batchBuf) claim(batch []*cmdq.Op, gone func(owner any) bool) {
	var clock lazyClock
	for _, o := range batch {
		if !o.Claim() {
			cmdq.Put(o) // its caller gave up before the write
			continue
		}
		why := o.Unwanted(clock.now, gone)
		b.claimed, b.skipped = append(b.claimed, o), append(b.skipped, why)
		if why == nil {
			b.work = append(b.work, o.Work)
		}
	}
}

// finish answers every claimed op: an op left out with its reason, the
// others with err, the backend's error when the connection broke while
// they were in flight (nil: their replies are in). A caller whose ctx ended
// meanwhile has abandoned its op, which is then dropped, its reply unread
// by anyone. The buffers are emptied for the next batch.
//
// A message's op is finished by its Then, which runs code of the pool's
// user: a panic there does not stop the other ops from being answered; the
// first is returned as an error, and the connection is then replaced, as
// for a panic in the backend.
func (b *batchBuf) finish(err error) (panicked error) {
	for i, o := range b.claimed {
		why := err // a caller whose ctx ended meanwhile has abandoned o, or Do reads ctx
		if b.skipped[i] != nil {
			why = b.skipped[i]
		}
		if p := guard(func() error { o.Finish(why); return nil }); p != nil && panicked == nil {
			panicked = p
		}
	}
	clear(b.claimed)
	clear(b.skipped)
	clear(b.work)
	b.claimed, b.skipped, b.work = b.claimed[:0], b.skipped[:0], b.work[:0]
	return panicked
}

// lazyClock reads the clock once, when first asked.
type lazyClock struct{ t time.Time }

func (c *lazyClock) now() time.Time {
	if c.t.IsZero() {
		c.t = time.Now()
	}
	return c.t
}

// broken handles a write that broke the connection: work still queued
// goes to another connection, and the lease ends broken, so that the
// connection is closed and replaced (LeaseEnded follows).
func (a *connection[C]) broken(q *cmdq.Queue, err error) {
	gen := q.Gen()
	a.bounce()
	a.logReplaced("actorpool: command batch failed; replacing connection", err)
	_ = a.cfg.Ledger.End(a.slot, gen, true, fmt.Errorf("command batch: %w", err))
}

// bounce stops the queue and sends its waiting work back to the callers,
// who push it to another connection. Called when the connection breaks or
// the actor stops or restarts, so that no op is left in a queue nobody
// drains.
func (a *connection[C]) bounce() {
	if a.slot == nil || a.slot.Queue == nil {
		return
	}
	a.pump.stop()
	for _, o := range a.slot.Queue.Fail() {
		o.Answer(cmdq.ErrNotWritten)
	}
}
