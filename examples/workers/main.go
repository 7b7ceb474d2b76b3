// Command workers is a coordinator that pools connections to worker
// processes of its own, through a custom backend, with a group of
// endpoints: one pool per worker behind a picker.
//
//	go run ./examples/workers
//
// It starts three workers on loopback (small TCP servers that spend a
// configurable time on each job); the third is slow. Sixteen callers hand
// out jobs, first through a round-robin group, then through the default
// power-of-two-choices group, which sends a worker fewer jobs the longer
// it holds its connections: the slow worker gets far fewer. Then one
// worker is killed while jobs run: its pool fails fast, the group skips
// it, and every job is done by another. It prints each worker's share and
// exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/group"
)

const (
	callers       = 16
	jobsPerCaller = 60
	fastCost      = time.Millisecond
	slowCost      = 8 * time.Millisecond
)

func main() {
	if _, err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "workers:", err)
		os.Exit(1)
	}
}

// phase is what one batch of jobs came to.
type phase struct {
	name   string
	jobs   int64              // jobs done
	retry  int64              // jobs retried on another worker after a failure
	shares map[string]float64 // worker -> share of the jobs
}

func run(out io.Writer) ([]phase, error) {
	var ws []*worker
	for i, cost := range []time.Duration{fastCost, fastCost, slowCost} {
		name := fmt.Sprintf("worker-%d", i+1)
		if cost == slowCost {
			name = "slow-worker"
		}
		w, err := startWorker(name, cost)
		if err != nil {
			return nil, err
		}
		defer w.Kill()
		ws = append(ws, w)
	}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	newGroup := func(p group.Picker) (*group.Group[*workerConn], error) {
		var eps []group.Endpoint[*workerConn]
		for _, w := range ws {
			eps = append(eps, group.Endpoint[*workerConn]{Name: w.name, Backend: workerBackend{addr: w.Addr()}})
		}
		return group.New(sys, group.Config{
			Picker: p,
			Pool:   actorpool.Config{MaxConns: 4, BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond},
		}, eps...)
	}

	var phases []phase
	for _, p := range []struct {
		name   string
		picker group.Picker
		kill   bool
	}{
		{"round-robin", group.RoundRobin(), false},
		{"power of two choices", group.PowerOfTwo(), false},
		{"power of two choices, worker-1 killed", group.PowerOfTwo(), true},
	} {
		g, err := newGroup(p.picker)
		if err != nil {
			return nil, err
		}
		var kill func()
		if p.kill {
			kill = ws[0].Kill
		}
		ph, err := runJobs(p.name, g, ws, kill)
		_ = g.Close(context.Background())
		if err != nil {
			return nil, err
		}
		phases = append(phases, ph)
		fmt.Fprintln(out, ph)
	}
	return phases, nil
}

// runJobs has callers run their jobs through g. With kill, the first
// worker is killed once a quarter of the jobs are done; a job whose worker
// failed under it is run again on another, until the minute the batch
// is given runs out.
func runJobs(name string, g *group.Group[*workerConn], ws []*worker, kill func()) (phase, error) {
	before := make([]int64, len(ws))
	for i, w := range ws {
		before[i] = w.done.Load()
	}
	ph := phase{name: name, shares: map[string]float64{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var (
		wg       sync.WaitGroup
		done     atomic.Int64
		killOnce sync.Once
		errMu    sync.Mutex
		firstErr error
	)
	for c := range callers {
		wg.Go(func() {
			for j := range jobsPerCaller {
				id := c*jobsPerCaller + j
				for {
					err := g.With(ctx, func(w *workerConn) error { return w.Run(ctx, id) })
					if err == nil {
						break
					}
					if ctx.Err() != nil {
						errMu.Lock()
						firstErr = errors.Join(firstErr, err)
						errMu.Unlock()
						return
					}
					atomic.AddInt64(&ph.retry, 1)
				}
				if n := done.Add(1); kill != nil && n == callers*jobsPerCaller/4 {
					killOnce.Do(kill)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return ph, firstErr
	}
	ph.jobs = done.Load()
	for i, w := range ws {
		ph.shares[w.name] = float64(w.done.Load()-before[i]) / float64(ph.jobs)
	}
	return ph, nil
}

func (p phase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d jobs", p.name, p.jobs)
	if p.retry > 0 {
		fmt.Fprintf(&b, " (%d run again after their worker failed)", p.retry)
	}
	for _, name := range []string{"worker-1", "worker-2", "slow-worker"} {
		fmt.Fprintf(&b, ", %s %.0f%%", name, 100*p.shares[name])
	}
	return b.String()
}
