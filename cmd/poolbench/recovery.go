package main

// This file is workload W4, recovery: its parameters, runW4, and one round
// (recoveryRound) that kills the server under load, restarts it and times
// the failures and the first success. The pools under test are built in
// recovery_sides.go; the actorpool broker's dial log is read in
// diallog.go.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// W4 parameters.
const (
	w4Callers    = 32
	w4OpTimeout  = 2 * time.Second        // ctx of each call
	w4Outage     = time.Second            // the server stays down at least this long
	w4Detect     = 10 * time.Second       // longest wait for the first failure
	w4Recover    = 30 * time.Second       // longest wait for the first success after restart
	w4Settle     = 300 * time.Millisecond // load before the kill, and after recovery
	w4Pause      = time.Millisecond       // a caller's pause after a failed call
	w4BackoffMin = 100 * time.Millisecond // actorpool's BackoffMin (its default)
)

// target is a server that W4 kills and restarts.
type target struct {
	name    string
	kill    func() error
	restart func(ctx context.Context) error
}

// side is one pool under W4: call makes one call (fastFail says the error
// is actorpool's ErrBackendUnavailable); inUse, asked once the load has
// stopped and settled, counts connections still out.
type side struct {
	call  func(ctx context.Context) (fastFail bool, err error)
	inUse func() int
	// acquired and ended count actorpool leases: granted, and ended
	// (Release or MarkBroken returned nil). nil for the peer.
	acquired, ended *atomic.Int64
	// dials records the actorpool broker's dial log; nil for the peer.
	dials *dialLog
	close func()
}

// runW4 is W4: kill the server under load and start it again. Every round
// uses a fresh pool (actorpool) or client (peer), and kills and restarts
// the server once.
func runW4(ctx context.Context, e *env, rep *report) error {
	type w4Target struct {
		target
		peer           string
		pool, peerSide func(context.Context, *env) (*side, error)
	}
	var targets []w4Target
	if rs := e.srv.redis; rs != nil {
		targets = append(targets, w4Target{target{"Redis", rs.Kill, func(context.Context) error { return rs.Restart() }},
			"go-redis", redisPoolSide, goRedisSide})
	}
	if ms := e.srv.maria; ms != nil {
		targets = append(targets, w4Target{target{"MariaDB", ms.Kill, ms.Restart}, "database/sql", mysqlPoolSide, sqlDBSide})
	}
	for _, w := range targets {
		round := func(newSide func(context.Context, *env) (*side, error), isPool bool) roundFunc {
			return func(ctx context.Context) (result, error) {
				s, err := newSide(ctx, e)
				if err != nil {
					return result{}, err
				}
				return recoveryRound(ctx, w.target, s, isPool)
			}
		}
		c := &caseResult{workload: "W4 " + w.name + " kill+restart", callers: fmt.Sprint(w4Callers), kind: recovery, peer: w.peer}
		if err := e.runCase(ctx, rep, c, round(w.pool, true), round(w.peerSide, false)); err != nil || ctx.Err() != nil {
			return err
		}
	}
	rep.notes = append(rep.notes, fmt.Sprintf(
		"W4: %d callers loop on one call each (ctx %s, %s pause after a failure); the server is killed (SIGKILL) after %s of load and restarted once the first failure is seen and at least %s passed. "+
			"Times are from the kill, and from the moment the restarted server answered the harness's probe. "+
			"actorpool uses the default BackoffMin/BackoffMax (100ms/5s); while callers are failed fast its probe redials BackoffMin after each failure, so its first lease after the restart waits up to one BackoffMin; "+
			"the peers dial on demand (go-redis with its default 3 retries). "+
			"Backoff step at restart (actorpool): the delay of the broker's last \"dial failed\" Debug record before the restart, its retry_in or BackoffMin when shorter; "+
			"redial due: when the redial it scheduled was due, from the restart; dial: from the redial that succeeded to the \"backend reachable again\" record; the target is first success ≤ step + dial. "+
			"Leases lost: acquired minus ended (Release/MarkBroken that returned nil), counted by the callers; in use after: connections still out once the load stopped (Stats().Leased(), go-redis PoolStats, DB.Stats().InUse).",
		w4Callers, w4OpTimeout, w4Pause, w4Settle, w4Outage))
	return nil
}

// recoveryRound runs one W4 round on s. It returns the failed calls'
// latencies (between the kill and the restart) as the histogram, and in
// extra, in milliseconds: firstErr (first failed call after the kill),
// firstFast (first ErrBackendUnavailable; actorpool only), recover (first
// successful call after the restart); and lost and inUse. For actorpool
// also step, due, dial (see dialLog.atRestart) and inStep (withinStep).
func recoveryRound(ctx context.Context, t target, s *side, isPool bool) (result, error) {
	defer s.close()
	var (
		killedAt, restartedAt        atomic.Int64 // UnixNano; 0 until then
		firstErr, firstFast, firstOK atomic.Int64 // UnixNano; 0 until seen
		okBefore                     atomic.Int64
		stop                         atomic.Bool
		wg                           sync.WaitGroup
		mu                           sync.Mutex
		failLat                      = getHist()
		failed                       atomic.Int64
	)
	labels := pprof.Labels("workload", "w4", "target", t.name)
	for range w4Callers {
		wg.Go(func() {
			pprof.Do(ctx, labels, func(ctx context.Context) {
				for !stop.Load() && ctx.Err() == nil {
					cctx, cancel := context.WithTimeout(ctx, w4OpTimeout)
					start := time.Now()
					fast, err := s.call(cctx)
					end := time.Now()
					cancel()
					now := end.UnixNano()
					if err == nil {
						if r := restartedAt.Load(); r != 0 && now >= r {
							firstOK.CompareAndSwap(0, now)
						} else if killedAt.Load() == 0 {
							okBefore.Add(1)
						}
						continue
					}
					if k := killedAt.Load(); k != 0 && restartedAt.Load() == 0 {
						firstErr.CompareAndSwap(0, now)
						if fast {
							firstFast.CompareAndSwap(0, now)
						}
						failed.Add(1)
						mu.Lock()
						record(failLat, end.Sub(start))
						mu.Unlock()
					}
					time.Sleep(w4Pause)
				}
			})
		})
	}
	finish := func() {
		stop.Store(true)
		wg.Wait()
	}

	// Load, then kill.
	sleepCtx(ctx, w4Settle)
	if okBefore.Load() == 0 {
		finish()
		return result{}, errors.New("no successful call before the kill")
	}
	killedAt.Store(time.Now().UnixNano())
	if err := t.kill(); err != nil {
		finish()
		return result{}, fmt.Errorf("kill %s: %w", t.name, err)
	}
	detected := func() bool {
		if isPool {
			return firstFast.Load() != 0
		}
		return firstErr.Load() != 0
	}
	waitFor(ctx, w4Detect, detected)
	if d := time.Until(time.Unix(0, killedAt.Load()).Add(w4Outage)); d > 0 {
		sleepCtx(ctx, d)
	}

	// Restart, then wait for the first success.
	if err := t.restart(ctx); err != nil {
		finish()
		return result{}, fmt.Errorf("restart %s: %w", t.name, err)
	}
	restartedAt.Store(time.Now().UnixNano())
	waitFor(ctx, w4Recover, func() bool { return firstOK.Load() != 0 })
	sleepCtx(ctx, w4Settle)
	finish()

	// Settle: every lease should be back.
	inUse := 0
	waitFor(ctx, 3*time.Second, func() bool { inUse = s.inUse(); return inUse == 0 })

	ms := func(v, from int64) float64 {
		if v != 0 {
			return float64(v-from) / 1e6
		}
		return math.NaN()
	}
	k, r := killedAt.Load(), restartedAt.Load()
	extra := map[string]float64{
		"firstErr": ms(firstErr.Load(), k),
		"recover":  ms(firstOK.Load(), r),
		"inUse":    float64(inUse),
	}
	if isPool {
		extra["firstFast"] = ms(firstFast.Load(), k)
		extra["lost"] = float64(s.acquired.Load() - s.ended.Load())
		step, due, dial := s.dials.atRestart(time.Unix(0, r))
		extra["step"], extra["due"], extra["dial"] = step, due, dial
		extra["inStep"] = withinStep(extra["recover"], step, dial)
	}
	return result{errs: failed.Load(), lat: failLat, extra: extra}, nil
}

// withinStep is 1 when the first success after the restart came within
// one backoff step plus the dial (all in ms), 0 when not or never, NaN when
// the step or the dial is unknown.
func withinStep(recover, step, dial float64) float64 {
	switch {
	case math.IsNaN(step) || math.IsNaN(dial):
		return math.NaN()
	case recover <= step+dial: // false for a NaN recover
		return 1
	}
	return 0
}

// waitFor polls cond every millisecond until it holds, d passes or ctx
// ends.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
