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
	benchRate = regexp.MustCompile(`([0-9.]+) requests per second`)
	benchP50  = regexp.MustCompile(`p50=([0-9.]+) msec`)
)

// runLimit runs redis-benchmark -t op -P 16 -c callers -d 16 against addr
// for about duration (the request count is sized for 800k requests per
// second, far above this machine's rate, and redis-benchmark is stopped
// at 3× duration) and reads its rate and median latency.
func runLimit(ctx context.Context, addr, op string, callers int, duration time.Duration) (summary, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return summary{}, err
	}
	n := max(int(800000*duration.Seconds()), 10000)
	ctx, cancel := context.WithTimeout(ctx, 3*duration+5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-benchmark", "-h", host, "-p", port,
		"-t", strings.ToLower(op), "-P", "16", "-c", strconv.Itoa(callers), "-d", "16",
		"-n", strconv.Itoa(n), "-r", "1000", "-q").CombinedOutput()
	if err != nil && ctx.Err() == nil {
		return summary{}, fmt.Errorf("redis-benchmark: %w: %s", err, out)
	}
	m := benchRate.FindSubmatch(out)
	if m == nil {
		return summary{}, fmt.Errorf("redis-benchmark: no rate in %q", out)
	}
	rate, _ := strconv.ParseFloat(string(m[1]), 64)
	s := summary{opsPerSec: rate}
	if p := benchP50.FindSubmatch(out); p != nil {
		ms, _ := strconv.ParseFloat(string(p[1]), 64)
		s.p50 = time.Duration(ms * float64(time.Millisecond))
	}
	return s, nil
}
