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

// answer finishes a parked op with err (its Then answers the message).
func answer(o *cmdq.Op, err error) {
	if o.Claim() {
		o.Finish(err)
	}
}

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
		answer(o, ledger.ErrPoolClosed)
		return true
	}
	for {
		q := d.cfg.Set.View().Pick()
		if q == nil {
			return false
		}
		if q.Push(o) {
			return true
		}
	}
}

// placeParked runs after each publish: parked ops go to the queues now
// taking work. When none does and err says why the last request for a
// connection failed, the ops are answered with it; a timeout only answers
// those whose own deadline has passed (the others wait for the next
// request, as Do's callers do).
func (d *dispatcher[C]) placeParked(err error) {
	if len(d.parked) == 0 {
		return
	}
	now := time.Now()
	kept := d.parked[:0]
	for _, o := range d.parked {
		switch {
		case d.place(o):
		case err != nil && (!errors.Is(err, ledger.ErrAcquireTimeout) || !now.Before(o.Deadline)):
			answer(o, err)
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

// expireParked answers the parked ops whose deadline passed; the
// dispatcher's tick calls it.
func (d *dispatcher[C]) expireParked() {
	now := time.Now()
	kept := d.parked[:0]
	for _, o := range d.parked {
		if !o.Deadline.IsZero() && !now.Before(o.Deadline) {
			answer(o, cmdq.ErrExpired)
			continue
		}
		kept = append(kept, o)
	}
	clear(d.parked[len(kept):])
	d.parked = kept
}

// closeParked answers every parked op with ErrPoolClosed.
func (d *dispatcher[C]) closeParked() {
	for _, o := range d.parked {
		answer(o, ledger.ErrPoolClosed)
	}
	d.parked = nil
}
