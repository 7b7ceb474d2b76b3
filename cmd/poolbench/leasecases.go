package main

import (
	"context"
	"runtime/pprof"
	"strconv"
)

// leaseWorkload is W1 or W2: each operation at each caller count,
// actorpool against its peer, one lease (or one checkout) per operation.
type leaseWorkload struct {
	name, title string // "w1", "W1 Redis "
	peer        string // the peer's pool name
	addr        string // the server: a Redis address or a MariaDB DSN
	ops         []string
	maxCallers  int // 0: every -callers count
	newSide     func(ctx context.Context, e *env, addr, pool string) (func(opName string) op, func(), error)
}

// runLeaseCases runs w's cases, the two sides alternating round by round,
// each round of each side in a child process (runChild) unless
// -inprocess, where both sides are built once for the whole workload.
func (e *env) runLeaseCases(ctx context.Context, rep *report, w leaseWorkload) error {
	sides := map[string]func(string) op{}
	if e.cfg.inProcess {
		for _, pool := range []string{"actorpool", w.peer} {
			mk, closeSide, err := w.newSide(ctx, e, w.addr, pool)
			if err != nil {
				return err
			}
			defer closeSide()
			sides[pool] = mk
		}
	}
	for _, opName := range w.ops {
		for _, callers := range e.cfg.callers {
			if w.maxCallers > 0 && callers > w.maxCallers {
				continue
			}
			c := &caseResult{workload: w.title + opName, callers: strconv.Itoa(callers), kind: throughput, peer: w.peer}
			round := func(pool string) roundFunc {
				return func(ctx context.Context) (result, error) {
					if !e.cfg.inProcess {
						res, err := runChild(ctx, e, childSpec{Workload: w.name, Pool: pool, Op: opName, Callers: callers, Addr: w.addr})
						return result{done: res.summary()}, err
					}
					labels := pprof.Labels("workload", w.name, "op", opName, "pool", pool, "callers", c.callers)
					return closedLoop(ctx, callers, e.cfg.warm(), e.cfg.duration, labels, sides[pool](opName)), nil
				}
			}
			if err := e.runCase(ctx, rep, c, round("actorpool"), round(w.peer)); err != nil || ctx.Err() != nil {
				return err
			}
		}
	}
	return nil
}
