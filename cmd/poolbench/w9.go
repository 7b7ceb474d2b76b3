package main

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
	"github.com/actorpool/actorpool/messages"
)

// W9's pools, in the order they run in each round and appear in the report.
var w9Pools = []string{"actorpool-msg", "actorpool-blocking", "actorpool-lease-msg"}

const w9Intro = "W9: N actors (callers), each in a request → reply loop of GET of 16 bytes (Redis) or a primary-key point select (MySQL); every way runs in every round, in the order of the table; ratios are actorpool-msg's ops/s over the way of the column, round by round, median (min–max). actorpool-msg: *redisbackend.Request to Commands.PID, the Reply in the mailbox; actorpool-blocking: the command client (Redis) or Pool.With (MySQL) called inside Receive; actorpool-lease-msg: *messages.Acquire by message, the query on a goroutine that releases the lease and reports back by message. MySQL's actorpool-msg is *mysqlbackend.Query to Requests.PID."

// runW9 is W9: actors talking to Redis, then to MySQL, three ways each.
func runW9(ctx context.Context, e *env, rep *report) error {
	if err := runW9Redis(ctx, e, rep); err != nil || ctx.Err() != nil {
		return err
	}
	return runW9MySQL(ctx, e, rep)
}

// runW9Redis is W9 on Redis, on pools of e.cfg.conns connections.
func runW9Redis(ctx context.Context, e *env, rep *report) error {
	addr := e.srv.redis.Addr()
	be := func() *redisbackend.Backend { return redisbackend.New(redisbackend.Options{Addr: addr}) }
	msgPool, err := actorpool.New(e.sys, be(), actorpool.Config{MaxConns: e.cfg.conns, Logger: e.discard})
	if err != nil {
		return err
	}
	defer closePool(msgPool)
	rc := redisbackend.NewCommands(msgPool)
	leasePool, err := startPool(ctx, e, be(), actorpool.Config{})
	if err != nil {
		return err
	}
	defer closePool(leasePool)
	for _, k := range redisKeyNames {
		if err := rc.Set(ctx, k, redisValue, 0).Err(); err != nil {
			return err
		}
	}
	get := func(caller, n int) any {
		return &redisbackend.Request{Cmds: []redis.Cmder{redis.NewStringCmd(context.Background(), "get", redisKey(caller, n))}}
	}
	replyErr := func(msg any) (error, bool) {
		r, ok := msg.(*redisbackend.Reply)
		if !ok {
			return nil, false
		}
		return r.Err, true
	}
	ways := w9Ways{
		"actorpool-msg": func(i int, l *actorLoop) actor.Actor {
			return &msgActor{loop: l, caller: i, to: rc.PID(), build: get, errOf: replyErr}
		},
		"actorpool-blocking": func(i int, l *actorLoop) actor.Actor {
			return &blockingActor{loop: l, caller: i, call: func(caller, n int) error {
				return rc.Get(context.Background(), redisKey(caller, n)).Err()
			}}
		},
		"actorpool-lease-msg": func(i int, l *actorLoop) actor.Actor {
			return &leaseActor[*redisbackend.Conn]{loop: l, caller: i, broker: leasePool.Broker(),
				use: func(c *redisbackend.Conn, caller, n int) error {
					return c.Get(context.Background(), redisKey(caller, n)).Err()
				}}
		},
	}
	return runW9Ways(ctx, e, rep, "W9 Redis GET", ways, msgPool.Stats)
}

// w9Ways makes each way's actor for caller i of a round.
type w9Ways map[string]func(caller int, loop *actorLoop) actor.Actor

// runW9Ways runs every way in every round, for each count of actors;
// stats reads the pool of actorpool-msg.
func runW9Ways(ctx context.Context, e *env, rep *report, workload string, ways w9Ways, stats func() actorpool.Stats) error {
	for _, actors := range e.cfg.actors {
		c := &multiCase{workload: workload, callers: strconv.Itoa(actors), pools: w9Pools,
			intro: w9Intro, rows: map[string][]summary{}}
		rep.multi = append(rep.multi, c)
		for r := 1; r <= e.cfg.rounds; r++ {
			line := ""
			for _, name := range w9Pools {
				var res result
				before := stats()
				run := func() { res = runActorLoop(ctx, e.sys, actors, e.cfg.warm(), e.cfg.duration, ways[name]) }
				if name != "actorpool-msg" {
					run()
				} else if err := e.prof.round("actorpool", workload+" actorpool-msg actors="+c.callers, run); err != nil {
					return err
				}
				if ctx.Err() != nil {
					return nil
				}
				sum := res.summarise()
				c.rows[name] = append(c.rows[name], sum)
				if name == "actorpool-msg" {
					after := stats()
					c.conns = append(c.conns, float64(after.CommandConns()))
					if b := after.Batches() - before.Batches(); b > 0 {
						c.batch = append(c.batch, float64(after.Commands()-before.Commands())/float64(b))
					}
				}
				line += fmt.Sprintf(" | %s %.0f ops/s p99 %s", name, sum.opsPerSec, fmtDur(float64(sum.p99)))
			}
			fmt.Fprintf(e.log, "%s actors=%s round %d/%d:%s\n", c.workload, c.callers, r, e.cfg.rounds, line)
		}
	}
	return nil
}

// actorLoop is one round of W9: the phase every actor reads, and one
// recorder per actor, written only by that actor's Receive.
type actorLoop struct {
	phase atomic.Int32
	recs  []recorder
}

// done records one finished request of caller, sent at start.
func (l *actorLoop) done(caller int, start time.Time, err error) {
	if l.phase.Load() != phaseMeasure {
		return
	}
	rec := &l.recs[caller]
	if err != nil {
		rec.errs++
		return
	}
	rec.ops++
	record(rec.lat, time.Since(start))
}

func (l *actorLoop) stopped() bool { return l.phase.Load() == phaseStop }

// runActorLoop spawns actors made by mk, lets them run for warm then
// window, stops them and merges what they recorded.
func runActorLoop(ctx context.Context, sys *actor.ActorSystem, actors int, warm, window time.Duration, mk func(int, *actorLoop) actor.Actor) result {
	l := &actorLoop{recs: make([]recorder, actors)}
	pids := make([]*actor.PID, actors)
	for i := range actors {
		l.recs[i].lat = getHist()
		pids[i] = sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return mk(i, l) }))
	}
	sleepCtx(ctx, warm)
	l.phase.Store(phaseMeasure)
	start := time.Now()
	sleepCtx(ctx, window)
	l.phase.Store(phaseStop)
	elapsed := time.Since(start)
	for _, pid := range pids {
		_ = sys.Root.StopFuture(pid).Wait() // its Receive is done with its recorder
	}
	return mergeRecorders(l.recs, elapsed)
}

// msgActor sends a request by message (build) and the next one when the
// answer comes (errOf recognises it and reads its error).
type msgActor struct {
	loop   *actorLoop
	caller int
	to     *actor.PID
	build  func(caller, n int) any
	errOf  func(msg any) (error, bool)
	n      int
	sent   time.Time
}

func (a *msgActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		a.next(ctx)
		return
	}
	if err, ok := a.errOf(ctx.Message()); ok {
		a.loop.done(a.caller, a.sent, err)
		a.next(ctx)
	}
}

func (a *msgActor) next(ctx actor.Context) {
	if a.loop.stopped() {
		return
	}
	a.n++
	a.sent = time.Now()
	ctx.Request(a.to, a.build(a.caller, a.n))
}

// next is the message an actor sends itself for its next request.
type next struct{}

// blockingActor makes a blocking call inside Receive: its mailbox waits
// for each round trip.
type blockingActor struct {
	loop   *actorLoop
	caller int
	call   func(caller, n int) error
	n      int
}

func (a *blockingActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started, *next:
		if a.loop.stopped() {
			return
		}
		a.n++
		start := time.Now()
		err := a.call(a.caller, a.n)
		a.loop.done(a.caller, start, err)
		ctx.Send(ctx.Self(), &next{})
	}
}

// leaseActor acquires by message; use runs on a goroutine that releases the
// lease and reports back by message.
type leaseActor[C any] struct {
	loop   *actorLoop
	caller int
	broker *actor.PID
	use    func(conn C, caller, n int) error
	n      int
	sent   time.Time
}

// leaseDone is the goroutine's report to its leaseActor.
type leaseDone struct{ err error }

func (a *leaseActor[C]) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.acquire(ctx)
	case *messages.Granted[C]:
		a.n++
		lease, n, root, self := m.Lease, a.n, ctx.ActorSystem().Root, ctx.Self()
		go func() {
			err := a.use(lease.Conn(), a.caller, n)
			if rerr := lease.Release(); err == nil {
				err = rerr
			}
			root.Send(self, &leaseDone{err: err})
		}()
	case *messages.AcquireFailed:
		a.loop.done(a.caller, a.sent, m.Err)
		a.acquire(ctx)
	case *leaseDone:
		a.loop.done(a.caller, a.sent, m.err)
		a.acquire(ctx)
	}
}

func (a *leaseActor[C]) acquire(ctx actor.Context) {
	if a.loop.stopped() {
		return
	}
	a.sent = time.Now()
	ctx.Request(a.broker, &messages.Acquire{})
}
