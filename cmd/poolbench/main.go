package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// quietRedis is a go-redis logger that drops everything.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// config is the command line.
type config struct {
	duration   time.Duration
	rounds     int
	callers    []int // W1 and W2; W2 leaves out counts above 64
	actors     []int // W9
	inProcess  bool  // W1's, W2's, W6's and W7's clients in this process, not one child each
	conns      int
	workloads  []string
	pools      []string // "actorpool", "peer"
	out        string
	plotDir    string
	peerCheck  bool
	cpuProfile string
	memProfile string
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("poolbench", flag.ContinueOnError)
	c := config{}
	fs.DurationVar(&c.duration, "duration", 2*time.Second, "measured time of each round of each pool (W1, W2, W5); a warm-up of a fifth of it comes first")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds per case, at least 3; the two pools alternate A B A B ...")
	callers := fs.String("callers", "1,10,64,256", "caller goroutines for W1; W2 uses those up to 64")
	fs.IntVar(&c.conns, "conns", 10, "connections in each pool")
	workloads := fs.String("workloads", "w1,w2,w4,w5,w6", "workloads to run: w1 (Redis), w2 (MySQL), w4 (recovery), w5 (overload), w6 (Redis command mode), w7 (several Redis endpoints, one slow; starts its own servers), w8 (a connection budget shared by cluster members; starts its own server), w9 (actors talking to Redis by message), w10 (a Redis Cluster of three primaries; starts its own; run it with -callers 64,256)")
	actors := fs.String("actors", "100,1000", "actors for W9")
	pools := fs.String("pools", "actorpool,peer", "pools to run: actorpool, peer, or both; with only one, no ratio is printed")
	fs.BoolVar(&c.inProcess, "inprocess", false, "run W1's, W2's, W6's and W7's clients in this process, alternating, instead of each round of each client in a child process of its own")
	fs.StringVar(&c.out, "out", "", "also write the Markdown report to this file")
	fs.StringVar(&c.plotDir, "plot", "", "draw W6's ops/s against callers for every pool into this directory (one SVG per operation)")
	fs.BoolVar(&c.peerCheck, "peer-conncheck", false, "let go-redis and go-sql-driver check each connection's socket on checkout, as they do by default; off, neither side checks (actorpool does not)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the actorpool rounds to this file (one file per round: file, file.2, ...); a child process profiles its own round, every client, to file.<workload>-<pool>-<op>-<callers>.<n>")
	fs.StringVar(&c.memProfile, "memprofile", "", "write an allocation profile of the actorpool rounds only to this file")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.rounds < 3 {
		return c, errors.New("-rounds must be at least 3")
	}
	if c.duration <= 0 {
		return c, errors.New("-duration must be positive")
	}
	if c.conns <= 0 {
		return c, errors.New("-conns must be positive")
	}
	for f := range strings.SplitSeq(*callers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return c, fmt.Errorf("-callers: %q is not a positive number", f)
		}
		c.callers = append(c.callers, n)
	}
	for f := range strings.SplitSeq(*actors, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return c, fmt.Errorf("-actors: %q is not a positive number", f)
		}
		c.actors = append(c.actors, n)
	}
	for w := range strings.SplitSeq(*workloads, ",") {
		w = strings.ToLower(strings.TrimSpace(w))
		if !slices.Contains([]string{"w1", "w2", "w4", "w5", "w6", "w7", "w8", "w9", "w10"}, w) {
			return c, fmt.Errorf("-workloads: unknown workload %q (w1, w2, w4, w5, w6, w7, w8, w9, w10)", w)
		}
		c.workloads = append(c.workloads, w)
	}
	for p := range strings.SplitSeq(*pools, ",") {
		p = strings.TrimSpace(p)
		if p != "actorpool" && p != "peer" {
			return c, fmt.Errorf("-pools: unknown pool %q (actorpool, peer)", p)
		}
		c.pools = append(c.pools, p)
	}
	return c, nil
}

func (c config) has(w string) bool   { return slices.Contains(c.workloads, w) }
func (c config) runs(p string) bool  { return slices.Contains(c.pools, p) }
func (c config) warm() time.Duration { return c.duration / 5 }

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-child" {
		os.Exit(childMain(os.Args[2]))
	}
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "poolbench:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "poolbench:", err)
		os.Exit(1)
	}
}

// env is what the workloads share.
type env struct {
	cfg     config
	sys     *actor.ActorSystem
	srv     *servers
	discard *slog.Logger
	log     io.Writer // progress lines
	prof    *profiler
	dsn     string // a child's MariaDB DSN (mysqlDSN); empty in the parent
}

func run(cfg config) error {
	// The first Ctrl-C (or SIGTERM) ends the run cleanly: the round stops,
	// pools close, servers are killed. Once ctx is done the default
	// handling is back, so a second Ctrl-C exits at once; the kernel then
	// kills the servers (parent-death signal).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()

	discard := slog.New(slog.DiscardHandler)
	// The client libraries log every connection a killed server reset
	// (W4) to standard error; keep the report readable.
	redis.SetLogger(quietRedis{})
	_ = mysql.SetLogger(&mysql.NopLogger{})
	e := &env{
		cfg: cfg,
		sys: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return discard
		})),
		srv:     &servers{},
		discard: discard,
		log:     os.Stderr,
		prof:    &profiler{cpuPath: cfg.cpuProfile, memPath: cfg.memProfile, log: os.Stderr},
	}
	defer e.sys.Shutdown()
	defer e.srv.Stop()
	e.prof.begin()

	needRedis := cfg.has("w1") || cfg.has("w4") || cfg.has("w6") || cfg.has("w9")
	needMaria := cfg.has("w2") || cfg.has("w4") || cfg.has("w5") || cfg.has("w9")
	fmt.Fprintln(e.log, "starting servers...")
	if err := e.srv.start(ctx, needRedis, needMaria); err != nil {
		return fmt.Errorf("start servers: %w", err)
	}

	rep := &report{cfg: cfg, started: time.Now()}
	steps := []struct {
		name string
		run  func(context.Context, *env, *report) error
	}{{"w1", runW1}, {"w2", runW2}, {"w4", runW4}, {"w5", runW5}, {"w6", runW6}, {"w7", runW7}, {"w8", runW8}, {"w9", runW9}, {"w10", runW10}}
	var runErr error
	for _, s := range steps {
		if !cfg.has(s.name) {
			continue
		}
		if err := s.run(ctx, e, rep); err != nil {
			runErr = fmt.Errorf("%s: %w", s.name, err)
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil && runErr == nil {
		runErr = errors.New("interrupted")
	}
	if err := e.prof.end(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	rep.elapsed = time.Since(rep.started)
	text := rep.markdown()
	fmt.Print(text)
	if cfg.plotDir != "" && len(rep.multi) > 0 {
		files, err := rep.plotMulti(cfg.plotDir)
		runErr = errors.Join(runErr, err)
		for _, f := range files {
			fmt.Fprintln(e.log, "wrote", f)
		}
	}
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(text), 0o644); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	return runErr
}

// profiler profiles the actorpool rounds only. The CPU profiler cannot
// pause, so each actorpool round gets its own CPU profile file (path,
// path.2, path.3, ...; go tool pprof merges the files given together). The
// allocation profile is one file: allocations are sampled only while an
// actorpool round runs (runtime.MemProfileRate is 0 otherwise).
type profiler struct {
	cpuPath, memPath string
	log              io.Writer
	cpuFiles         int
}

// memRate is the sampling rate, in bytes, during actorpool rounds: finer
// than the default 512 KiB, so small per-op allocations show.
const memRate = 4096

func (p *profiler) begin() {
	if p.memPath != "" {
		runtime.MemProfileRate = 0
	}
}

// round runs f, one round of pool; actorpool rounds are profiled.
func (p *profiler) round(pool, what string, f func()) error {
	if pool != "actorpool" || (p.cpuPath == "" && p.memPath == "") {
		f()
		return nil
	}
	var cpu *os.File
	if p.cpuPath != "" {
		p.cpuFiles++
		name := p.cpuPath
		if p.cpuFiles > 1 {
			name = fmt.Sprintf("%s.%d", p.cpuPath, p.cpuFiles)
		}
		fh, err := os.Create(name)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(fh); err != nil {
			_ = fh.Close()
			return err
		}
		fmt.Fprintf(p.log, "  cpu profile of %s -> %s\n", what, name)
		cpu = fh
	}
	if p.memPath != "" {
		runtime.MemProfileRate = memRate
	}
	f()
	if p.memPath != "" {
		runtime.MemProfileRate = 0
	}
	if cpu != nil {
		pprof.StopCPUProfile()
		return cpu.Close()
	}
	return nil
}

// end writes the allocation profile.
func (p *profiler) end() error {
	if p.memPath == "" {
		return nil
	}
	runtime.MemProfileRate = memRate // the rate the profile is scaled by
	runtime.GC()                     // the profile is as of the last GC
	fh, err := os.Create(p.memPath)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(fh, 0); err != nil {
		_ = fh.Close()
		return err
	}
	return fh.Close()
}
