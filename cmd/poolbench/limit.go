package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// limitPool is the row of W6 that shows what the machine can do:
// redis-benchmark (C, 16 commands per write) with as many connections as
// callers, run only when redis-benchmark is on PATH.
const limitPool = "limit"

// hasRedisBenchmark reports whether the limit row can be measured.
func hasRedisBenchmark() bool {
	_, err := exec.LookPath("redis-benchmark")
	return err == nil
}

var (
	benchRate     = regexp.MustCompile(`([0-9.]+) requests per second`)
	benchP50      = regexp.MustCompile(`p50=([0-9.]+) msec`)
	benchProgress = regexp.MustCompile(`overall: ([0-9.]+)\) avg_msec=[0-9.]+ \(overall: ([0-9.]+)\)`)
)

// runLimit runs redis-benchmark -t op -P 16 -c callers -d 16 against addr
// for duration (at least a second) and reads its rate and latency: the final summary (rate and
// median) when it finished its requests first (they are sized for 800k
// requests per second, more than this machine does), else the last
// progress line it printed (overall rate and mean latency).
func runLimit(ctx context.Context, addr, op string, callers int, duration time.Duration) (summary, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return summary{}, err
	}
	n := max(int(800000*duration.Seconds()), 10000)
	// At least a second: redis-benchmark prints its progress every 250 ms.
	run, cancel := context.WithTimeout(ctx, max(duration, time.Second))
	defer cancel()
	out, err := exec.CommandContext(run, "redis-benchmark", "-h", host, "-p", port,
		"-t", strings.ToLower(op), "-P", "16", "-c", strconv.Itoa(callers), "-d", "16",
		"-n", strconv.Itoa(n), "-r", "1000", "-q").CombinedOutput()
	if err != nil && run.Err() == nil {
		return summary{}, fmt.Errorf("redis-benchmark: %w: %s", err, out)
	}
	num := func(b []byte) float64 { f, _ := strconv.ParseFloat(string(b), 64); return f }
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	if m := benchRate.FindSubmatch(out); m != nil {
		s := summary{opsPerSec: num(m[1])}
		if p := benchP50.FindSubmatch(out); p != nil {
			s.p50 = ms(num(p[1]))
		}
		return s, nil
	}
	all := benchProgress.FindAllSubmatch(out, -1)
	if len(all) == 0 {
		return summary{}, fmt.Errorf("redis-benchmark: no rate in %q", out)
	}
	last := all[len(all)-1]
	return summary{opsPerSec: num(last[1]), p50: ms(num(last[2]))}, nil
}
