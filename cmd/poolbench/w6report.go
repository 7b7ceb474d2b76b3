package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// multiMarkdown writes a table for each run of several-pool cases with the
// same pools (W6, W9): each pool's median ops/s and latency, and the first
// pool's ratio to each other pool's ops/s in the same rounds, median
// (min–max).
func (r *report) multiMarkdown(b *strings.Builder) {
	for start := 0; start < len(r.multi); {
		end := start + 1
		for end < len(r.multi) && slices.Equal(r.multi[end].pools, r.multi[start].pools) {
			end++
		}
		multiTable(b, r.multi[start:end])
		start = end
	}
}

// w6Intro heads W6's table.
const w6Intro = "W6: every pool runs in every round, in the order of the table; ratios are actorpool-cmd's ops/s over the pool of the column, round by round, median (min–max). Notes: actorpool-cmd's mean commands per batch, and the connections it held at the end of each round."

func multiTable(b *strings.Builder, cases []*multiCase) {
	pools, intro := cases[0].pools, cases[0].intro
	if intro == "" {
		intro = w6Intro
	}
	short := strings.TrimPrefix(pools[0], "actorpool-")
	b.WriteString("\n" + intro + "\n\n")
	b.WriteString("| workload | callers | pool | ops/s | p50 | p99 | errors |")
	for _, p := range pools[1:] {
		b.WriteString(" " + short + " / " + p + " |")
	}
	b.WriteString(" notes |\n|---|---:|---|---:|---:|---:|---:|")
	b.WriteString(strings.Repeat("---:|", len(pools)-1) + "---|\n")
	for _, c := range cases {
		for _, p := range c.pools {
			rows := c.rows[p]
			if len(rows) == 0 {
				continue
			}
			var errs int64
			for _, s := range rows {
				errs += s.errs
			}
			fmt.Fprintf(b, "| %s | %s | %s | %.0f | %s | %s | %d |", c.workload, c.callers, p,
				medianOf(rows, func(s summary) float64 { return s.opsPerSec }),
				fmtDur(medianOf(rows, func(s summary) float64 { return float64(s.p50) })),
				fmtDur(medianOf(rows, func(s summary) float64 { return float64(s.p99) })), errs)
			for _, other := range c.pools[1:] {
				cell := ""
				if p == c.pools[0] && len(c.rows[other]) == len(rows) {
					cell = ratioCell(rows, c.rows[other])
				}
				b.WriteString(" " + cell + " |")
			}
			note := ""
			if p == c.pools[0] && len(c.batch) > 0 {
				m, lo, hi := median(c.batch)
				note = fmt.Sprintf("batch %.1f (%.1f–%.1f)", m, lo, hi)
				if len(c.conns) > 0 {
					cm, clo, chi := median(c.conns)
					note += fmt.Sprintf("; connections %.0f (%.0f–%.0f)", cm, clo, chi)
				}
			}
			b.WriteString(" " + note + " |\n")
		}
	}
}

// plotMulti draws, for each several-pool workload, median ops/s against
// callers for every pool but the limit row, as dir/<workload>.svg.
func (r *report) plotMulti(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	byWorkload := map[string][]*multiCase{}
	var order []string
	for _, c := range r.multi {
		if _, ok := byWorkload[c.workload]; !ok {
			order = append(order, c.workload)
		}
		byWorkload[c.workload] = append(byWorkload[c.workload], c)
	}
	var files []string
	for _, w := range order {
		cases := byWorkload[w]
		if len(cases) < 2 {
			continue // one caller count: no line to draw (and no log axis)
		}
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s, 16-byte values, %d connections", w, r.cfg.conns)
		p.X.Label.Text = "callers"
		p.Y.Label.Text = "ops/s (median of rounds)"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = callerTicks(cases)
		p.Legend.Top, p.Legend.Left = true, true
		var lines []any
		for _, pool := range cases[0].pools {
			if pool == limitPool {
				continue // an order of magnitude above: it would flatten the others
			}
			var xys plotter.XYs
			for _, c := range cases {
				n, err := strconv.Atoi(c.callers)
				if err != nil || len(c.rows[pool]) == 0 {
					continue
				}
				xys = append(xys, plotter.XY{X: float64(n),
					Y: medianOf(c.rows[pool], func(s summary) float64 { return s.opsPerSec })})
			}
			lines = append(lines, pool, xys)
		}
		if err := plotutil.AddLinePoints(p, lines...); err != nil {
			return files, err
		}
		name := filepath.Join(dir, strings.ToLower(strings.ReplaceAll(w, " ", "-"))+".svg")
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, name); err != nil {
			return files, err
		}
		files = append(files, name)
	}
	return files, nil
}

// callerTicks marks the caller counts that were run.
func callerTicks(cases []*multiCase) plot.ConstantTicks {
	var ticks []plot.Tick
	for _, c := range cases {
		if n, err := strconv.Atoi(c.callers); err == nil {
			ticks = append(ticks, plot.Tick{Value: float64(n), Label: c.callers})
		}
	}
	return ticks
}
