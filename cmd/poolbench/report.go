package main

import (
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// kind says how a case is reported.
type kind int

const (
	throughput kind = iota // W1, W2: ops/s, latency of each op, ratio of ops/s
	recovery               // W4: times around a kill and a restart
	overload               // W5: acquire latency and timeouts
)

// caseResult is one case: the same workload run by actorpool and by its
// peer, one summary per round each.
type caseResult struct {
	workload string // "W1 GET"
	callers  string
	kind     kind
	peer     string // the peer's name, "go-redis"
	a, b     []summary
}

// report collects the cases of a run and prints them as one Markdown table.
type report struct {
	cfg     config
	started time.Time
	elapsed time.Duration
	cases   []*caseResult
	multi   []*multiCase // W6
	w7      *w7Case
	w8      *w8Case
	notes   []string
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## poolbench %s\n\n", r.started.Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "%s, %s/%s, GOMAXPROCS %d, %d CPUs; %s; %s. ",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(),
		serverVersion("Redis", `v=(\S+)`, "redis-server", "--version"),
		serverVersion("MariaDB", `Ver (\S+)`, "/usr/sbin/mariadbd", "--version"))
	fmt.Fprintf(&b, "%d connections per pool, %d rounds of %s per pool and case (plus %s warm-up), pools alternating; run took %s.\n\n",
		r.cfg.conns, r.cfg.rounds, r.cfg.duration, r.cfg.warm(), r.elapsed.Round(time.Second))
	b.WriteString("Each number is the median over the rounds; ratio is actorpool / peer for the same round, median (min–max). ")
	b.WriteString("W1, W2: ops/s, latency of one whole op (lease + command + release); for actorpool the notes split it where the lease was in hand: wait (Acquire) and held (command + Release), median of each round's p50/p99. ")
	b.WriteString("W4: p50/p99 are the latencies of the calls that failed while the server was down. ")
	b.WriteString("W5: ops/s are leases granted per second, p50/p99 the wait of the successful acquires, errors the acquires that timed out (for actorpool, or were shed by overload control: ErrOverloaded).\n\n")
	b.WriteString("| workload | callers | pool | ops/s | p50 | p99 | errors | ratio to peer | notes |\n")
	b.WriteString("|---|---:|---|---:|---:|---:|---:|---:|---|\n")
	for _, c := range r.cases {
		for i, rows := range [][]summary{c.a, c.b} {
			if len(rows) == 0 {
				continue
			}
			name := "actorpool"
			if i == 1 {
				name = c.peer
			}
			ratio := "—"
			if i == 0 && len(c.b) == len(c.a) && c.kind != recovery {
				ratio = ratioCell(c.a, c.b)
			}
			ops := fmt.Sprintf("%.0f", medianOf(rows, func(s summary) float64 { return s.opsPerSec }))
			if c.kind == recovery {
				ops = "—"
			}
			var errs int64
			for _, s := range rows {
				errs += s.errs
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d | %s | %s |\n",
				c.workload, c.callers, name, ops,
				fmtDur(medianOf(rows, func(s summary) float64 { return float64(s.p50) })),
				fmtDur(medianOf(rows, func(s summary) float64 { return float64(s.p99) })),
				errs, ratio, notes(c.kind, rows))
		}
	}
	r.multiMarkdown(&b)
	r.w7Markdown(&b)
	r.w8Markdown(&b)
	if len(r.notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

func medianOf(rows []summary, f func(summary) float64) float64 {
	xs := make([]float64, 0, len(rows))
	for _, s := range rows {
		xs = append(xs, f(s))
	}
	m, _, _ := median(xs)
	return m
}

// ratioCell is actorpool's ops/s over the peer's, round by round.
func ratioCell(a, b []summary) string {
	xs := make([]float64, 0, len(a))
	for i := range a {
		if b[i].opsPerSec > 0 {
			xs = append(xs, a[i].opsPerSec/b[i].opsPerSec)
		}
	}
	if len(xs) == 0 {
		return "—"
	}
	m, lo, hi := median(xs)
	return fmt.Sprintf("%.2f (%.2f–%.2f)", m, lo, hi)
}

// notes is the last column: W4's times, W5's timeout share, and for
// actorpool in W1 and W2 the op's latency split where the lease was in
// hand.
func notes(k kind, rows []summary) string {
	spread := func(key string, unit string, scale float64) string {
		xs := make([]float64, 0, len(rows))
		for _, s := range rows {
			if v, ok := s.extra[key]; ok && !math.IsNaN(v) {
				xs = append(xs, v*scale)
			}
		}
		if len(xs) == 0 {
			return "never"
		}
		m, lo, hi := median(xs)
		missed := ""
		if len(xs) < len(rows) {
			missed = fmt.Sprintf(", never in %d", len(rows)-len(xs))
		}
		return fmt.Sprintf("%.0f%s (%.0f–%.0f%s)", m, unit, lo, hi, missed)
	}
	switch k {
	case recovery:
		var parts []string
		parts = append(parts, "first error "+spread("firstErr", " ms", 1))
		if _, ok := rows[0].extra["firstFast"]; ok {
			parts = append(parts, "first ErrBackendUnavailable "+spread("firstFast", " ms", 1))
		}
		parts = append(parts, "first success after restart "+spread("recover", " ms", 1))
		if _, ok := rows[0].extra["step"]; ok {
			parts = append(parts, backoffNote(rows)...)
		}
		if _, ok := rows[0].extra["lost"]; ok {
			parts = append(parts, "leases lost "+sum(rows, "lost"))
		}
		parts = append(parts, "in use after "+sum(rows, "inUse"))
		return strings.Join(parts, "; ")
	case overload:
		xs := make([]float64, 0, len(rows))
		for _, s := range rows {
			xs = append(xs, s.extra["timeoutShare"]*100)
		}
		m, lo, hi := median(xs)
		return fmt.Sprintf("timed out %.1f%% (%.1f–%.1f)", m, lo, hi)
	}
	if _, ok := rows[0].extra["waitP50"]; ok {
		med := func(key string) string {
			return fmtDur(medianOf(rows, func(s summary) float64 { return s.extra[key] }))
		}
		return fmt.Sprintf("wait p50 %s p99 %s; held p50 %s p99 %s",
			med("waitP50"), med("waitP99"), med("heldP50"), med("heldP99"))
	}
	return ""
}

// backoffNote is W4's backoff at the restart (actorpool): per round the
// step in effect, when the redial it scheduled was due and the first
// success (both from the restart), and whether that success came within
// the step plus the dial; then how many rounds did, and the dial time.
func backoffNote(rows []summary) []string {
	per := make([]string, 0, len(rows))
	var dials []float64
	met, known := 0, 0
	for _, s := range rows {
		x := s.extra
		verdict := "?"
		if v := x["inStep"]; !math.IsNaN(v) {
			known++
			verdict = "no"
			if v == 1 {
				met++
				verdict = "yes"
			}
		}
		if !math.IsNaN(x["dial"]) {
			dials = append(dials, x["dial"])
		}
		per = append(per, fmt.Sprintf("%s/%s/%s ms %s", msCell(x["step"]), msCell(x["due"]), msCell(x["recover"]), verdict))
	}
	dial := "dial unknown"
	if len(dials) > 0 {
		m, lo, hi := median(dials)
		dial = fmt.Sprintf("dial %s (%s–%s)", fmtDur(m*1e6), fmtDur(lo*1e6), fmtDur(hi*1e6))
	}
	return []string{
		"backoff step at restart / redial due / first success, per round: " + strings.Join(per, ", "),
		fmt.Sprintf("first success within one step + dial in %d of %d rounds (%s)", met, known, dial),
	}
}

// msCell is a time in ms, rounded, or ? when unknown.
func msCell(v float64) string {
	if math.IsNaN(v) {
		return "?"
	}
	return fmt.Sprintf("%.0f", v)
}

func sum(rows []summary, key string) string {
	var t float64
	for _, s := range rows {
		t += s.extra[key]
	}
	return fmt.Sprintf("%.0f", t)
}

// fmtDur prints a latency with three significant digits.
func fmtDur(ns float64) string {
	switch {
	case ns <= 0:
		return "—"
	case ns < 1e3:
		return fmt.Sprintf("%.0fns", ns)
	case ns < 1e6:
		return trim3(ns/1e3) + "µs"
	case ns < 1e9:
		return trim3(ns/1e6) + "ms"
	}
	return trim3(ns/1e9) + "s"
}

func trim3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// serverVersion runs bin with args and returns name and the first match
// of pattern's group in its output.
func serverVersion(name, pattern, bin string, args ...string) string {
	out, err := exec.Command(bin, args...).Output()
	if m := regexp.MustCompile(pattern).FindSubmatch(out); err == nil && m != nil {
		return name + " " + string(m[1])
	}
	return name + " (version unknown)"
}
