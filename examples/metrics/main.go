// Command metrics runs a pool of Redis connections under a small steady
// load and serves its OpenTelemetry metrics to Prometheus.
//
//	go run ./examples/metrics                       # until Ctrl-C
//	curl -s http://127.0.0.1:9464/metrics | grep -E '^(db_client|actorpool)_'
//	go run ./examples/metrics -duration 1m -listen 127.0.0.1:9500
//	REDIS_URL=redis://:secret@127.0.0.1:6379/0 go run ./examples/metrics
//
// Without REDIS_URL it starts an in-process Redis (miniredis). Callers
// goroutines each run one INCR every Interval, holding the connection a
// little longer than the command takes, on a pool of MaxConns connections:
// enough demand that some callers wait. /metrics is served on -listen,
// loopback by default; docs/grafana/actorpool.json is a dashboard for it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/redisbackend"
)

// Options is what the flags and REDIS_URL set.
type Options struct {
	Listen   string        // where /metrics is served
	Duration time.Duration // 0: until ctx ends
	RedisURL string        // "": an in-process Redis
	Callers  int           // goroutines issuing commands
	Interval time.Duration // between one caller's commands
	Hold     time.Duration // up to this long a caller keeps its connection after the command
	MinConns int
	MaxConns int
}

// Pool is the example's pool type.
type Pool = actorpool.Pool[*redisbackend.Conn]

func main() {
	o := Options{Callers: 8, Interval: 5 * time.Millisecond, Hold: 2 * time.Millisecond, MinConns: 2, MaxConns: 4}
	flag.StringVar(&o.Listen, "listen", "127.0.0.1:9464", "address to serve /metrics on (loopback unless told otherwise)")
	flag.DurationVar(&o.Duration, "duration", 0, "how long to run; 0 runs until interrupted")
	flag.IntVar(&o.Callers, "callers", o.Callers, "goroutines issuing commands")
	flag.IntVar(&o.MaxConns, "max-conns", o.MaxConns, "the pool's MaxConns")
	flag.Parse()
	o.RedisURL = os.Getenv("REDIS_URL")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, o, os.Stdout, func(addr string, _ *Pool) {
		fmt.Printf("serving http://%s/metrics\n", addr)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// Run serves the metrics of a pool under load until ctx ends or
// o.Duration passes, then stops the load, the pool, the server and the
// in-process Redis, in that order. ready, when not nil, is called once
// /metrics is served, with its address and the pool.
func Run(ctx context.Context, o Options, out io.Writer, ready func(addr string, p *Pool)) error {
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	backend, stopServer, err := newBackend(o.RedisURL, out)
	if err != nil {
		return err
	}
	defer stopServer()

	// The exporter registers with a registry of its own: /metrics shows
	// the pool's metrics and nothing global.
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes))
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(context.Background())

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	pool, err := actorpool.New(sys, backend, actorpool.Config{
		MinConns: o.MinConns, MaxConns: o.MaxConns, Logger: logger, MeterProvider: mp,
	})
	if err != nil {
		return err
	}
	defer pool.Close(context.Background())

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		<-served
	}()
	fmt.Fprintf(out, "pool %q: %d callers, MaxConns %d\n", backend.Name(), o.Callers, o.MaxConns)
	if ready != nil {
		ready(ln.Addr().String(), pool)
	}

	err = load(ctx, pool, o)
	st := pool.Stats()
	fmt.Fprintf(out, "acquired %d, timeouts %d, dials %d\n", st.Acquired(), st.Timeouts(), st.Dials())
	return err
}

// load runs o.Callers goroutines, each issuing one INCR every o.Interval
// until ctx ends. It returns the first error other than ctx's.
func load(ctx context.Context, pool *Pool, o Options) error {
	var wg sync.WaitGroup
	errs := make([]error, o.Callers)
	for i := range o.Callers {
		wg.Go(func() {
			tick := time.NewTicker(o.Interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				err := pool.With(ctx, func(c *redisbackend.Conn) error {
					if err := c.Incr(ctx, "requests").Err(); err != nil {
						return err
					}
					// Work done while the connection is held: the hold
					// shows in use_time, and makes others wait.
					time.Sleep(rand.N(o.Hold + 1))
					return nil
				})
				if err != nil && ctx.Err() == nil && !errors.Is(err, actorpool.ErrAcquireTimeout) {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// newBackend dials redisURL when it is set, and otherwise an in-process
// Redis that stopServer shuts down.
func newBackend(redisURL string, out io.Writer) (backend *redisbackend.Backend, stopServer func(), err error) {
	if redisURL != "" {
		b := redisbackend.NewFromURL(redisURL)
		return b, func() {}, b.Validate()
	}
	mr, err := miniredis.Run()
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintln(out, "REDIS_URL is not set: using an in-process Redis (miniredis) at", mr.Addr())
	return redisbackend.New(redisbackend.Options{Addr: mr.Addr()}), mr.Close, nil
}
