package actors

// The command dispatcher decides how many connections command mode uses,
// and which: it leases one when callers find no queue, adds one while
// batches stay deep, and gives one back when the others keep up, when it
// sits idle, or when it reaches its lifetime. It alone publishes the set
// of queues that callers push to (cmdq.Set); the connection actors write
// the batches.
//
// Command mode's connections are leases under the pool's limits like any
// other (see limit): it never holds more than MaxConns, gives back those
// above a lowered MaxConns (their queued work is written first), holds
// none while MaxConns is 0, and holds one at most while lease callers
// wait in the pool's line.

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/internal/cmdq"
	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// DispatcherConfig is read-only after spawn.
type DispatcherConfig[C any] struct {
	Broker *actor.PID
	Ledger *ledger.Ledger[C]
	Set    *cmdq.Set
	// Acquire builds the acquire message sent to the broker (wait at most
	// timeout; 0: the pool's AcquireTimeout).
	Acquire func(timeout time.Duration) any
	// AsGranted and AsFailed read the broker's answers.
	AsGranted func(msg any) (*ledger.Slot[C], uint64, bool)
	AsFailed  func(msg any) (error, bool)
	// Tick is how often the queues are looked at; a queue that took no
	// work for IdleTicks ticks in a row is given back.
	Tick      time.Duration
	IdleTicks int
	// GrowWait bounds the wait for one more connection while others serve.
	GrowWait time.Duration
	// One: command mode serves from one connection at a time (a
	// Duplexer's, which keeps batches in flight): so every caller's
	// commands reach the server in the order sent, even one it left in
	// flight before sending the next.
	One bool
}

type dispatcher[C any] struct {
	cfg     *DispatcherConfig[C]
	queues  []*cmdq.Queue
	idle    map[*cmdq.Queue]int // ticks in a row without work
	asking  bool
	ticking bool
	timer   *time.Timer
	parked  []*cmdq.Op // messages' ops waiting for a queue (parked.go)
}

// SpawnDispatcher starts the command dispatcher of a pool.
func SpawnDispatcher[C any](root *actor.RootContext, cfg *DispatcherConfig[C]) *actor.PID {
	return root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &dispatcher[C]{cfg: cfg, idle: map[*cmdq.Queue]int{}}
	}))
}

func (d *dispatcher[C]) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *proto.Grow:
		d.grow(ctx)
	case *proto.Park:
		d.park(ctx, msg.Op)
	case *proto.CommandTick:
		d.ticking = false
		d.tick(ctx) // its publish also answers parked ops past their deadline
	case *proto.LimitsChanged:
		if d.trim() {
			d.publish(nil)
		}
	case *proto.CloseCommands:
		d.close()
		close(msg.Done)
	case *actor.Stopping:
		if d.timer != nil {
			d.timer.Stop()
		}
	default:
		if s, gen, ok := d.cfg.AsGranted(msg); ok {
			d.granted(ctx, s, gen)
		} else if err, ok := d.cfg.AsFailed(msg); ok {
			d.asking = false
			d.cfg.Set.Answered()
			d.publish(err)
		}
	}
}

// grow asks the broker for one more connection, unless one is on its way
// or command mode already uses MaxConns of them.
func (d *dispatcher[C]) grow(ctx actor.Context) {
	if d.asking {
		return
	}
	before := len(d.queues)
	d.prune()
	// With no queue it asks even at MaxConns 0: its request waits in the
	// pool's line as an Acquire would.
	if d.closed() || (len(d.queues) > 0 && len(d.queues) >= d.limit()) {
		d.cfg.Set.Answered()
		if len(d.queues) != before {
			d.publish(nil)
		}
		return
	}
	d.asking = true
	wait := time.Duration(0) // nobody is served: wait as an Acquire would
	if len(d.queues) > 0 {
		wait = d.cfg.GrowWait
	}
	ctx.Request(d.cfg.Broker, d.cfg.Acquire(wait))
}

// granted puts a leased connection into command mode.
func (d *dispatcher[C]) granted(ctx actor.Context, s *ledger.Slot[C], gen uint64) {
	d.asking = false
	d.cfg.Set.Answered()
	full := len(d.queues) > 0 && len(d.queues) >= d.limit()
	if d.closed() || full || s.Queue == nil || !d.cfg.Ledger.ServeCommands(s, gen) {
		_ = d.cfg.Ledger.End(s, gen, false, nil)
		d.publish(nil) // callers waiting for a queue look again
		return
	}
	s.Queue.Open(gen)
	d.prune()
	d.queues = append(d.queues, s.Queue)
	d.idle[s.Queue] = 0
	d.publish(nil)
	d.schedule(ctx)
}

// tick gives back queues past their lifetime or idle too long, and one
// queue when no batch left work behind since the last tick: the others
// keep up without it.
func (d *dispatcher[C]) tick(ctx actor.Context) {
	d.prune()
	kept := d.queues[:0]
	deep := false
	for _, q := range d.queues {
		taken, deepBatches := q.Sample()
		deep = deep || deepBatches > 0
		if taken == 0 {
			d.idle[q]++
		} else {
			d.idle[q] = 0
		}
		if d.idle[q] >= d.cfg.IdleTicks || (q.Expires != nil && q.Expires()) {
			d.giveBack(q)
			continue
		}
		kept = append(kept, q)
	}
	d.queues = kept
	if !d.trim() && !deep && len(d.queues) > 1 {
		last := d.queues[len(d.queues)-1]
		d.queues = d.queues[:len(d.queues)-1]
		d.giveBack(last)
	}
	d.publish(nil)
	d.schedule(ctx)
}

// limit is how many connections command mode may hold now: MaxConns, or
// one while lease callers wait in the pool's line (Counts.Waiting leaves
// the dispatcher's own request out), or always one with One.
func (d *dispatcher[C]) limit() int {
	c := d.cfg.Ledger.Counts()
	if c.Waiting > 0 || d.cfg.One {
		return min(c.Max, 1)
	}
	return c.Max
}

// trim gives back the newest queues above limit; it reports whether it
// gave any back.
func (d *dispatcher[C]) trim() bool {
	d.prune()
	n := d.limit()
	if len(d.queues) <= n {
		return false
	}
	for _, q := range d.queues[n:] {
		d.giveBack(q)
	}
	clear(d.queues[n:])
	d.queues = d.queues[:n]
	return true
}

// closed reports that the pool is closing (the ledger's flag).
func (d *dispatcher[C]) closed() bool { return d.cfg.Ledger.IsClosed() }

// giveBack closes q: its actor writes what is queued, then ends the lease.
func (d *dispatcher[C]) giveBack(q *cmdq.Queue) {
	delete(d.idle, q)
	q.Close()
}

// prune drops queues that stopped taking work on their own (a broken
// connection, a restarted actor).
func (d *dispatcher[C]) prune() {
	kept := d.queues[:0]
	for _, q := range d.queues {
		if q.Live() {
			kept = append(kept, q)
		} else {
			delete(d.idle, q)
		}
	}
	clear(d.queues[len(kept):])
	d.queues = kept
}

// close stops command mode: every queue is closed and the set says so.
func (d *dispatcher[C]) close() {
	for _, q := range d.queues {
		d.giveBack(q)
	}
	d.queues = nil
	d.cfg.Set.Publish(nil, nil, true)
	d.closeParked()
}

// publish shows callers the queues that take work now; err is why the
// last request for a connection failed.
func (d *dispatcher[C]) publish(err error) {
	if d.closed() {
		return
	}
	d.cfg.Set.Publish(append([]*cmdq.Queue(nil), d.queues...), err, false)
	d.placeParked(err)
}

// schedule arms the next tick while command mode holds connections or
// messages' ops wait for one.
func (d *dispatcher[C]) schedule(ctx actor.Context) {
	if len(d.queues) == 0 && len(d.parked) == 0 {
		return
	}
	d.scheduleTick(ctx)
}

// scheduleTick arms the next tick unless one is armed.
func (d *dispatcher[C]) scheduleTick(ctx actor.Context) {
	if d.ticking || d.closed() {
		return
	}
	d.ticking = true
	root, self := ctx.ActorSystem().Root, ctx.Self()
	d.timer = time.AfterFunc(d.cfg.Tick, func() { root.Send(self, &proto.CommandTick{}) })
}
