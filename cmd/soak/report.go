package main

// This file writes the run's table: operations, errors by kind, faults
// applied and the recovery after each, the violations seen.

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// report writes the table: operations by workload, errors by kind with
// the first of each, faults applied with the recovery after each, and
// the violations seen.
func report(out io.Writer, cfg config, took time.Duration, t *tally, ps *pools, seen [2]serverCount) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(out, "soak: %s of mixed load under faults (each held %s), through toxiproxy v2.12.0\n\n",
		took.Round(time.Second), cfg.hold)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tok\t")
	for _, k := range sorted(t.ops) {
		fmt.Fprintf(tw, "%s\t%d\t\n", k, t.ops[k])
	}
	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintln(tw, "error kind\tcount\tfirst seen\t")
	for _, k := range sorted(t.errs) {
		fmt.Fprintf(tw, "%s\t%d\t%.70s\t\n", k, t.errs[k], t.sample[k])
	}
	_ = tw.Flush()

	fmt.Fprintf(out, "\nfaults applied: %d\n", len(t.applied))
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "fault / server\tapplied\trecovered\trecovery p50\tp99\tmax\t")
	applied := map[string]int{}
	for _, f := range t.applied {
		applied[f]++
	}
	for _, k := range sorted(applied) {
		rs := slices.Clone(t.faults[k])
		slices.Sort(rs)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t\n", k, applied[k], len(rs), pct(rs, 50), pct(rs, 99), pct(rs, 100))
	}
	_ = tw.Flush()

	fmt.Fprintln(out)
	for target, c := range seen {
		fmt.Fprintf(out, "%s server: at most %d of the pools' connections (MaxConns then %d); above the MaxConns of the instant in %d of %d samples (connections retiring after SetLimits lowered it, or closing)\n",
			targetNames[target], c.most, c.mostMax, c.aboveMax, c.samples)
	}
	fmt.Fprintf(out, "leases: %d granted, %d ended\n", t.acquired.Load(), t.ended.Load())
	stalled, longest := t.stalls.summary()
	fmt.Fprintf(out, "process stalled %s in all, %s at most at once; an Acquire may return after its timeout + the stall meanwhile + %s\n",
		stalled.Round(time.Millisecond), longest.Round(time.Millisecond), margin)
	fmt.Fprintf(out, "late Acquires: the latest %s; %d more than %s late, within the stall; the latest beyond the stall %s\n",
		t.mostLate, t.excused.Load(), margin, t.mostBeyond)
	stats := ps.stats()
	for _, name := range sorted(stats) {
		s := stats[name]
		fmt.Fprintf(out, "%s: acquired %d, timeouts %d, failed fast %d, dials %d (%d failed), broken %d, revoked %d, reclaimed %d, circuit opened %d\n",
			name, s.Acquired(), s.Timeouts(), s.FailedFast(), s.Dials(), s.DialErrors(), s.Broken(), s.Revoked(), s.Reclaimed(), s.CircuitOpens())
	}
	if len(t.first) > 0 {
		fmt.Fprintln(out, "\nviolations (the first ones):")
		for _, v := range t.first {
			fmt.Fprintln(out, "  "+v)
		}
	}
	fmt.Fprintln(out)
}

// pct is the p-th percentile of sorted rs, "-" when empty.
func pct(rs []time.Duration, p int) string {
	if len(rs) == 0 {
		return "-"
	}
	i := min(len(rs)-1, (len(rs)*p+99)/100-1)
	return rs[max(i, 0)].Round(100 * time.Microsecond).String()
}
