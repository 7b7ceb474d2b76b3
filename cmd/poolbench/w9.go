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

const w9Intro = "W9: N actors (callers), each in a request → reply loop of GET of 16 bytes; every way runs in every round, in the order of the table; ratios are actorpool-msg's ops/s over the way of the column, round by round, median (min–max). actorpool-msg: *redisbackend.Request to Commands.PID, the Reply in the mailbox; actorpool-blocking: the command client called inside Receive; actorpool-lease-msg: *messages.Acquire by message, the GET on a goroutine that releases the lease and reports back by message."

// runW9 is W9: actors talking to Redis, three ways, on one pool of
// e.cfg.conns connections each.
func runW9(ctx context.Context, e *env, rep *report) error {
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
	if err := rc.Set(ctx, redisKeyNames[0], redisValue, 0).Err(); err != nil {
		return err
	}
	for _, k := range redisKeyNames {
		if err := rc.Set(ctx, k, redisValue, 0).Err(); err != nil {
			return err
		}
	}
	ways := map[string]func(caller int, loop *actorLoop) actor.Actor{
		"actorpool-msg":      func(i int, l *actorLoop) actor.Actor { return &msgActor{loop: l, caller: i, to: rc.PID()} },
		"actorpool-blocking": func(i int, l *actorLoop) actor.Actor { return &blockingActor{loop: l, caller: i, rc: rc} },
		"actorpool-lease-msg": func(i int, l *actorLoop) actor.Actor {
			return &leaseActor{loop: l, caller: i, broker: leasePool.Broker()}
		},
	}
	for _, actors := range e.cfg.actors {
		c := &multiCase{workload: "W9 Redis GET", callers: strconv.Itoa(actors), pools: w9Pools,
			intro: w9Intro, rows: map[string][]summary{}}
		rep.multi = append(rep.multi, c)
		for r := 1; r <= e.cfg.rounds; r++ {
			line := ""
			for _, name := range w9Pools {
				var res result
				before := msgPool.Stats()
				run := func() { res = runActorLoop(ctx, e.sys, actors, e.cfg.warm(), e.cfg.duration, ways[name]) }
				if name != "actorpool-msg" {
					run()
				} else if err := e.prof.round("actorpool", "W9 actorpool-msg actors="+c.callers, run); err != nil {
					return err
				}
				if ctx.Err() != nil {
					return nil
				}
				sum := res.summarise()
				c.rows[name] = append(c.rows[name], sum)
				if name == "actorpool-msg" {
					after := msgPool.Stats()
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

// msgActor sends GET by message and sends the next one when the Reply
// comes.
type msgActor struct {
	loop   *actorLoop
	caller int
	to     *actor.PID
	n      int
	sent   time.Time
}

func (a *msgActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.next(ctx)
	case *redisbackend.Reply:
		a.loop.done(a.caller, a.sent, m.Err)
		a.next(ctx)
	}
}

func (a *msgActor) next(ctx actor.Context) {
	if a.loop.stopped() {
		return
	}
	a.n++
	a.sent = time.Now()
	get := redis.NewStringCmd(context.Background(), "get", redisKey(a.caller, a.n))
	ctx.Request(a.to, &redisbackend.Request{Cmds: []redis.Cmder{get}})
}

// next is the message an actor sends itself for its next request.
type next struct{}

// blockingActor calls the command client inside Receive: its mailbox waits
// for each round trip.
type blockingActor struct {
	loop   *actorLoop
	caller int
	rc     *redisbackend.Commands
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
		err := a.rc.Get(context.Background(), redisKey(a.caller, a.n)).Err()
		a.loop.done(a.caller, start, err)
		ctx.Send(ctx.Self(), &next{})
	}
}

// leaseActor acquires by message; the GET runs on a goroutine that
// releases the lease and reports back by message.
type leaseActor struct {
	loop   *actorLoop
	caller int
	broker *actor.PID
	n      int
	sent   time.Time
}

// leaseDone is the goroutine's report to its leaseActor.
type leaseDone struct{ err error }

func (a *leaseActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.acquire(ctx)
	case *messages.Granted[*redisbackend.Conn]:
		a.n++
		lease, key, root, self := m.Lease, redisKey(a.caller, a.n), ctx.ActorSystem().Root, ctx.Self()
		go func() {
			err := lease.Conn().Get(context.Background(), key).Err()
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

func (a *leaseActor) acquire(ctx actor.Context) {
	if a.loop.stopped() {
		return
	}
	a.sent = time.Now()
	ctx.Request(a.broker, &messages.Acquire{})
}
