package main

// This file is the command: flags, one run from the server's start to the
// last line, and the exit code.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

type config struct {
	backend  string // "redis" or "mariadb"
	budget   int
	duration time.Duration
	seed     uint64 // 0: picked from the clock
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("budgetchurn", flag.ContinueOnError)
	fs.StringVar(&c.backend, "backend", "redis", "the server the pools connect to: redis or mariadb")
	fs.IntVar(&c.budget, "budget", 12, "how many connections the members share")
	fs.DurationVar(&c.duration, "duration", time.Minute, "how long the members churn")
	fs.Uint64Var(&c.seed, "seed", 0, "seeds the schedule of events (0: picked from the clock, and printed)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case c.backend != "redis" && c.backend != "mariadb":
		return c, fmt.Errorf("budgetchurn: -backend is %q, want redis or mariadb", c.backend)
	case c.budget < 1:
		return c, errors.New("budgetchurn: -budget must be at least 1")
	case c.duration <= 0:
		return c, errors.New("budgetchurn: -duration must be positive")
	case fs.NArg() > 0:
		return c, fmt.Errorf("budgetchurn: unexpected arguments: %q", fs.Args())
	}
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	res, err := run(cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !res.clean() {
		os.Exit(1)
	}
}

// result is what the last line says, and what else failed.
type result struct {
	samples, most, over int64
	budget              int
	failures            []string
}

func (r result) clean() bool { return r.over == 0 && len(r.failures) == 0 }

func (r result) String() string {
	return fmt.Sprintf("budgetchurn: %d samples, max %d of %d, %d over budget", r.samples, r.most, r.budget, r.over)
}

// run starts the server, churns the members on it for cfg.duration and
// writes the events, the summary and the last line to out. The error is
// one that kept the run from starting.
func run(cfg config, out io.Writer) (result, error) {
	if cfg.backend == "mariadb" {
		t, err := startMariaDB()
		if err != nil {
			return result{}, err
		}
		defer t.stop()
		return churn(cfg, out, t)
	}
	t, err := startRedis()
	if err != nil {
		return result{}, err
	}
	defer t.stop()
	return churn(cfg, out, t)
}
