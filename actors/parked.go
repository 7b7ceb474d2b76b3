package actors

// The dispatcher's side of commands sent by message (cmdq.Op with Then):
// an op that found no queue taking work is parked here, without blocking
// its sender, until a queue takes it, its deadline passes, the pool fails
// to get a connection, or the pool closes.

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/cmdq"
	"github.com/actorpool/actorpool/internal/ledger"
)

// park takes a message's op that found no queue: it goes to a queue at
// once if one took work meanwhile, else waits here while the dispatcher
// asks for a connection.
func (d *dispatcher[C]) park(ctx actor.Context, o *cmdq.Op) {
	if d.place(o) {
		return
	}
	d.parked = append(d.parked, o)
	d.grow(ctx)
	d.scheduleTick(ctx)
}

// place pushes o to the queue with the least work, or answers it when the
// pool is closing; false: no queue takes work.
func (d *dispatcher[C]) place(o *cmdq.Op) bool {
	if d.closed() {
		o.Answer(ledger.ErrPoolClosed)
		return true
	}
	_, pushed := d.cfg.Set.Place(o)
	return pushed
}

// placeParked runs after each publish, the dispatcher's tick included:
// parked ops no longer wanted (their deadline passed, their sender
// stopped: cmdq.Op.Unwanted) are answered, the others go to the queues now
// taking work. When none does and err says why the last request for a
// connection failed, the ops are answered with it; a timeout only answers
// those whose own deadline has passed (the others wait for the next
// request, as Do's callers do).
func (d *dispatcher[C]) placeParked(err error) {
	if len(d.parked) == 0 {
		return
	}
	now := time.Now()
	clock := func() time.Time { return now }
	kept := d.parked[:0]
	for _, o := range d.parked {
		switch why := o.Unwanted(clock, d.cfg.Set.Gone); {
		case why != nil:
			o.Answer(why)
		case d.place(o):
		case err != nil && (!errors.Is(err, ledger.ErrAcquireTimeout) || !now.Before(o.Deadline)):
			o.Answer(err)
		default:
			kept = append(kept, o)
		}
	}
	clear(d.parked[len(kept):])
	d.parked = kept
	if len(d.parked) > 0 {
		d.cfg.Set.Grow()
	}
}

// closeParked answers every parked op with ErrPoolClosed.
func (d *dispatcher[C]) closeParked() {
	for _, o := range d.parked {
		o.Answer(ledger.ErrPoolClosed)
	}
	d.parked = nil
}
