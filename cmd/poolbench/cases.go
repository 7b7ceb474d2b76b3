package main

import (
	"context"
	"fmt"
	"strings"
)

// roundFunc runs one round of one pool.
type roundFunc func(ctx context.Context) (result, error)

// runCase runs c's rounds, actorpool (a) and its peer (b) alternating: a b
// a b ... Each round's numbers go into c, which is added to the report
// first, so that an interrupted run still prints what it measured.
func (e *env) runCase(ctx context.Context, rep *report, c *caseResult, a, b roundFunc) error {
	rep.cases = append(rep.cases, c)
	for r := 1; r <= e.cfg.rounds; r++ {
		var line []string
		for _, side := range []struct {
			pool, name string
			fn         roundFunc
			into       *[]summary
		}{{"actorpool", "actorpool", a, &c.a}, {"peer", c.peer, b, &c.b}} {
			if !e.cfg.runs(side.pool) {
				continue
			}
			var res result
			var err error
			what := fmt.Sprintf("%s callers=%s round %d", c.workload, c.callers, r)
			perr := e.prof.round(side.pool, what, func() { res, err = side.fn(ctx) })
			if err != nil {
				return fmt.Errorf("%s, %s: %w", what, side.name, err)
			}
			if perr != nil {
				return perr
			}
			if ctx.Err() != nil {
				return nil // an interrupted round is not kept
			}
			s := res.summarise()
			*side.into = append(*side.into, s)
			line = append(line, fmt.Sprintf("%s %.0f ops/s p50 %s p99 %s errs %d",
				side.name, s.opsPerSec, fmtDur(float64(s.p50)), fmtDur(float64(s.p99)), s.errs))
		}
		fmt.Fprintf(e.log, "%s callers=%s round %d/%d: %s\n", c.workload, c.callers, r, e.cfg.rounds, strings.Join(line, " | "))
	}
	return nil
}
