package main

// Each client in a process of its own: the parent runs every round of
// every W6 client as a child poolbench (-child), which builds only that
// client, runs the round, prints its figures as one JSON line and exits.
// So no client's goroutines, timers or garbage slow another, and none
// inherits another's warm caches.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// childSpec is the round a child runs: the workload, the client and the
// operation, how many callers, and where the server is. Duration, Conns
// and the peers' liveness check come from the parent's config.
type childSpec struct {
	Workload, Pool, Op string
	Callers            int
	Addr               string
	Addrs              []string // W7's endpoints, the slow one last
	Duration           time.Duration
	Conns              int
	PeerCheck          bool
	// CPUProfile: the child writes a CPU profile of its round there.
	CPUProfile string
}

// childResult is what a child prints.
type childResult struct {
	Extra     map[string]float64 // W1, W2: actorpool's lease split
	Ops, Errs int64
	OpsPerSec float64
	P50, P99  time.Duration
	Batch     float64   // actorpool-cmd: mean commands per batch
	Conns     int       // actorpool-cmd: connections held at the end
	Shares    []float64 // W7: the share of requests each endpoint served
	Err       string
}

func (r childResult) summary() *summary {
	return &summary{opsPerSec: r.OpsPerSec, p50: r.P50, p99: r.P99, errs: r.Errs, extra: r.Extra}
}

// runChild runs spec in a child poolbench and returns what it measured.
func runChild(ctx context.Context, e *env, spec childSpec) (childResult, error) {
	spec.Duration, spec.Conns, spec.PeerCheck = e.cfg.duration, e.cfg.conns, e.cfg.peerCheck
	if p := e.prof.cpuPath; p != "" {
		e.prof.cpuFiles++
		spec.CPUProfile = fmt.Sprintf("%s.%s-%s-%s-%d.%d", p, spec.Workload, spec.Pool, spec.Op, spec.Callers, e.prof.cpuFiles)
		fmt.Fprintf(e.log, "  cpu profile of %s %s %s -> %s\n", spec.Workload, spec.Pool, spec.Op, spec.CPUProfile)
	}
	arg, err := json.Marshal(spec)
	if err != nil {
		return childResult{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return childResult{}, err
	}
	cmd := exec.CommandContext(ctx, self, "-child", string(arg))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return childResult{}, nil
		}
		return childResult{}, fmt.Errorf("child %s %s: %w", spec.Pool, spec.Op, err)
	}
	var res childResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return childResult{}, fmt.Errorf("child %s %s: %w (%q)", spec.Pool, spec.Op, err, out.String())
	}
	if res.Err != "" {
		return res, fmt.Errorf("child %s %s: %s", spec.Pool, spec.Op, res.Err)
	}
	return res, nil
}

// childMain is a child's whole run: it prints a childResult.
func childMain(arg string) int {
	var spec childSpec
	res := childResult{}
	if err := json.Unmarshal([]byte(arg), &spec); err != nil {
		res.Err = err.Error()
	} else if err := profiled(spec.CPUProfile, func() error { return runChildRound(spec, &res) }); err != nil {
		res.Err = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}

// profiled runs f under a CPU profile written to path (none when empty).
func profiled(path string, f func() error) error {
	if path == "" {
		return f()
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := pprof.StartCPUProfile(fh); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}

func runChildRound(spec childSpec, res *childResult) error {
	var newSide func(ctx context.Context, e *env, addr, pool string) (func(string) op, func(), error)
	switch spec.Workload {
	case "w1":
		newSide = newW1Side
	case "w2":
		newSide = newW2Side
	case "w6", "w7", "w10":
	default:
		return fmt.Errorf("no child mode for %q", spec.Workload)
	}
	ctx := context.Background()
	discard := slog.New(slog.DiscardHandler)
	e := &env{
		cfg: config{duration: spec.Duration, conns: spec.Conns, peerCheck: spec.PeerCheck},
		sys: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return discard
		})),
		discard: discard,
		log:     os.Stderr,
		prof:    &profiler{log: os.Stderr},
	}
	defer e.sys.Shutdown()
	if newSide != nil {
		mk, closeSide, err := newSide(ctx, e, spec.Addr, spec.Pool)
		if err != nil {
			return err
		}
		defer closeSide()
		labels := pprof.Labels("workload", spec.Workload, "op", spec.Op, "pool", spec.Pool, "callers", strconv.Itoa(spec.Callers))
		r := closedLoop(ctx, spec.Callers, e.cfg.warm(), e.cfg.duration, labels, mk(spec.Op))
		sum := r.summarise()
		res.OpsPerSec, res.P50, res.P99, res.Errs, res.Extra = sum.opsPerSec, sum.p50, sum.p99, sum.errs, sum.extra
		return nil
	}
	if spec.Workload == "w10" {
		sum, err := w10Round(ctx, e, spec.Addrs, spec.Pool, spec.Op, spec.Callers)
		res.OpsPerSec, res.P50, res.P99, res.Errs = sum.opsPerSec, sum.p50, sum.p99, sum.errs
		return err
	}
	if spec.Workload == "w7" {
		side, err := newW7Side(ctx, e, spec.Addrs, spec.Pool)
		if err != nil {
			return err
		}
		defer side.close()
		sum, shares := side.round(ctx, e)
		res.OpsPerSec, res.P50, res.P99, res.Errs, res.Shares = sum.opsPerSec, sum.p50, sum.p99, sum.errs, shares
		return nil
	}
	w, err := newW6Clients(ctx, e, spec.Addr, []string{spec.Pool})
	defer w.close()
	if err != nil {
		return err
	}
	sum, batch, conns := w6Round(ctx, e, w, spec.Pool, spec.Op, spec.Callers)
	res.OpsPerSec, res.P50, res.P99, res.Errs = sum.opsPerSec, sum.p50, sum.p99, sum.errs
	res.Batch, res.Conns = batch, conns
	return nil
}
