package main

// This file writes the summary after the events: the samples, the events
// by kind and how long the members took to settle after each, the samples
// above the budget in full, and what failed.

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report writes the summary; the last line follows it.
func (c *churner[C]) report(res result) {
	out := c.out
	fmt.Fprintf(out, "\nsamples of the server's connections: %d (every %s)\n", res.samples, sampleEvery)
	fmt.Fprintf(out, "most connections seen: %d of a budget of %d\n", res.most, res.budget)
	fmt.Fprintf(out, "samples above the budget: %d\n", res.over)

	took := map[string][]time.Duration{}
	unsettled := map[string]int{}
	for _, ev := range c.events {
		if ev.settled < 0 {
			unsettled[ev.what]++
		} else {
			took[ev.what] = append(took[ev.what], ev.settled)
		}
	}
	var counts []string
	for _, k := range kinds {
		counts = append(counts, fmt.Sprintf("%s %d", k, len(took[k.String()])+unsettled[k.String()]))
	}
	fmt.Fprintf(out, "events: %s\n\n", strings.Join(counts, ", "))

	fmt.Fprintln(out, "settled after (from the event's start, until the next event):")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "event\tsettled\tp50\tp90\tmax\tnot settled\t")
	for _, what := range []string{"start", join.String(), leave.String(), crash.String(), demand.String()} {
		ds := took[what]
		slices.Sort(ds)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t\n", what, len(ds), pct(ds, 50), pct(ds, 90), pct(ds, 100), unsettled[what])
	}
	_ = tw.Flush()
	relapses, after := 0, 0
	for _, ev := range c.events {
		if ev.relapses > 0 {
			relapses += ev.relapses
			after++
		}
	}
	fmt.Fprintf(out, "settled, then unsettled again with no event between: %d times, after %d of %d events\n",
		relapses, after, len(c.events))

	c.mu.Lock()
	seen := c.over.seen
	c.mu.Unlock()
	for _, s := range seen {
		fmt.Fprintf(out, "\nabove the budget at %.3fs: the server counted %d (%s); the members then:\n", s.at.Seconds(), s.count, s.after)
		for _, line := range s.members {
			fmt.Fprintln(out, "  "+line)
		}
	}
	if len(res.failures) > 0 {
		fmt.Fprintln(out, "\nfailed:")
		for _, f := range res.failures {
			fmt.Fprintln(out, "  "+f)
		}
	}
	fmt.Fprintln(out)
}

// pct returns the p-th percentile of sorted ds (nearest rank), "-" if
// there is none.
func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	i := (p*len(ds)+99)/100 - 1
	return ms(ds[max(i, 0)])
}
